/**
 * The diffusion and sample sections of a trial config (CONFIG-SHAPES.md): defaults and validation
 * naming the field.
 */
import { UsageError } from '../errors.ts';

export type ScheduleKind = 'linear' | 'cosine';
export type PredictionKind = 'eps' | 'x0' | 'v';
export type SamplerKind = 'ddpm' | 'ddim';
/** How a sequence is cut into F-frame windows at test time (datasets/windows.ts `restoreWindows`). */
export const SAMPLE_WINDOWS = ['blocks', 'centre'] as const;
export type SampleWindow = (typeof SAMPLE_WINDOWS)[number];
/** Which noise levels a DDIM run of n < T steps visits (schedulers.ts `setTimesteps`). */
export const TIMESTEP_SPACINGS = ['leading', 'trailing'] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

export interface DiffusionConfig {
  schedule: ScheduleKind;
  /** T, the number of noise levels. */
  timesteps: number;
  /** β_1 and β_T of the linear schedule (unused by cosine). */
  betaStart: number;
  betaEnd: number;
  /** What the network predicts: the noise ε, the clean frame x0, or v = √ᾱ·ε − √(1−ᾱ)·x0. */
  prediction: PredictionKind;
  /**
   * Diffuse the residual sharp − blurry instead of the sharp frames (residual.ts). Off by default: the paper
   * diffuses the sharp frames. On, an untrained model already restores the blurry input, so short CPU runs
   * improve on it instead of first having to learn to reproduce it.
   */
  residual: boolean;
}

export interface SampleConfig {
  sampler: SamplerKind;
  /** DDIM steps (DDPM always runs all `diffusion.timesteps`). */
  steps: number;
  /**
   * The DDIM levels: `leading` (DDIM's own, t = k·⌊T/n⌋: 900, 800, …, 0 for n = 10) or `trailing` (from the last
   * level down, T − 1 − k·T/n rounded: 999, 899, …, 99), which starts from pure noise at t = T − 1 and is the better
   * choice for few steps (Lin et al. 2024, "Common diffusion noise schedules and sample steps are flawed").
   */
  spacing: TimestepSpacing;
  /** DDIM stochasticity: 0 deterministic, 1 DDPM-like variance. */
  eta: number;
  seed: number;
  /** Denoise in square tiles of this many pixels (0: whole frames), for frames too large for memory. */
  tile: number;
  /** Pixels shared by neighbouring tiles, blended with linear ramps so no seam shows. */
  tileOverlap: number;
  /**
   * Which frames each forward pass restores: `blocks` (the paper's) keeps every output of non-overlapping
   * F-frame windows; `centre` slides a window over every frame and keeps its centre output (position ⌊F/2⌋),
   * F times the forward passes.
   */
  window: SampleWindow;
}

export const DEFAULT_DIFFUSION_CONFIG: DiffusionConfig = {
  schedule: 'linear',
  timesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  prediction: 'eps',
  residual: false,
};

export const DEFAULT_SAMPLE_CONFIG: SampleConfig = {
  sampler: 'ddim',
  steps: 50,
  spacing: 'leading',
  eta: 0,
  seed: 0,
  tile: 0,
  tileOverlap: 32,
  window: 'blocks',
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(path: string, expected: string, got: unknown): never {
  throw new UsageError(`${path}: expected ${expected}, got ${JSON.stringify(got)}`);
}

function merge<T extends object>(defaults: T, input: unknown, path: string): Record<string, unknown> {
  if (!isRecord(input)) fail(path, 'an object', input);
  const known = Object.keys(defaults);
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) throw new UsageError(`${path}.${key}: unknown key (known: ${known.join(', ')})`);
  }
  return { ...defaults, ...input };
}

function oneOf<T extends string>(path: string, v: unknown, options: readonly T[]): T {
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) fail(path, `one of ${options.join(', ')}`, v);
  return v as T;
}

function integer(path: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(path, `an integer ≥ ${min}`, v);
  return v;
}

function boolean(path: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(path, 'true or false', v);
  return v;
}

function probability(path: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !(v > lo && v < hi)) fail(path, `a number in (${lo}, ${hi})`, v);
  return v;
}

export function resolveDiffusionConfig(input: unknown = {}, path = 'diffusion'): DiffusionConfig {
  const c = merge(DEFAULT_DIFFUSION_CONFIG, input, path);
  const betaStart = probability(`${path}.betaStart`, c.betaStart, 0, 1);
  const betaEnd = probability(`${path}.betaEnd`, c.betaEnd, 0, 1);
  if (betaEnd < betaStart) throw new UsageError(`${path}.betaEnd: ${betaEnd} is below betaStart ${betaStart}`);
  return {
    schedule: oneOf(`${path}.schedule`, c.schedule, ['linear', 'cosine'] as const),
    timesteps: integer(`${path}.timesteps`, c.timesteps, 2),
    betaStart,
    betaEnd,
    prediction: oneOf(`${path}.prediction`, c.prediction, ['eps', 'x0', 'v'] as const),
    residual: boolean(`${path}.residual`, c.residual),
  };
}

export function resolveSampleConfig(input: unknown = {}, path = 'sample'): SampleConfig {
  const c = merge(DEFAULT_SAMPLE_CONFIG, input, path);
  const eta = c.eta;
  if (typeof eta !== 'number' || !(eta >= 0 && eta <= 1)) fail(`${path}.eta`, 'a number in [0, 1]', eta);
  return {
    sampler: oneOf(`${path}.sampler`, c.sampler, ['ddpm', 'ddim'] as const),
    steps: integer(`${path}.steps`, c.steps, 1),
    spacing: oneOf(`${path}.spacing`, c.spacing, TIMESTEP_SPACINGS),
    eta,
    seed: integer(`${path}.seed`, c.seed, 0),
    tile: integer(`${path}.tile`, c.tile, 0),
    tileOverlap: integer(`${path}.tileOverlap`, c.tileOverlap, 0),
    window: oneOf(`${path}.window`, c.window, SAMPLE_WINDOWS),
  };
}
