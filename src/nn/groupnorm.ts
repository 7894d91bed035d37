/**
 * GroupNorm with affine, NHWC, statistics from avgPool (a spatial mean in one fast XNNPACK call;
 * reductions over non-innermost axes transpose first on wasm) and a closed-form gradient.
 *
 * Forward, per sample n and group g (over H, W and the group's channels):
 *   μ = mean(x), σ² = mean((x−μ)²), x̂ = (x−μ)/√(σ²+ε), y = γ·x̂ + β
 * Backward (m = mean over the group):
 *   dx = (γ·rstd)·dy − rstd·x̂·m(γ·dy·x̂) − rstd·m(γ·dy)
 * The variance is taken around the mean (not E[x²]−μ²) so large offsets do not cancel.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeGradients, withGrad } from './custom.ts';

/** [N,1,1,C] per-channel values → the mean of each group, broadcast back to [N,1,1,C]. */
function groupMean(t: tf.Tensor4D, groups: number): tf.Tensor4D {
  const [n, , , c] = t.shape;
  const per = c / groups;
  const g = tf.mean(tf.reshape(t, [n, groups, per]), 2, true); // [N,G,1]
  return tf.reshape(tf.mul(g, tf.ones([1, 1, per])), [n, 1, 1, c]);
}

function spatialMean(x: tf.Tensor4D): tf.Tensor4D {
  return tf.avgPool(x, [x.shape[1], x.shape[2]], 1, 'valid') as tf.Tensor4D;
}

interface Stats {
  mu: tf.Tensor4D;
  rstd: tf.Tensor4D;
}

/** The per-group statistics, and x − μ (which the forward needs next). */
function statistics(x: tf.Tensor4D, groups: number, eps: number): Stats & { centred: tf.Tensor4D } {
  const mu = groupMean(spatialMean(x), groups);
  const centred = tf.sub(x, mu) as tf.Tensor4D;
  const rstd = tf.rsqrt(tf.add(groupMean(spatialMean(tf.square(centred) as tf.Tensor4D), groups), eps)) as tf.Tensor4D;
  return { mu, rstd, centred };
}

/** γ·x̂ + β from x − μ; the scale γ·rstd is formed on the tiny [N,1,1,C] tensors. */
function affine(centred: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, rstd: tf.Tensor4D): tf.Tensor4D {
  return tf.add(tf.mul(centred, tf.mul(gamma, rstd)), beta);
}

/** Gradients for x, γ and β from the gradient dy of the normalised output. */
function normBackward(dy: tf.Tensor4D, x: tf.Tensor4D, gamma: tf.Tensor1D, { mu, rstd }: Stats, groups: number): tf.Tensor[] {
  const [n, h, w, c] = x.shape;
  const xhat = tf.mul(tf.sub(x, mu), rstd);
  const mdy = spatialMean(dy); // [N,1,1,C]
  const mdyx = spatialMean(tf.mul(dy, xhat) as tf.Tensor4D);
  const hw = h * w;
  const dbeta = tf.mul(tf.sum(tf.reshape(mdy, [n, c]), 0), hw) as tf.Tensor1D;
  const dgamma = tf.mul(tf.sum(tf.reshape(mdyx, [n, c]), 0), hw) as tf.Tensor1D;
  const a = tf.mul(gamma, rstd);
  const b = tf.mul(tf.neg(rstd), groupMean(tf.mul(gamma, mdyx) as tf.Tensor4D, groups));
  const k = tf.mul(tf.neg(rstd), groupMean(tf.mul(gamma, mdy) as tf.Tensor4D, groups));
  const dx = tf.add(tf.add(tf.mul(dy, a), tf.mul(xhat, b)), k);
  return [dx, dgamma, dbeta];
}

