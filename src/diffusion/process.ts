/**
 * The forward process and the training objective: q_sample, the regression target for each
 * prediction kind, the conversion from a prediction back to (x0, ε), and the MSE loss.
 * Coefficients are computed in float64 and enter the graph as per-image [N,1,1,1] constants.
 */
import * as tf from '@tensorflow/tfjs';
import type { PredictionKind } from './config.ts';
import { alphaBar, type NoiseSchedule } from './schedule.ts';

/** One timestep per image (or one for all); values from `f(t)` as an [N,1,1,1] float32 tensor. */
function perImage(s: NoiseSchedule, t: ArrayLike<number> | number, n: number, f: (ab: number) => number): tf.Tensor4D {
  const ts = typeof t === 'number' ? new Array<number>(n).fill(t) : t;
  if (ts.length !== n) throw new Error(`${ts.length} timesteps for ${n} images`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f(alphaBar(s, ts[i]!));
  return tf.tensor4d(out, [n, 1, 1, 1]);
}

const sqrtAb = (ab: number) => Math.sqrt(ab);
const sqrtOneMinusAb = (ab: number) => Math.sqrt(1 - ab);

/** q_sample: x_t = √ᾱ_t · x0 + √(1−ᾱ_t) · ε, per image (x0, noise: [N,H,W,C], t: N timesteps or one). */
export function qSample(s: NoiseSchedule, x0: tf.Tensor4D, noise: tf.Tensor4D, t: ArrayLike<number> | number): tf.Tensor4D {
  return tf.tidy(() => {
    const n = x0.shape[0];
    return tf.add(tf.mul(perImage(s, t, n, sqrtAb), x0), tf.mul(perImage(s, t, n, sqrtOneMinusAb), noise));
  });
}

/** What the network should output for (x0, ε, t): ε, x0, or v = √ᾱ·ε − √(1−ᾱ)·x0. */
export function predictionTarget(
  s: NoiseSchedule,
  kind: PredictionKind,
  x0: tf.Tensor4D,
  noise: tf.Tensor4D,
  t: ArrayLike<number> | number,
): tf.Tensor4D {
  if (kind === 'eps') return noise.clone();
  if (kind === 'x0') return x0.clone();
  return tf.tidy(() => {
    const n = x0.shape[0];
    return tf.sub(tf.mul(perImage(s, t, n, sqrtAb), noise), tf.mul(perImage(s, t, n, sqrtOneMinusAb), x0));
  });
}

/** Recovers (x0, ε) from x_t and a prediction of the given kind. */
export function splitPrediction(
  s: NoiseSchedule,
  kind: PredictionKind,
  xt: tf.Tensor4D,
  pred: tf.Tensor4D,
  t: ArrayLike<number> | number,
): { x0: tf.Tensor4D; eps: tf.Tensor4D } {
  return tf.tidy(() => {
    const n = xt.shape[0];
    const a = perImage(s, t, n, sqrtAb);
    const b = perImage(s, t, n, sqrtOneMinusAb);
    if (kind === 'eps') return { x0: tf.div(tf.sub(xt, tf.mul(b, pred)), a), eps: pred.clone() };
    if (kind === 'x0') return { x0: pred.clone(), eps: tf.div(tf.sub(xt, tf.mul(a, pred)), b) };
    // v = a·ε − b·x0 and x_t = a·x0 + b·ε with a² + b² = 1  ⇒  x0 = a·x_t − b·v, ε = b·x_t + a·v.
    return { x0: tf.sub(tf.mul(a, xt), tf.mul(b, pred)), eps: tf.add(tf.mul(b, xt), tf.mul(a, pred)) };
  });
}

/** The simple DDPM objective: mean squared error between prediction and target. */
export function mseLoss(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.mean(tf.squaredDifference(pred, target));
}

/** A denoiser as the diffusion code sees a model: (x_t, per-image timesteps) → prediction. */
export type Denoiser = (xt: tf.Tensor4D, t: ArrayLike<number>) => tf.Tensor4D;

/**
 * The training loss for one batch: noise x0 to x_t at the given timesteps, ask the denoiser, and
 * regress its output onto the target of the prediction kind (MSE). Call inside tf.variableGrads.
 */
export function denoisingLoss(
  s: NoiseSchedule,
  kind: PredictionKind,
  denoise: Denoiser,
  x0: tf.Tensor4D,
  noise: tf.Tensor4D,
  t: ArrayLike<number>,
): tf.Scalar {
  const xt = qSample(s, x0, noise, t);
  return mseLoss(denoise(xt, t), predictionTarget(s, kind, x0, noise, t));
}
