/**
 * Samplers as interchangeable schedulers in the spirit of diffusers: `setTimesteps(n)` picks the
 * noise levels to visit (descending), `step(output, t, x_t)` goes from x_t to x_prev, `addNoise` is
 * q_sample. The model never knows which scheduler drives it.
 *
 * Spacing is "leading" (DDIM's `range(0, T, T // n)`: t_k = k·⌊T/n⌋) or "trailing" (t_k = round(T − k·T/n) − 1,
 * diffusers' `timestep_spacing="trailing"`); either visits every level when n = T.
 * Coefficients are float64; tensors float32. Noise comes from a seeded Rng (or `opts.noise`).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../nn/index.ts';
import type { DiffusionConfig, PredictionKind, SampleConfig, TimestepSpacing } from './config.ts';
import { randn4d } from './noise.ts';
import { qSample, splitPrediction } from './process.ts';
import { dataRange } from './residual.ts';
import { alphaBar, makeSchedule, posterior, type NoiseSchedule } from './schedule.ts';

export interface StepOptions {
  /** The Gaussian noise of a stochastic step (tests); by default drawn from the scheduler's seeded Rng. */
  noise?: tf.Tensor4D;
}

export interface StepResult {
  prevSample: tf.Tensor4D;
  /** The step's estimate of the clean frames (after clipping). */
  predX0: tf.Tensor4D;
}

export interface SchedulerOptions {
  prediction: PredictionKind;
  seed: number;
  /** Clip the x0 estimate to the data range [−clipRange, clipRange] (DDPM's clip_denoised). Default true. */
  clipSample?: boolean;
  /** The data's bound: 1 for frames in [−1, 1] (default), 2 for residuals (residual.ts). */
  clipRange?: number;
}

export abstract class Scheduler {
  /** The levels to visit, descending; set by setTimesteps. */
  timesteps: number[] = [];
  protected stride = 1;
  protected readonly rng: Rng;
  readonly prediction: PredictionKind;
  readonly clipSample: boolean;
  readonly clipRange: number;

  constructor(
    readonly schedule: NoiseSchedule,
    opts: SchedulerOptions,
  ) {
    this.rng = new Rng(opts.seed);
    this.prediction = opts.prediction;
    this.clipSample = opts.clipSample ?? true;
    this.clipRange = opts.clipRange ?? 1;
    this.setTimesteps(schedule.timesteps);
  }

  setTimesteps(steps: number, spacing: TimestepSpacing = 'leading'): void {
    const total = this.schedule.timesteps;
    if (!Number.isInteger(steps) || steps < 1 || steps > total) {
      throw new Error(`setTimesteps: ${steps} steps requested; give an integer in 1..${total} (diffusion.timesteps)`);
    }
    this.stride = Math.floor(total / steps);
    this.timesteps =
      spacing === 'leading'
        ? Array.from({ length: steps }, (_, k) => (steps - 1 - k) * this.stride)
        : Array.from({ length: steps }, (_, k) => Math.round(total - (k * total) / steps) - 1);
  }

  /**
   * The level the step from t lands on: the next one visited, and −1 (the clean data) after the last — which
   * for trailing spacing is T/n − 1, not 0. A level outside the list steps down by ⌊T/n⌋.
   */
  previousTimestep(t: number): number {
    const k = this.timesteps.indexOf(t);
    if (k >= 0) return k + 1 < this.timesteps.length ? this.timesteps[k + 1]! : -1;
    return t - this.stride;
  }

  /** x_T for the sampling loop: unit Gaussian from the scheduler's seeded stream. */
  initialNoise(shape: [number, number, number, number]): tf.Tensor4D {
    return randn4d(shape, this.rng);
  }

  addNoise(x0: tf.Tensor4D, noise: tf.Tensor4D, t: ArrayLike<number> | number): tf.Tensor4D {
    return qSample(this.schedule, x0, noise, t);
  }