function makeOp(groups: number, eps: number) {
  return withGrad<[tf.Tensor4D, tf.Tensor1D, tf.Tensor1D], tf.Tensor4D>(
    ([x, gamma, beta], save) => {
      const { mu, rstd, centred } = statistics(x, groups, eps);
      save([x, gamma, mu, rstd]);
      return affine(centred, gamma, beta, rstd);
    },
    (dy, saved) => {
      const [x, gamma, mu, rstd] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor4D];
      return normBackward(dy, x, gamma, { mu, rstd }, groups);
    },
  );
}

/**
 * SiLU(GroupNorm(x)) that saves only x, γ, β and the per-group statistics: the backward recomputes the
 * normalised map and its sigmoid (cheap elementwise passes) instead of keeping two activations of x's size
 * from the forward pass until the backward, as a GroupNorm followed by a SiLU would.
 */
function makeNormSiluOp(groups: number, eps: number) {
  return withGrad<[tf.Tensor4D, tf.Tensor1D, tf.Tensor1D], tf.Tensor4D>(
    ([x, gamma, beta], save) => {
      const { mu, rstd, centred } = statistics(x, groups, eps);
      save([x, gamma, beta, mu, rstd]);
      const z = affine(centred, gamma, beta, rstd);
      return tf.mul(z, tf.sigmoid(z));
    },
    (dy, saved) => {
      const [x, gamma, beta, mu, rstd] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor4D, tf.Tensor4D];
      const z = affine(tf.sub(x, mu), gamma, beta, rstd);
      const s = tf.sigmoid(z);
      // d/dz z·σ(z) = σ(z)·(1 + z·(1 − σ(z)))
      const dz = tf.mul(dy, tf.mul(s, tf.add(1, tf.mul(z, tf.sub(1, s))))) as tf.Tensor4D;
      return normBackward(dz, x, gamma, { mu, rstd }, groups);
    },
  );
}

const ops = new Map<string, ReturnType<typeof makeOp>>();
const normSiluOps = new Map<string, ReturnType<typeof makeNormSiluOp>>();

function checkArgs(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number): void {
  const c = x.shape[3];
  if (c % groups !== 0) throw new Error(`groupNorm: ${c} channels are not divisible into ${groups} groups`);
  if (gamma.shape[0] !== c || beta.shape[0] !== c) throw new Error(`groupNorm: γ/β must have ${c} entries`);
}

/** Plain formulation: the reference in tests, and the path on backends with native gradients. */
export function groupNormReference(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  groups: number,
  eps = 1e-5,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const xg = tf.reshape(x, [n, h, w, groups, c / groups]);
  const { mean, variance } = tf.moments(xg, [1, 2, 4], true);
  const xhat = tf.reshape(tf.div(tf.sub(xg, mean), tf.sqrt(tf.add(variance, eps))), [n, h, w, c]);
  return tf.add(tf.mul(xhat, gamma), beta);
}

/** x: [N,H,W,C], γ and β: [C]; C must be divisible by `groups`. ε as PyTorch's default (1e-5). */
export function groupNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, eps = 1e-5): tf.Tensor4D {
  checkArgs(x, gamma, beta, groups);
  if (nativeGradients()) return groupNormReference(x, gamma, beta, groups, eps);
  const key = `${groups}:${eps}`;
  let op = ops.get(key);
  if (!op) ops.set(key, (op = makeOp(groups, eps)));
  return op(x, gamma, beta);
}

/** SiLU(GroupNorm(x)): the same values as silu(groupNorm(...)), with half the saved activations. */
export function groupNormSilu(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, eps = 1e-5): tf.Tensor4D {
  checkArgs(x, gamma, beta, groups);
  if (nativeGradients()) {
    const z = groupNormReference(x, gamma, beta, groups, eps);
    return tf.mul(z, tf.sigmoid(z));
  }
  const key = `${groups}:${eps}`;
  let op = normSiluOps.get(key);
  if (!op) normSiluOps.set(key, (op = makeNormSiluOp(groups, eps)));
  return op(x, gamma, beta);
}
