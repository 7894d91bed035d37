/**
 * Runs the attention kernels of ./attention-kernel.ts over every (window, head) slice of q, k, v:
 * [W, T, h, d] float32 tensors that already sit in the kernels' memory. JS prepares what all slices share
 * (the bias rows padded per head, the mask rows padded per window), splits the slices into contiguous
 * ranges (head-major, so a thread keeps to few heads' bias rows) for the caller and its helper threads,
 * and adds up the helpers' partial bias gradients; the wasm slice drivers do everything per slice.
 *
 * Padding: a row of logits has Tp = ⌈T/8⌉·8 entries; the padded ones get a -1e30 bias, so their softmax
 * weight is exactly 0, and Kᵀ/Vᵀ are zero there. The saved probabilities P are [W, h, T, Tp].
 */
import { backwardScratchBytes } from './attention-kernel.ts';
import type { AttentionModule, ColumnVectors } from './attention-kernel.ts';
import { rangeBounds, runSplit, type KernelThreads } from './kernel-threads.ts';

export interface AttentionDims {
  windows: number;
  tokens: number;
  heads: number;
  dim: number;
}

/** The kernels and the memory they run on, plus scratch space in that memory and optional helpers. */
export interface KernelHeap {
  memory: WebAssembly.Memory;
  kernels: AttentionModule;
  /** A 16-byte aligned scratch block of at least `bytes`, valid until the next call. */
  scratch(bytes: number): number;
  /** Helper threads running instances of `kernels.module` on the same memory. */
  threads?: KernelThreads | null;
  /** Multiply-adds per thread below which helpers are not woken (default MIN_WORK_PER_THREAD; tests use 0). */
  minWorkPerThread?: number;
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
/** Multiply-adds per thread below which a helper costs more than it saves (a wake-up is ~10-50 µs). */
const MIN_WORK_PER_THREAD = 2e6;

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/** Contiguous slice ranges, one per thread that is worth waking. */
function split(d: AttentionDims, heap: KernelHeap): number[] {
  const slices = d.windows * d.heads;
  const work = slices * d.tokens * d.tokens * d.dim;
  const byWork = Math.floor(work / Math.max(1, heap.minWorkPerThread ?? MIN_WORK_PER_THREAD));
  return rangeBounds(slices, Math.max(1, Math.min(heap.threads?.size ?? 1, slices, byWork)));
}

function vectors(d: AttentionDims): ColumnVectors {
  return d.dim % 8 === 0 ? 2 : 1;
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
  const tp = paddedTokens(T);
  const bounds = split(d, heap);
  const parts = bounds.length - 1;
  const biasBytes = align16(H * T * tp * 4);
  const maskBytes = align16(W * tp * 4);
  const ktBytes = align16(D * tp * 4);
  const base = heap.scratch(biasBytes + maskBytes + parts * ktBytes);
  const [biasPad, maskPad, kt] = [base, base + biasBytes, base + biasBytes + maskBytes];
  const f32 = new Float32Array(heap.memory.buffer);
  for (let h = 0; h < H; h++) {
    for (let t = 0; t < T; t++) {
      const dst = (biasPad >> 2) + (h * T + t) * tp;
      const src = (ptr.bias >> 2) + (t * H + h) * T;
      f32.set(f32.subarray(src, src + T), dst);
      f32.fill(PAD_LOGIT, dst + T, dst + tp);
    }
  }
  f32.fill(0, maskPad >> 2, (maskPad + maskBytes) >> 2);
  if (ptr.mask) for (let w = 0; w < W; w++) f32.set(f32.subarray((ptr.mask >> 2) + w * T, (ptr.mask >> 2) + (w + 1) * T), (maskPad >> 2) + w * tp);
  f32.fill(0, kt >> 2, (kt + parts * ktBytes) >> 2);
  const v = vectors(d);
  runSplit(heap.threads, `fwd_v${v}`, heap.kernels.forward[v], parts, (i) => [
    ptr.q, ptr.k, ptr.v, biasPad, maskPad, ptr.out, ptr.p, W, T, H, D, scale, bounds[i]!, bounds[i + 1]!, kt + i * ktBytes,
  ]);
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
  const tp = paddedTokens(T);
  const bounds = split(d, heap);
  const parts = bounds.length - 1;
  const dbBytes = align16(H * T * tp * 4);
  const own = align16(backwardScratchBytes(T, D));
  const base = heap.scratch(parts * (dbBytes + own));
  const dbPad = (i: number) => base + i * dbBytes;
  const scratch = (i: number) => base + parts * dbBytes + i * own;
  const f32 = new Float32Array(heap.memory.buffer);
  f32.fill(0, base >> 2, (base + parts * (dbBytes + own)) >> 2);
  const v = vectors(d);
  runSplit(heap.threads, `bwd_v${v}`, heap.kernels.backward[v], parts, (i) => [
    ptr.q, ptr.k, ptr.v, ptr.out, ptr.dy, ptr.p, ptr.dq, ptr.dk, ptr.dv, dbPad(i), W, T, H, D, scale, bounds[i]!, bounds[i + 1]!, scratch(i),
  ]);
  // dbias[t, h, s] = Σ over the threads' partials of dbPad[h][t][s].
  const out = ptr.dbias >> 2;
  for (let h = 0; h < H; h++) {
    for (let t = 0; t < T; t++) {
      const dst = out + (t * H + h) * T;
      const src0 = (dbPad(0) >> 2) + (h * T + t) * tp;
      f32.set(f32.subarray(src0, src0 + T), dst);
      for (let i = 1; i < parts; i++) {
        const src = (dbPad(i) >> 2) + (h * T + t) * tp;
        for (let s = 0; s < T; s++) f32[dst + s] += f32[src + s]!;
      }
    }
  }
}
