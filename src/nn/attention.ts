/**
 * Softmax attention over many small windows at once, with an additive per-head bias.
 *
 * Batched matMul on wasm is a scalar loop (~2 GFLOP/s); a depthwise conv with a channel multiplier
 * is one XNNPACK grouped GEMM, so every product here is a "depthwise batched matmul"
 * (wasm-perf.md §2, window attention). Letters name axes: t query token, s key token,
 * b = window·heads + head, d head dim; a layout (t,b,s) is a row-major [T, B, T] tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedAttentionAvailable, fusedAttentionBackward, fusedAttentionForward } from './attention-wasm.ts';
import { nativeGradients, withGrad } from './custom.ts';

/**
 * Rows of the first operand per conv batch entry. The conv reads that operand one scalar per group
 * (b is its innermost axis) and XNNPACK walks batch entries outermost, so a few rows per entry keep
 * what all B groups read in cache; a single [T, T, B] entry re-reads 16 MB from memory per group.
 * Measured on [256,256,64]x[256,64,32] (`npm run bench -- attention`): 1.6-2x faster with 4-16 rows per
 * entry than with one entry; the other product shapes neither gain nor lose; 2 rows is slower again
 * (XNNPACK's 4-row tiles run half empty).
 */
const ROWS_PER_ENTRY = 8;
const MIN_ROWS_PER_ENTRY = 4;

/** Rows per conv batch entry for an operand with m rows: a divisor of m in [4, 8], else all of m. */
export function rowsPerEntry(m: number): number {
  for (let r = Math.min(m, ROWS_PER_ENTRY); r >= MIN_ROWS_PER_ENTRY; r--) if (m % r === 0) return r;
  return m;
}

/**
 * out[t,b,s] = Σ_k inp[t,k,b] · filt[k,b,s] for inp: [T1,K,B], filt: [K,B,T2] → [T1,B,T2]:
 * one depthwise conv (an XNNPACK grouped GEMM, one group per b) with kernel [1, K] and multiplier T2.
 */
