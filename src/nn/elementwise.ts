/**
 * Reshape, additions and a channel concat whose gradients need only shapes, as custom ops that save
 * nothing. tf's own gradients save their inputs (Reshape and Add to read the shapes, Concat all of them),
 * which keeps a residual branch, a pre-embedding activation, a transposed copy or an up-sampled map alive
 * from the forward pass until its backward. And tf never frees a native op's incoming gradient before
 * the whole backward ends, while custom ops here free theirs at once (withEarlyRelease): a tf.reshape
 * between two custom ops keeps the gradient passing through it, a tf.add both halves of a residual's.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeGradients, sumRows, withGrad } from './custom.ts';

function reshapeOp(from: number[], to: number[]) {
  return withGrad<[tf.Tensor], tf.Tensor>(
    ([x]) => tf.reshape(x, to),
    (dy) => [tf.reshape(dy, from)],
  );
}

const reshapeOps = new Map<string, ReturnType<typeof reshapeOp>>();

/** tf.reshape (no copy) whose gradient saves nothing. `shape` must give every axis (no −1). */
export function reshape<R extends tf.Rank = tf.Rank>(x: tf.Tensor, shape: readonly number[]): tf.Tensor<R> {
  const to = [...shape];
  if (to.reduce((a, b) => a * b, 1) !== x.size) throw new Error(`reshape: [${x.shape}] has ${x.size} values, [${to}] needs another count`);
  if (nativeGradients()) return tf.reshape(x, to) as tf.Tensor as tf.Tensor<R>;
  const key = `${x.shape}>${to}`;
  let op = reshapeOps.get(key);
  if (!op) reshapeOps.set(key, (op = reshapeOp(x.shape, to)));
  return op(x) as tf.Tensor<R>;
}

const addSameOp = withGrad<[tf.Tensor, tf.Tensor], tf.Tensor>(
  ([a, b]) => tf.add(a, b),
  // Two tensor objects over one buffer: tf accumulates and disposes each input's gradient on its own.
  (dy) => [dy, tf.reshape(dy, dy.shape)],
);

/** a + b for tensors of the same shape (residual connections). */
export function addSame<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
  if (a.shape.join() !== b.shape.join()) throw new Error(`addSame: shapes [${a.shape}] and [${b.shape}] differ`);
  return (nativeGradients() ? tf.add(a, b) : addSameOp(a, b)) as T;
}

const addBroadcastOp = withGrad<[tf.Tensor4D, tf.Tensor4D], tf.Tensor4D>(
  ([x, y]) => tf.add(x, y),
  (dy) => {
    const p = dy.shape[2];
    // Σ over P as a P-wide avgPool (an XNNPACK pass; a reduction over a middle axis transposes first on wasm).
    const perRow = tf.mul(tf.avgPool(dy, [1, p], 1, 'valid'), p) as tf.Tensor4D; // [A,B,1,C]
    return [dy, perRow];
  },
);

const addBroadcastSharedOp = withGrad<[tf.Tensor4D, tf.Tensor4D], tf.Tensor4D>(
  ([x, y]) => tf.add(x, y),
  (dy) => {
    const [a, b, p, c] = dy.shape;
    const perRow = tf.mul(tf.avgPool(dy, [1, p], 1, 'valid'), p); // [A,B,1,C]
    return [dy, tf.reshape(sumRows(tf.reshape(perRow, [a, b * c]) as tf.Tensor2D), [1, b, 1, c])];
  },
);

/**
 * x: [A, B, P, C] + y: [A, B, 1, C] or [1, B, 1, C], y broadcast over P (and over A when its first axis is 1):
 * a per-image channel vector added at every pixel (A images, B = 1, P pixels), or a per-frame vector added to
 * every pixel of every sequence (A sequences, B frames).
 */
export function addBroadcast(x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor4D {
  const [a, b, , c] = x.shape;
  const [ya, yb, yp, yc] = y.shape;
  if ((ya !== a && ya !== 1) || yb !== b || yp !== 1 || yc !== c) {
    throw new Error(`addBroadcast: y must be [${a} or 1, ${b}, 1, ${c}] for x [${x.shape}], got [${y.shape}]`);
  }
  if (nativeGradients()) return tf.add(x, y);
  return ya === a ? addBroadcastOp(x, y) : addBroadcastSharedOp(x, y);
}

/** Gradient slices of a channel concat: tf.split, which needs only the channel counts. */
function concatOp(channels: number[]) {
  return withGrad<tf.Tensor4D[], tf.Tensor4D>(
    (xs) => tf.concat(xs, 3),
    (dy) => tf.split(dy, channels, 3),
  );
}

const concatOps = new Map<string, ReturnType<typeof concatOp>>();

/** Concatenates NHWC tensors of equal N, H, W on the channel axis. */
export function concatChannels(xs: tf.Tensor4D[]): tf.Tensor4D {
  const [n, h, w] = xs[0]!.shape;
  for (const x of xs) {
    if (x.shape[0] !== n || x.shape[1] !== h || x.shape[2] !== w) {
      throw new Error(`concatChannels: [${x.shape}] does not match [${xs[0]!.shape}] outside the channel axis`);
    }
  }
  if (nativeGradients()) return tf.concat(xs, 3);
  const channels = xs.map((x) => x.shape[3]);
  const key = channels.join(',');
  let op = concatOps.get(key);
  if (!op) concatOps.set(key, (op = concatOp(channels)));
  return op(...xs);
}
