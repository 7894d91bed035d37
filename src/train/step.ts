/**
 * One diffusion training objective evaluation: uniform t per window, ε ~ N(0, I), x_t = q_sample(x0, ε, t),
 * loss = MSE(model(x_t, blurry, t), target) — and its gradient for every model weight, by parameter name.
 * x0 is the sharp frames, or sharp − blurry with residual diffusion (src/diffusion/residual.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { withEarlyRelease, type Rng } from '../nn/index.ts';
import { predict, type DivdModel } from '../model/index.ts';
import { diffusionData, mseLoss, predictionTarget, qSample, randn4d, type NoiseSchedule, type PredictionKind } from '../diffusion/index.ts';

/** Sharp and blurry frames of S windows: [S·F, H, W, 3] in [−1, 1], the F frames of a window contiguous. */
export interface TrainBatch {
  sharp: tf.Tensor4D;
  blurry: tf.Tensor4D;
}

export interface Objective {
  schedule: NoiseSchedule;
  prediction: PredictionKind;
  /** Diffuse sharp − blurry instead of the sharp frames (diffusion.residual; default false). */
  residual?: boolean;
}

/**
 * One uniform timestep per window (all F frames of a window share it, as they are denoised together) and
 * its noise, drawn window by window, so a batch of k windows draws exactly what k batches of one would
 * (gradient accumulation is then the same update as a larger batch).
 */
export function sampleWindowNoise(
  windows: number,
  frameShape: [number, number, number, number],
  timesteps: number,
  rng: Rng,
): { t: number[]; noise: tf.Tensor4D } {
  const t: number[] = [];
  const parts: tf.Tensor4D[] = [];
  for (let w = 0; w < windows; w++) {
    t.push(Math.min(timesteps - 1, Math.floor(rng.next() * timesteps)));
    parts.push(randn4d(frameShape, rng));
  }
  const noise = parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor4D);
  if (parts.length > 1) tf.dispose(parts);
  return { t, noise };
}

/** The loss for given timesteps and noise (validation uses fixed ones). */
export function diffusionLoss(model: DivdModel, obj: Objective, batch: TrainBatch, t: number[], noise: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const frames = model.config.frames;
    const perImage = batch.sharp.shape[0] === t.length ? t : t.flatMap((x) => new Array<number>(frames).fill(x));
    const x0 = diffusionData(obj.residual ?? false, batch.sharp, batch.blurry);
    const xt = qSample(obj.schedule, x0, noise, perImage);
    const pred = predict(model, xt, batch.blurry, t);
    return mseLoss(pred, predictionTarget(obj.schedule, obj.prediction, x0, noise, perImage));
  });
}

export interface LossAndGrads {
  loss: number;
  grads: Map<string, tf.Tensor>;
}

/** Draws t and ε from `rng`, evaluates the loss and returns it with the gradient of every trainable weight. */
export function lossAndGrads(model: DivdModel, obj: Objective, batch: TrainBatch, rng: Rng): LossAndGrads {
  const [images, h, w, c] = batch.sharp.shape;
  const frames = model.config.frames;
  const { t, noise } = sampleWindowNoise(images / frames, [frames, h, w, c], obj.schedule.timesteps, rng);
  const names = model.params.names();
  const vars = model.params.variables();
  const byVar = new Map(vars.map((v, i) => [v.name, names[i]!]));
  // Nothing outside this call sees the graph's gradients, so custom ops may free theirs as the backward goes.
  const { value, grads } = withEarlyRelease(() => tf.variableGrads(() => diffusionLoss(model, obj, batch, t, noise), model.params.trainable()));
  noise.dispose();
  const loss = value.dataSync()[0]!;
  value.dispose();
  const out = new Map<string, tf.Tensor>();
  for (const [varName, g] of Object.entries(grads)) out.set(byVar.get(varName)!, g);
  return { loss, grads: out };
}
