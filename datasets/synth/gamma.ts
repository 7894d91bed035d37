/**
 * Linear-light averaging as GoPro's `blur_gamma` and REDS made their blur: decode the stored values with
 * a 2.2 power law, average, re-encode, quantise to 8 bits.
 */
export const GAMMA = 2.2;

/** 8-bit code → linear light, for every code once. */
export const LINEAR_FROM_CODE: Float64Array = (() => {
  const lut = new Float64Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.pow(v / 255, GAMMA);
  return lut;
})();

/**
 * Linear value at which the encoded code rounds up to c: round(255·m^(1/2.2)) ≥ c ⇔ m ≥ ((c − ½)/255)^2.2.
 * Encoding by search over these 255 thresholds gives exactly the rounded power law without a pow() per value.
 */
const ROUND_UP_AT: Float64Array = (() => {
  const t = new Float64Array(256);
  t[0] = -Infinity;
  for (let c = 1; c < 256; c++) t[c] = Math.pow((c - 0.5) / 255, GAMMA);
  return t;
})();

/** round(255 · linear^(1/2.2)), clamped to [0, 255]. */
export function codeFromLinear(linear: number): number {
  let lo = 0; // invariant: ROUND_UP_AT[lo] <= linear
  let hi = 256;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (ROUND_UP_AT[mid]! <= linear) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The blurry frame from K 8-bit sub-frames (each HWC RGB of the same length): mean in linear light,
 * gamma-encoded again and rounded to the nearest 8-bit code.
 */
export function averageInLinearLight(subframes: readonly Uint8Array[]): Uint8Array {
  if (subframes.length === 0) throw new Error('averageInLinearLight needs at least one sub-frame');
  const n = subframes[0]!.length;
  const acc = new Float64Array(n);
  for (const f of subframes) {
    if (f.length !== n) throw new Error(`sub-frames differ in length: ${f.length} vs ${n}`);
    for (let i = 0; i < n; i++) acc[i] += LINEAR_FROM_CODE[f[i]!]!;
  }
  const out = new Uint8Array(n);
  const inv = 1 / subframes.length;
  for (let i = 0; i < n; i++) out[i] = codeFromLinear(acc[i]! * inv);
  return out;
}
