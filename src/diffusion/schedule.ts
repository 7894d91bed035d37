/**
 * Noise schedules and the DDPM quantities derived from them, in float64 (the products of ~1000
 * factors near 1 lose digits in float32). Names follow the paper's symbols: β_t, α_t = 1 − β_t,
 * ᾱ_t = Π α_s. Index t = 0 … T−1 as in DDPM's code (t = 0 is the first noising step).
 */
import type { DiffusionConfig } from './config.ts';

export interface NoiseSchedule {
  readonly timesteps: number;
  readonly betas: Float64Array;
  readonly alphas: Float64Array;
  readonly alphasCumprod: Float64Array;
}

/** β linearly spaced from betaStart to betaEnd, inclusive (DDPM: np.linspace). */
export function linearBetas(timesteps: number, betaStart: number, betaEnd: number): Float64Array {
  const out = new Float64Array(timesteps);
  for (let i = 0; i < timesteps; i++) out[i] = betaStart + ((betaEnd - betaStart) * i) / (timesteps - 1);
  return out;
}

/** Nichol & Dhariwal's cosine schedule: ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T)+s)/(1+s)·π/2), β clipped to 0.999. */
export function cosineBetas(timesteps: number, s = 0.008, maxBeta = 0.999): Float64Array {
  const f = (t: number) => Math.cos((((t / timesteps) + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  const out = new Float64Array(timesteps);
  for (let i = 0; i < timesteps; i++) out[i] = Math.min(1 - f(i + 1) / f(i), maxBeta);
  return out;
}

export function scheduleFromBetas(betas: Float64Array): NoiseSchedule {
  const alphas = betas.map((b) => 1 - b);
  const alphasCumprod = new Float64Array(betas.length);
  let prod = 1;
  for (let i = 0; i < betas.length; i++) alphasCumprod[i] = prod *= alphas[i]!;
  return { timesteps: betas.length, betas, alphas, alphasCumprod };
}

export function makeSchedule(c: DiffusionConfig): NoiseSchedule {
  const betas = c.schedule === 'linear' ? linearBetas(c.timesteps, c.betaStart, c.betaEnd) : cosineBetas(c.timesteps);
  return scheduleFromBetas(betas);
}

/** ᾱ at t, with ᾱ_{−1} = 1 (the clean data) so a step to "before t = 0" lands on x0. */
export function alphaBar(s: NoiseSchedule, t: number): number {
  if (t < 0) return 1;
  if (!Number.isInteger(t) || t >= s.timesteps) throw new Error(`timestep ${t} is outside 0..${s.timesteps - 1}`);
  return s.alphasCumprod[t]!;
}

export interface Posterior {
  /** x_{prev} mean = coefX0 · x0 + coefXt · x_t. */
  coefX0: number;
  coefXt: number;
  variance: number;
}

/**
 * q(x_prev | x_t, x0) for a jump from t to prev < t (prev = t − 1 for plain DDPM; any earlier step
 * for a respaced one), with the jump's own β = 1 − ᾱ_t/ᾱ_prev:
 *   mean = √ᾱ_prev·β/(1−ᾱ_t) · x0 + √(1−β)·(1−ᾱ_prev)/(1−ᾱ_t) · x_t,   variance = (1−ᾱ_prev)/(1−ᾱ_t) · β.
 */
export function posterior(s: NoiseSchedule, t: number, prev = t - 1): Posterior {
  const abT = alphaBar(s, t);
  const abPrev = alphaBar(s, prev);
  const beta = 1 - abT / abPrev;
  return {
    coefX0: (Math.sqrt(abPrev) * beta) / (1 - abT),
    coefXt: (Math.sqrt(1 - beta) * (1 - abPrev)) / (1 - abT),
    variance: ((1 - abPrev) / (1 - abT)) * beta,
  };
}
