/**
 * Dense layers and bias addition. Only plain 2-D matMuls: on wasm, transpose flags or a batch > 1
 * fall off XNNPACK onto a ~2 GFLOP/s scalar loop (wasm-perf.md §2, "1x1 conv / dense").
 */
import * as tf from '@tensorflow/tfjs';
import { matMulTN, nativeGradients, sumRows, withGrad } from './custom.ts';
import { reshape } from './elementwise.ts';

const denseOp = withGrad<[tf.Tensor2D, tf.Tensor2D], tf.Tensor2D>(
  ([x, w], save) => {
    save([x, w]);
    return tf.matMul(x, w);
  },
  (dy, [x, w]) => [tf.matMul(dy, tf.transpose(w as tf.Tensor2D)), matMulTN(x as tf.Tensor2D, dy)],
);

/** x: [M, K] · w: [K, N] → [M, N]. */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  if (x.shape[1] !== w.shape[0]) throw new Error(`dense: input has ${x.shape[1]} features, weight expects ${w.shape[0]}`);
  return nativeGradients() ? tf.matMul(x, w) : denseOp(x, w);
}

const addBiasOp = withGrad<[tf.Tensor, tf.Tensor1D], tf.Tensor>(
  ([x, b]) => tf.add(x, b),
  (dy) => {
    const c = dy.shape[dy.shape.length - 1]!;
    return [dy, sumRows(tf.reshape(dy, [dy.size / c, c]))];
  },
);

/** x: [..., C] + b: [C]. */
export function addBias<T extends tf.Tensor>(x: T, b: tf.Tensor1D): T {
  const c = x.shape[x.rank - 1];
  if (c !== b.shape[0]) throw new Error(`addBias: last axis is ${c}, bias has ${b.shape[0]}`);
  return (nativeGradients() ? tf.add(x, b) : addBiasOp(x, b)) as T;
}

/** x: [..., K] · w: [K, N] (+ b: [N]) → [..., N], flattening leading axes into one matMul. */
export function linear<T extends tf.Tensor>(x: T, w: tf.Tensor2D, b?: tf.Tensor1D): T {
  const k = x.shape[x.rank - 1]!;
  const lead = x.shape.slice(0, -1);
  let y: tf.Tensor = dense(reshape<tf.Rank.R2>(x, [x.size / k, k]), w);
  if (b) y = addBias(y, b);
  return reshape(y, [...lead, w.shape[1]]) as T;
}
