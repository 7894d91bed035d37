/**
 * Drives the attention kernels of ./attention-kernel.ts over every (window, head) slice of q, k, v:
 * [W, T, h, d] float32 tensors that already sit in the kernels' memory. The O(T·d) work per slice (packing
 * Kᵀ or Vᵀ, the padded bias rows, the row dot products of the softmax backward, copying dK and dV out) is
 * plain JS on typed-array views; the O(T²·d) products are the kernels, 4 query rows at a time.
 *
 * Padding: a row of logits has Tp = ⌈T/8⌉·8 entries; the padded ones get a -1e30 bias, so their softmax
 * weight is exactly 0, and Kᵀ/Vᵀ are zero there. The saved probabilities P are [W, h, T, Tp].
 */
import type { AttentionKernels, ColumnVectors, RowBlock } from './attention-kernel.ts';

export interface AttentionDims {
  windows: number;
  tokens: number;
  heads: number;
  dim: number;
}

/** The kernels and the memory they run on, plus scratch space in that memory. */
export interface KernelHeap {
  memory: WebAssembly.Memory;
  kernels: AttentionKernels;
  /** A 16-byte aligned scratch block of at least `bytes`, valid until the next call. */
  scratch(bytes: number): number;
}

export function paddedTokens(t: number): number {
  return Math.ceil(t / 8) * 8;
}

/** Bytes of the saved probabilities P. */
export function probabilityBytes(d: AttentionDims): number {
  return d.windows * d.heads * d.tokens * paddedTokens(d.tokens) * 4;
}

/** True when the kernels handle this head size (the n-direction products work in whole f32x4 vectors). */
export function kernelsSupport(d: AttentionDims): boolean {
  return d.dim % 4 === 0 && d.tokens >= 1 && d.windows >= 1 && d.heads >= 1;
}

const PAD_LOGIT = -1e30;

/** Row blocks [start, height] covering T rows: 4 at a time, then single rows. */
function rowBlocks(t: number): [number, RowBlock][] {
  const blocks: [number, RowBlock][] = [];
  let r = 0;
  for (; r + 4 <= t; r += 4) blocks.push([r, 4]);
  for (; r < t; r++) blocks.push([r, 1]);
  return blocks;
}

interface Layout {
  tp: number;
  /** Byte stride between consecutive tokens of one (window, head) slice: h·d floats. */
  rowBytes: number;
  /** Byte offset of slice (w, h) in a [W, T, h, d] tensor. */
  slice(w: number, h: number): number;
  /** Byte offset of slice (w, h) in P. */
  pSlice(w: number, h: number): number;
  vecs: ColumnVectors;
  blocks: [number, RowBlock][];
}

function layout(d: AttentionDims): Layout {
  const tp = paddedTokens(d.tokens);
  return {
    tp,
    rowBytes: d.heads * d.dim * 4,
    slice: (w, h) => ((w * d.tokens * d.heads + h) * d.dim) * 4,
    pSlice: (w, h) => (w * d.heads + h) * d.tokens * tp * 4,
    vecs: d.dim % 8 === 0 ? 2 : 1,
    blocks: rowBlocks(d.tokens),
  };
}

/** dst[e·tp + s] = src[s·rowFloats + e] for s < T, e < d: one slice's Kᵀ (or Vᵀ); padding stays zero. */
function packTransposed(f32: Float32Array, src: number, rowFloats: number, dst: number, t: number, dim: number, tp: number): void {
  for (let s = 0; s < t; s++) {
    const row = src + s * rowFloats;
    for (let e = 0; e < dim; e++) f32[dst + e * tp + s] = f32[row + e]!;
  }
}

export interface ForwardPointers {
  q: number;
  k: number;
  v: number;
  /** [T, h, T]. */
  bias: number;
  /** [W, T], or 0 for none. */
  mask: number;
  out: number;
  p: number;
}

