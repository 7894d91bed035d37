/**
 * Softmax attention over many small windows at once, with an additive per-head bias.
 *
 * Batched matMul on wasm is a scalar loop (~2 GFLOP/s); a depthwise conv with a channel multiplier
 * is one XNNPACK grouped GEMM (~14 GFLOP/s), so every product here is a "depthwise batched matmul"
 * (wasm-perf.md §2, window attention). Internal layouts put b = window·heads + head innermost:
 *   q (t,j,b)  k (j,b,s)  v (s,b,e)  →  S, P (t,b,s)  →  O (t,b,e)
 */
import * as tf from '@tensorflow/tfjs';
import { nativeGradients, withGrad } from './custom.ts';

/** out[t,b,s] = Σ_k inp[t,k,b] · filt[k,b,s] for inp: [T1,K,B], filt: [K,B,T2] → [T1,B,T2]. */
export function depthwiseBatchMatMul(inp: tf.Tensor3D, filt: tf.Tensor3D): tf.Tensor3D {
  const [t1, k, b] = inp.shape;
  const t2 = filt.shape[2];
  const out = tf.depthwiseConv2d(
    tf.reshape(inp, [1, t1, k, b]) as tf.Tensor4D,
    tf.reshape(filt, [1, k, b, t2]) as tf.Tensor4D,
    1,
    'valid',
  );
  return tf.reshape(out, [t1, b, t2]);
}

const dwbmm = depthwiseBatchMatMul;

export interface AttentionOptions {
  /** Additive bias per head, bias[t, head, s]: [T, h, T] (e.g. a relative position bias). */
  bias?: tf.Tensor3D;
  /** Additive constant per window and key, keyMask[w, s]: [W, T] (0 keeps, -1e9 masks padding). No gradient. */
  keyMask?: tf.Tensor2D;
  /** Logit scale; defaults to 1/√d. */
  scale?: number;
}

function coreOp(windows: number, heads: number, scale: number, mask: tf.Tensor4D | null) {
  return withGrad<[tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor4D], tf.Tensor3D>(
    ([q, k, v, bias], save) => {
      const [t, , b] = q.shape;
      const qs = tf.mul(q, scale) as tf.Tensor3D;
      let s: tf.Tensor = tf.add(tf.reshape(dwbmm(qs, k), [t, windows, heads, t]), bias);
      if (mask) s = tf.add(s, mask);
      const p = tf.reshape(tf.softmax(s), [t, b, t]) as tf.Tensor3D;
      save([qs, k, v, p]);
      return dwbmm(tf.transpose(p, [0, 2, 1]), v);
    },
    (dO, saved) => {
      const [qs, k, v, p] = saved as tf.Tensor3D[] as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
      const t = qs.shape[0];
      const dP = dwbmm(tf.transpose(dO, [0, 2, 1]), tf.transpose(v, [2, 1, 0]));
      const dV = dwbmm(tf.transpose(p, [2, 0, 1]), dO);
      const dS = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), 2, true))) as tf.Tensor3D;
      // Σ over windows of dS, as an avgPool over the window axis.
      const pooled = tf.avgPool(tf.reshape(dS, [t, windows, 1, heads * t]) as tf.Tensor4D, [windows, 1], 1, 'valid');
      const dBias = tf.reshape(tf.mul(pooled, windows), [t, 1, heads, t]);
      const dQ = tf.mul(tf.transpose(dwbmm(tf.transpose(dS, [0, 2, 1]), tf.transpose(k, [2, 1, 0])), [0, 2, 1]), scale);
      const dK = dwbmm(tf.transpose(qs, [1, 0, 2]), dS);
      return [dQ, dK, dV, dBias];
    },
  );
}

/** The plain formulation (batched matMul): the test reference, and the path on native backends. */
export function windowAttentionReference(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  opts: AttentionOptions = {},
): tf.Tensor4D {
  const d = q.shape[3];
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  const qh = tf.transpose(q, [0, 2, 1, 3]); // [W,h,T,d]
  const kh = tf.transpose(k, [0, 2, 1, 3]);
  const vh = tf.transpose(v, [0, 2, 1, 3]);
  let s: tf.Tensor = tf.mul(tf.matMul(qh, kh, false, true), scale); // [W,h,T,T]
  if (opts.bias) s = tf.add(s, tf.transpose(opts.bias, [1, 0, 2])); // [h,T,T]
  if (opts.keyMask) s = tf.add(s, tf.reshape(opts.keyMask, [opts.keyMask.shape[0], 1, 1, opts.keyMask.shape[1]]));
  const o = tf.matMul(tf.softmax(s), vh);
  return tf.transpose(o, [0, 2, 1, 3]) as tf.Tensor4D;
}

/**
 * Multi-head softmax attention inside each of W windows: q, k, v: [W, T, h, d] → [W, T, h, d].
 * Rows of different windows never mix; gradients flow to q, k, v and `bias`.
 */
export function windowAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions = {}): tf.Tensor4D {
  const [w, t, h, d] = q.shape;
  for (const [name, x] of [['k', k], ['v', v]] as const) {
    if (x.shape.join() !== q.shape.join()) throw new Error(`windowAttention: ${name} is [${x.shape}], q is [${q.shape}]`);
  }
  if (opts.bias && opts.bias.shape.join() !== [t, h, t].join()) {
    throw new Error(`windowAttention: bias must be [${t},${h},${t}] (T, heads, T), got [${opts.bias.shape}]`);
  }
  if (opts.keyMask && opts.keyMask.shape.join() !== [w, t].join()) {
    throw new Error(`windowAttention: keyMask must be [${w},${t}] (windows, T), got [${opts.keyMask.shape}]`);
  }
  if (nativeGradients()) return windowAttentionReference(q, k, v, opts);
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  const b = w * h;
  const qT = tf.reshape(tf.transpose(q, [1, 3, 0, 2]), [t, d, b]) as tf.Tensor3D;
  const kT = tf.reshape(tf.transpose(k, [3, 0, 2, 1]), [d, b, t]) as tf.Tensor3D;
  const vT = tf.reshape(tf.transpose(v, [1, 0, 2, 3]), [t, b, d]) as tf.Tensor3D;
  const bias = opts.bias ? tf.reshape(opts.bias, [t, 1, h, t]) : tf.zeros([t, 1, h, t]);
  const mask = opts.keyMask ? (tf.reshape(opts.keyMask, [1, w, 1, t]) as tf.Tensor4D) : null;
  const out = coreOp(w, h, scale, mask)(qT, kT, vT, bias as tf.Tensor4D); // [T, B, d]
  return tf.transpose(tf.reshape(out, [t, w, h, d]), [1, 0, 2, 3]);
}
