/** The sampling loop shared by every scheduler: x_T ~ N(0, I), then one `step` per timestep. */
import * as tf from '@tensorflow/tfjs';
import type { Denoiser } from './process.ts';
import type { Scheduler } from './schedulers.ts';

export interface SampleLoopOptions {
  /** Called after each step with its index (0-based) and the number of steps, e.g. for a progress bar. */
  onStep?: (index: number, total: number) => void;
}

/** Runs the scheduler's timesteps from seeded noise and returns the final sample [N,H,W,C]. */
export function runSampler(
  scheduler: Scheduler,
  denoise: Denoiser,
  shape: [number, number, number, number],
  opts: SampleLoopOptions = {},
): tf.Tensor4D {
  let x = scheduler.initialNoise(shape);
  const steps = scheduler.timesteps;
  for (const [i, t] of steps.entries()) {
    const next = tf.tidy(() => {
      const out = denoise(x, new Array<number>(shape[0]).fill(t));
      const { prevSample, predX0 } = scheduler.step(out, t, x);
      predX0.dispose();
      return prevSample;
    });
    x.dispose();
    x = next;
    opts.onStep?.(i, steps.length);
  }
  return x;
}