/** out = softmax(scale·q·kᵀ + bias + mask)·v per slice; P saved for the backward. */
export function attentionForward(heap: KernelHeap, d: AttentionDims, ptr: ForwardPointers, scale: number): void {
  const { windows: W, tokens: T, heads: H, dim: D } = d;
  const L = layout(d);
  const tp = L.tp;
  const ktBytes = D * tp * 4;
  const biasBytes = T * tp * 4;
  const base = heap.scratch(ktBytes + biasBytes + tp * 4);
  const [kt, biasPad, maskPad] = [base, base + ktBytes, base + ktBytes + biasBytes];
  const f32 = new Float32Array(heap.memory.buffer);
  f32.fill(0, kt >> 2, (kt + ktBytes) >> 2);
  f32.fill(0, maskPad >> 2, (maskPad >> 2) + tp);
  const K = heap.kernels;
  const rowFloats = L.rowBytes >> 2;
  for (let h = 0; h < H; h++) {
    for (let t = 0; t < T; t++) {
      const dst = (biasPad >> 2) + t * tp;
      f32.set(f32.subarray((ptr.bias >> 2) + (t * H + h) * T, (ptr.bias >> 2) + (t * H + h + 1) * T), dst);
      f32.fill(PAD_LOGIT, dst + T, dst + tp);
    }
    for (let w = 0; w < W; w++) {
      if (ptr.mask) f32.set(f32.subarray((ptr.mask >> 2) + w * T, (ptr.mask >> 2) + (w + 1) * T), maskPad >> 2);
      const s = L.slice(w, h);
      packTransposed(f32, (ptr.k + s) >> 2, rowFloats, kt >> 2, T, D, tp);
      const pb = ptr.p + L.pSlice(w, h);
      for (const [t0, r] of L.blocks) {
        const rows = pb + t0 * tp * 4;
        K.logits[r](ptr.q + s + t0 * L.rowBytes, L.rowBytes, kt, tp * 4, rows, tp * 4, tp, D, scale, biasPad + t0 * tp * 4, tp * 4, maskPad);
        K.softmax(rows, tp * 4, r, tp);
        K.nn[L.vecs][r](rows, tp * 4, ptr.v + s, L.rowBytes, ptr.out + s + t0 * L.rowBytes, L.rowBytes, T, D, 1);
      }
    }
  }
}

export interface BackwardPointers {
  q: number;
  k: number;
  v: number;
  out: number;
  dy: number;
  p: number;
  dq: number;
  dk: number;
  dv: number;
  /** [T, h, T], summed over windows. */
  dbias: number;
}

/**
 * dS = P∘(dy·vᵀ − rowsum(dy∘out)) per slice; dq = scale·dS·k, dk = scale·dSᵀ·q, dv = Pᵀ·dy, dbias = Σ_w dS.
 */
export function attentionBackward(heap: KernelHeap, d: AttentionDims, ptr: BackwardPointers, scale: number): void {
  const { windows: W, tokens: T, heads: H, dim: D } = d;
  const L = layout(d);
  const tp = L.tp;
  const vtBytes = D * tp * 4;
  const padBytes = T * tp * 4;
  const dsBytes = 4 * tp * 4;
  const accBytes = T * D * 4;
  const base = heap.scratch(vtBytes + padBytes + dsBytes + 2 * accBytes + 16);
  const vt = base;
  const dbPad = vt + vtBytes;
  const dS = dbPad + padBytes;
  const dK = dS + dsBytes;
  const dV = dK + accBytes;
  const rd = dV + accBytes;
  const f32 = new Float32Array(heap.memory.buffer);
  f32.fill(0, vt >> 2, (vt + vtBytes) >> 2);
  const K = heap.kernels;
  const rowFloats = L.rowBytes >> 2;
  for (let h = 0; h < H; h++) {
    f32.fill(0, dbPad >> 2, (dbPad + padBytes) >> 2);
    for (let w = 0; w < W; w++) {
      const s = L.slice(w, h);
      packTransposed(f32, (ptr.v + s) >> 2, rowFloats, vt >> 2, T, D, tp);
      f32.fill(0, dK >> 2, (dV + accBytes) >> 2);
      const pb = ptr.p + L.pSlice(w, h);
      for (const [t0, r] of L.blocks) {
        for (let i = 0; i < r; i++) {
          const o = (ptr.out + s) / 4 + (t0 + i) * rowFloats;
          const g = (ptr.dy + s) / 4 + (t0 + i) * rowFloats;
          let acc = 0;
          for (let e = 0; e < D; e++) acc += f32[o + e]! * f32[g + e]!;
          f32[(rd >> 2) + i] = acc;
        }
        const dyRows = ptr.dy + s + t0 * L.rowBytes;
        const pRows = pb + t0 * tp * 4;
        K.dsoft[r](dyRows, L.rowBytes, vt, tp * 4, dS, tp * 4, tp, D, pRows, tp * 4, rd, dbPad + t0 * tp * 4, tp * 4);
        K.nn[L.vecs][r](dS, tp * 4, ptr.k + s, L.rowBytes, ptr.dq + s + t0 * L.rowBytes, L.rowBytes, T, D, scale);
        K.rank[L.vecs][r](dS, tp * 4, ptr.q + s + t0 * L.rowBytes, L.rowBytes, dK, D * 4, T, D);
        K.rank[L.vecs][r](pRows, tp * 4, dyRows, L.rowBytes, dV, D * 4, T, D);
      }
      for (let t = 0; t < T; t++) {
        const o = (s >> 2) + t * rowFloats;
        for (let e = 0; e < D; e++) {
          f32[(ptr.dk >> 2) + o + e] = scale * f32[(dK >> 2) + t * D + e]!;
          f32[(ptr.dv >> 2) + o + e] = f32[(dV >> 2) + t * D + e]!;
        }
      }
    }
    for (let t = 0; t < T; t++) {
      const src = (dbPad >> 2) + t * tp;
      f32.set(f32.subarray(src, src + T), (ptr.dbias >> 2) + (t * H + h) * T);
    }
  }
}
