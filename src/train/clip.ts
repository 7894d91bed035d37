/**
 * Global-norm gradient clipping with PyTorch's coefficient (max_norm / (norm + 1e-6), never above 1), which
 * also reports whether every gradient is finite — the NaN/Inf guard reads it before any weight changes.
 */
import * as tf from '@tensorflow/tfjs';

export interface ClipResult {
  /** The global L2 norm before clipping (NaN or Infinity when a gradient is not finite). */
  norm: number;
  finite: boolean;
  /** The gradients to apply: the inputs themselves when no clipping was needed, else new tensors. */
  grads: Map<string, tf.Tensor>;
  clipped: boolean;
}

export function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): number {
  // float32 sums of squares per tensor, added up in float64: one sync point for the whole model.
  const squares = tf.tidy(() => tf.stack([...grads.values()].map((g) => tf.sum(tf.square(g)))));
  const parts = squares.dataSync();
  squares.dispose();
  let total = 0;
  for (const x of parts) total += x;
  return Math.sqrt(total);
}

/** maxNorm <= 0 disables clipping (the norm is still measured for the log and the guard). */
export function clipByGlobalNorm(grads: ReadonlyMap<string, tf.Tensor>, maxNorm: number): ClipResult {
  const norm = globalNorm(grads);
  const finite = Number.isFinite(norm);
  const coef = maxNorm > 0 && finite ? maxNorm / (norm + 1e-6) : 1;
  if (coef >= 1) return { norm, finite, grads: new Map(grads), clipped: false };
  const scaled = new Map([...grads].map(([k, g]) => [k, tf.mul(g, coef)]));
  return { norm, finite, grads: scaled, clipped: true };
}