export function depthwiseBatchMatMul(inp: tf.Tensor3D, filt: tf.Tensor3D): tf.Tensor3D {
  const [t1, k, b] = inp.shape;
  const [k2, b2, t2] = filt.shape;
  if (k2 !== k || b2 !== b) throw new Error(`depthwiseBatchMatMul: [${inp.shape}] x [${filt.shape}] needs [T1,K,B] x [K,B,T2]`);
  const rows = rowsPerEntry(t1);
  const out = tf.depthwiseConv2d(
    tf.reshape(inp, [t1 / rows, rows, k, b]) as tf.Tensor4D,
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

/** [W, T, h, d] → (t,b,d): moves whole h·d rows, the cheap first step towards the other layouts. */
function toTBD(x: tf.Tensor4D): tf.Tensor3D {
  const [w, t, h, d] = x.shape;
  return tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [t, w * h, d]);
}

/** (t,b,d) → [W, T, h, d]. */
function fromTBD(x: tf.Tensor3D, windows: number, heads: number): tf.Tensor4D {
  const [t, , d] = x.shape;
  return tf.transpose(tf.reshape(x, [t, windows, heads, d]), [1, 0, 2, 3]);
}

/** (t,b,d) → (t,d,b): T small 2-D transposes (a direct rank-4 transpose from [W,T,h,d] is 1.5x slower). */
function tbdToTDB(x: tf.Tensor3D): tf.Tensor3D {
  return tf.transpose(x, [0, 2, 1]);
}

/** (t,b,d) → (d,t,b): one 2-D transpose. */
function tbdToDTB(x: tf.Tensor3D): tf.Tensor3D {
  const [t, b, d] = x.shape;
  return tf.reshape(tf.transpose(tf.reshape(x, [t * b, d])), [d, t, b]);
}

/** [W, T, h, d] → (d,b,t). */
function toDBT(x: tf.Tensor4D): tf.Tensor3D {
  const [w, t, h, d] = x.shape;
  return tf.reshape(tf.transpose(x, [3, 0, 2, 1]), [d, w * h, t]);
}

/** (d,b,t) → [W, T, h, d]. */
function fromDBT(x: tf.Tensor3D, windows: number, heads: number): tf.Tensor4D {
  const [d, , t] = x.shape;
  return tf.transpose(tf.reshape(x, [d, windows, heads, t]), [1, 3, 2, 0]);
}

/**
 * The attention core on q, k, v: [W, T, h, d] and bias: [T, 1, h, T] (mask: [1, W, 1, T], no gradient).
 *
 * P and dS stay (t,b,s), softmax over the innermost axis. Each product takes its operands in the
 * layout that needs the fewest and cheapest transposes of the [T, B, T] tensors:
 *   S  = dwbmm(q (t,d,b), k (d,b,s))        → (t,b,s)
 *   O  = dwbmm(P (t,s,b), v (s,b,e))        → (t,b,e)   one batched-2-D transpose of P; a [T,T,B]
 *                                                        first operand, fast only in row entries
 *   dP = dwbmm(dO (t,e,b), v (e,b,s))       → (t,b,s)
 *   dV = dwbmm(dO (e,t,b), P (t,b,s))       → (e,b,s)   P as it is
 *   dQ = dwbmm(dS (t,s,b), k (s,b,j))       → (t,b,j)   one batched-2-D transpose of dS
 *   dK = dwbmm(q (j,t,b), dS (t,b,s))       → (j,b,s)   dS as it is
 * A full (t,b,s) → (s,b,t) transpose (to give every product a small first operand) costs more than
 * it saves: wasm's rank-3 transpose is a plain loop nest and reads that one with a 64 KB stride.
 */
function coreOp(windows: number, heads: number, scale: number, mask: tf.Tensor4D | null) {
  return withGrad<[tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D], tf.Tensor4D>(
    ([q, k, v, bias], save) => {
      const t = q.shape[1];
      const b = windows * heads;
      const qs = toTBD(tf.mul(q, scale) as tf.Tensor4D);
      let s: tf.Tensor = tf.add(tf.reshape(dwbmm(tbdToTDB(qs), toDBT(k)), [t, windows, heads, t]), bias);
      if (mask) s = tf.add(s, mask);
      const p = tf.reshape(tf.softmax(s), [t, b, t]) as tf.Tensor3D;
      const out = fromTBD(dwbmm(tf.transpose(p, [0, 2, 1]), toTBD(v)), windows, heads);
      // The output itself, not its (t,b,e) layout: the next layer keeps this buffer anyway.
      save([qs, k, v, p, out]);
      return out;
    },
    (dOut, saved) => {
      const [qs, k, v, p, out] = saved as [tf.Tensor3D, tf.Tensor4D, tf.Tensor4D, tf.Tensor3D, tf.Tensor4D];
      const t = qs.shape[0];
      const dO = toTBD(dOut);
      const dP = dwbmm(tbdToTDB(dO), toDBT(v));
      const dV = fromDBT(dwbmm(tbdToDTB(dO), p), windows, heads);
      // Softmax backward: dS = P ∘ (dP − Σ_s P∘dP), where Σ_s P∘dP = Σ_e dO∘O costs a pass over the
      // small tensors instead of two over [T, B, T]; summed over the innermost axis of [W, T, h, e].
      const rowDot = tf.reshape(tf.transpose(tf.sum(tf.mul(dOut, out), 3), [1, 0, 2]), [t, windows * heads, 1]);
      const dS = tf.mul(p, tf.sub(dP, rowDot)) as tf.Tensor3D;
      // Σ over windows of dS, as an avgPool over the window axis.
      const pooled = tf.avgPool(tf.reshape(dS, [t, windows, 1, heads * t]) as tf.Tensor4D, [windows, 1], 1, 'valid');
      const dBias = tf.reshape(tf.mul(pooled, windows), [t, 1, heads, t]);
      const dQ = fromTBD(tf.mul(dwbmm(tf.transpose(dS, [0, 2, 1]), toTBD(k)), scale) as tf.Tensor3D, windows, heads);
      const dK = fromDBT(dwbmm(tbdToDTB(qs), dS), windows, heads);
      return [dQ, dK, dV, dBias];
    },
  );
}

/**
 * The attention core as the fused wasm kernels (./attention-wasm.ts): one kernel forward (saving P), one
 * backward, no transposes. bias: [T, h, T]; mask: [W, T] or null, no gradient.
 */
function fusedOp(scale: number, mask: tf.Tensor2D | null) {
  return withGrad<[tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor3D], tf.Tensor4D>(
    ([q, k, v, bias], save) => {
      const [out, p] = fusedAttentionForward(q, k, v, bias, mask, scale);
      save([q, k, v, out, p]);
      return out;
    },
    (dy, saved) => {
      const [q, k, v, out, p] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      return fusedAttentionBackward({ q, k, v, out, p }, dy, scale);
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
  if (fusedAttentionAvailable({ windows: w, tokens: t, heads: h, dim: d })) {
    const bias3 = opts.bias ?? (tf.zeros([t, h, t]) as tf.Tensor3D);
    return fusedOp(scale, opts.keyMask ?? null)(q, k, v, bias3);
  }
  const bias = opts.bias ? tf.reshape(opts.bias, [t, 1, h, t]) : tf.zeros([t, 1, h, t]);
  const mask = opts.keyMask ? (tf.reshape(opts.keyMask, [1, w, 1, t]) as tf.Tensor4D) : null;
  return coreOp(w, h, scale, mask)(q, k, v, bias as tf.Tensor4D);
}
