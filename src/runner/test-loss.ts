/**
 * The held-out diffusion loss: the training objective evaluated on every frame of the test split at fixed
 * noise levels with fixed noise. Unlike PSNR of samples, which rewards blur (the posterior mean) over sharp
 * but hallucinated detail, it measures how well the model predicts the data at every noise level, and it
 * is the same number for variants that cut the test set into different windows: the noise of a frame
 * depends only on its sequence and index, and every frame is scored once whatever F is. This is what
 * CPU-sized ablations can still rank variants by when their samples are too young to beat the blurry input.
 */
import * as tf from '@tensorflow/tfjs';
import { imageSize, loadWindow, readImage, testWindows, type PaddingPolicy, type Sequence } from '../../datasets/index.ts';
import { diffusionData, makeSchedule, mseLoss, predictionTarget, qSample, randn4d, type DiffusionConfig } from '../diffusion/index.ts';
import { predict, type DivdModel } from '../model/index.ts';
import { Rng } from '../nn/index.ts';

/** Noise levels as fractions of T: spread over the schedule so the loss weighs every level equally. */
export const TEST_LOSS_LEVELS: readonly number[] = [0.05, 0.15, 0.3, 0.5, 0.7, 0.9];

/**
 * What each frame is scored alongside:
 * - `window`: its test window of F consecutive frames (the trial's own view of the data);
 * - `isolated`: F copies of itself, so no other frame can contribute. The gap between the two is how much
 *   the model relies on its neighbours (`divd probe`); for F = 1 they are the same number.
 */
export type TestLossContext = 'window' | 'isolated';

export interface TestLossOptions {
  diffusion: DiffusionConfig;
  padding: PaddingPolicy;
  /** Seed of the per-frame noise (the same for every trial, so variants see identical noise). */
  seed?: number;
  context?: TestLossContext;
  onWindow?: (done: number, total: number) => void;
}

export interface TestLoss {
  /** Mean squared error over every test frame, pixel, channel and level. */
  loss: number;
  /** The same mean at each level, keyed by the timestep. */
  byTimestep: Record<string, number>;
  levels: number[];
}

function frameNoise(seed: number, sequence: number, frame: number, shape: [number, number, number, number]): tf.Tensor4D {
  return randn4d(shape, new Rng(seed + 1_000_003 * (sequence + 1) + 7_919 * frame));
}

/** One model input: the frames fed (indices into the sequence) and how many leading outputs are scored. */
interface ScoredWindow {
  indices: number[];
  valid: number;
}

function scoredWindows(length: number, frames: number, padding: PaddingPolicy, context: TestLossContext): ScoredWindow[] {
  const windows = testWindows(length, frames, padding);
  if (context === 'window') return windows;
  // Every real frame once, filling its own window; the noise is per frame, so each copy gets the same noise.
  return windows.flatMap((w) => w.indices.slice(0, w.valid).map((fi) => ({ indices: new Array<number>(frames).fill(fi), valid: 1 })));
}

/** The held-out loss of `model` on `test` (whole frames, non-overlapping windows of F, padding discarded). */
export async function testLoss(model: DivdModel, test: readonly Sequence[], o: TestLossOptions): Promise<TestLoss> {
  const schedule = makeSchedule(o.diffusion);
  const levels = TEST_LOSS_LEVELS.map((f) => Math.round(f * (schedule.timesteps - 1)));
  const seed = o.seed ?? 0;
  const context = o.context ?? 'window';
  const frames = model.config.frames;
  const sums = new Array<number>(levels.length).fill(0);
  let scored = 0;
  const plans = test.map((s) => scoredWindows(s.frames.length, frames, o.padding, context));
  const total = plans.reduce((n, p) => n + p.length, 0);
  let done = 0;
  for (const [si, seq] of test.entries()) {
    for (const w of plans[si]!) {
      const first = seq.frames[w.indices[0]!]!;
      const { width, height } = await imageSize(first.sharp);
      const crop = { x: 0, y: 0, width, height };
      const data = await loadWindow(seq, { sequence: si, name: seq.name, indices: w.indices, crop, flipH: false, flipV: false, reversed: false });
      const shape: [number, number, number, number] = [frames, height, width, 3];
      const frameShape: [number, number, number, number] = [1, height, width, 3];
      levels.forEach((t, li) => {
        const loss = tf.tidy(() => {
          const sharp = tf.sub(tf.mul(tf.tensor4d(data.sharp, shape), 2), 1) as tf.Tensor4D;
          const blurry = tf.sub(tf.mul(tf.tensor4d(data.blurry, shape), 2), 1) as tf.Tensor4D;
          const noise = tf.concat(w.indices.map((fi) => frameNoise(seed, si, fi, frameShape)), 0) as tf.Tensor4D;
          const perImage = new Array<number>(frames).fill(t);
          const x0 = diffusionData(o.diffusion.residual, sharp, blurry);
          const xt = qSample(schedule, x0, noise, perImage);
          const pred = predict(model, xt, blurry, [t]);
          const target = predictionTarget(schedule, o.diffusion.prediction, x0, noise, perImage);
          // Only the window's real frames count; padding frames (and an isolated frame's copies) are scored elsewhere.
          const keep = (x: tf.Tensor4D) => tf.slice(x, [0, 0, 0, 0], [w.valid, height, width, 3]);
          return mseLoss(keep(pred as tf.Tensor4D), keep(target as tf.Tensor4D));
        });
        sums[li]! += loss.dataSync()[0]! * w.valid;
        loss.dispose();
      });
      scored += w.valid;
      o.onWindow?.(++done, total);
    }
  }
  const byTimestep: Record<string, number> = {};
  levels.forEach((t, i) => (byTimestep[String(t)] = sums[i]! / scored));
  return { loss: sums.reduce((a, b) => a + b, 0) / (scored * levels.length), byTimestep, levels };
}

/**
 * The held-out loss of returning the blurry input, on the same scale as `testLoss` for x0-prediction: the
 * target is the sharp frame (or sharp − blurry with residual diffusion, where the input is a zero residual),
 * so at every noise level the loss is the mean of (sharp − blurry)² in [−1, 1] units. A model row below it
 * has learnt something about deblurring; one above it does worse than not touching the frames. Undefined
 * for ε- and v-prediction, whose targets the input does not estimate.
 */
export async function inputTestLoss(test: readonly Sequence[], diffusion: DiffusionConfig): Promise<number | undefined> {
  if (diffusion.prediction !== 'x0') return undefined;
  let sum = 0;
  let frames = 0;
  for (const seq of test) {
    for (const f of seq.frames) {
      const [sharp, blurry] = await Promise.all([readImage(f.sharp), readImage(f.blurry)]);
      let se = 0;
      // (a − b)/127.5 is the difference of the two frames mapped to [−1, 1].
      for (let i = 0; i < sharp.data.length; i++) se += ((sharp.data[i]! - blurry.data[i]!) / 127.5) ** 2;
      sum += se / sharp.data.length;
      frames++;
    }
  }
  return frames > 0 ? sum / frames : undefined;
}
