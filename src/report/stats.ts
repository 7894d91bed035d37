/** Summary statistics over seeds. */

export interface Summary {
  mean: number;
  /** sample standard deviation (n − 1 in the denominator); 0 for a single value */
  std: number;
  n: number;
}

/** Mean and sample std of the finite values; undefined when there are none. */
export function summarize(values: readonly (number | undefined)[]): Summary | undefined {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return undefined;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: 0, n };
  const ss = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}

/** Fixed-point text; "-0.00" printed as "0.00" so a tie never looks like two values. */
export function fixed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}