  /** (x0, ε) estimated from the model output at t, x0 clipped when clipSample is on. */
  protected estimate(output: tf.Tensor4D, t: number, sample: tf.Tensor4D): { x0: tf.Tensor4D; eps: tf.Tensor4D } {
    const { x0, eps } = splitPrediction(this.schedule, this.prediction, sample, output, t);
    if (!this.clipSample) return { x0, eps };
    const clipped = tf.clipByValue(x0, -this.clipRange, this.clipRange);
    x0.dispose();
    return { x0: clipped, eps };
  }

  protected noiseLike(sample: tf.Tensor4D, opts: StepOptions): tf.Tensor4D {
    return opts.noise ? opts.noise : randn4d(sample.shape, this.rng);
  }

  abstract step(output: tf.Tensor4D, t: number, sample: tf.Tensor4D, opts?: StepOptions): StepResult;
}

/**
 * DDPM ancestral sampling: x_prev ~ q(x_prev | x_t, x0̂) with the posterior variance ("fixed small"),
 * no noise on the last step.
 */
export class DDPMScheduler extends Scheduler {
  step(output: tf.Tensor4D, t: number, sample: tf.Tensor4D, opts: StepOptions = {}): StepResult {
    const prev = this.previousTimestep(t);
    const { x0, eps } = this.estimate(output, t, sample);
    eps.dispose();
    const post = posterior(this.schedule, t, prev);
    const prevSample = tf.tidy(() => {
      const mean = tf.add(tf.mul(x0, post.coefX0), tf.mul(sample, post.coefXt));
      if (prev < 0) return mean;
      const z = this.noiseLike(sample, opts);
      const out = tf.add(mean, tf.mul(z, Math.sqrt(post.variance)));
      if (!opts.noise) z.dispose();
      return out;
    }) as tf.Tensor4D;
    return { prevSample, predX0: x0 };
  }
}

/**
 * DDIM (Song et al.): x_prev = √ᾱ_prev·x0̂ + √(1 − ᾱ_prev − σ²)·ε̂ + σ·z with
 * σ = η·√((1−ᾱ_prev)/(1−ᾱ_t)·(1 − ᾱ_t/ᾱ_prev)); η = 0 is deterministic.
 */
export class DDIMScheduler extends Scheduler {
  constructor(
    schedule: NoiseSchedule,
    opts: SchedulerOptions & { eta?: number },
  ) {
    super(schedule, opts);
    this.eta = opts.eta ?? 0;
  }

  readonly eta: number;

  step(output: tf.Tensor4D, t: number, sample: tf.Tensor4D, opts: StepOptions = {}): StepResult {
    const prev = this.previousTimestep(t);
    const abT = alphaBar(this.schedule, t);
    const abPrev = alphaBar(this.schedule, prev);
    const sigma = this.eta * Math.sqrt(((1 - abPrev) / (1 - abT)) * (1 - abT / abPrev));
    const { x0, eps } = this.estimate(output, t, sample);
    const prevSample = tf.tidy(() => {
      const direction = tf.mul(eps, Math.sqrt(Math.max(0, 1 - abPrev - sigma * sigma)));
      let out = tf.add(tf.mul(x0, Math.sqrt(abPrev)), direction);
      if (sigma > 0) {
        const z = this.noiseLike(sample, opts);
        out = tf.add(out, tf.mul(z, sigma));
        if (!opts.noise) z.dispose();
      }
      return out;
    }) as tf.Tensor4D;
    eps.dispose();
    return { prevSample, predX0: x0 };
  }
}

/** The scheduler a trial's config asks for, with its timesteps set (DDPM: all T; DDIM: sample.steps). */
export function createScheduler(diffusion: DiffusionConfig, sample: SampleConfig, opts: { clipSample?: boolean } = {}): Scheduler {
  const schedule = makeSchedule(diffusion);
  const base = { prediction: diffusion.prediction, seed: sample.seed, clipSample: opts.clipSample, clipRange: dataRange(diffusion.residual) };
  if (sample.sampler === 'ddpm') return new DDPMScheduler(schedule, base);
  const s = new DDIMScheduler(schedule, { ...base, eta: sample.eta });
  // `spacing` is absent from the config.json of run directories made before it: those sampled leading.
  s.setTimesteps(Math.min(sample.steps, diffusion.timesteps), sample.spacing ?? 'leading');
  return s;
}
