/**
 * divd's generated conv kernels as tfjs kernels of the wasm backend, on its heap (./wasm-heap.ts):
 * - `DivdConv2D` (xPadded [N,Hp,Wp,Ci], w [kh,kw,Ci,Co]; stride) → [N,Ho,Wo,Co], a VALID conv
 *   (./conv-forward-kernel.ts): the forward conv and the input gradient;
 * - `DivdConvFilterGrad` (xPadded, dy [N,Ho,Wo,Co]; kh, kw, stride) → dW [kh,kw,Ci,Co]
 *   (./conv-filter-kernel.ts).
 * With more than one wasm thread the output rows are split between the caller and helper threads
 * (./kernel-threads.ts): the conv's threads write disjoint rows of the output, the filter gradient's each
 * sum into their own dW, added up at the end.
 */
import * as tf from '@tensorflow/tfjs';
import { convForwardModule } from './conv-forward-kernel.ts';
import { filterGradModule, filterGradSupported } from './conv-filter-kernel.ts';
import { rowsCall, runRows, type ConvDims, type RowsModule } from './conv-rows.ts';
import { helperThreads, rangeBounds, runSplit, type KernelThreads } from './kernel-threads.ts';
import { onBackendHeap, type BackendHeap } from './wasm-heap.ts';

const CONV = 'DivdConv2D';
const FILTER_GRAD = 'DivdConvFilterGrad';
const FLIP_SWAP = 'DivdFlipSwap';
/** Output rows per thread below which a helper costs more than it saves. */
const MIN_ROWS_PER_THREAD = 4;

interface Kernel {
  rows: RowsModule;
  threads: KernelThreads | null;
}

function withThreads(rows: RowsModule, memory: WebAssembly.Memory): Kernel {
  return { rows, threads: helperThreads(rows.module, memory) };
}

function dims(xs: readonly number[], ks: readonly number[], co: number, stride: number): ConvDims {
  const [n, hp, wp, ci] = xs as [number, number, number, number];
  const [kh, kw] = ks as [number, number];
  return { n, hp, wp, ci, co, kh, kw, stride, ho: Math.floor((hp - kh) / stride) + 1, wo: Math.floor((wp - kw) / stride) + 1 };
}

/** Row bounds of each thread's share of `rows`. */
function shares(k: Kernel, rows: number): number[] {
  return rangeBounds(rows, k.threads ? Math.max(1, Math.min(k.threads.size, Math.floor(rows / MIN_ROWS_PER_THREAD))) : 1);
}

/** Runs share 0 here and the others on the helpers; `call(i)` gives share i's driver call. */
function runShares(k: Kernel, bounds: number[], call: (i: number) => ReturnType<typeof rowsCall>): void {
  const { name } = call(0);
  runSplit(k.threads, name, (...args) => runRows(k.rows, { name, args }), bounds.length - 1, (i) => call(i).args);
}

function conv(heap: BackendHeap, k: Kernel, x: tf.TensorInfo, w: tf.TensorInfo, stride: number): tf.TensorInfo {
  const d = dims(x.shape, w.shape, w.shape[3]!, stride);
  const out = heap.output([d.n, d.ho, d.wo, d.co]);
  const [px, pw, po] = [heap.address(x), heap.address(w), heap.address(out)];
  const bounds = shares(k, d.n * d.ho);
  runShares(k, bounds, (i) => rowsCall(d, px, pw, po, bounds[i]!, bounds[i + 1]!));
  return out;
}

function filterGrad(heap: BackendHeap, k: Kernel, x: tf.TensorInfo, dy: tf.TensorInfo, a: { kh: number; kw: number; stride: number }): tf.TensorInfo {
  const d = dims(x.shape, [a.kh, a.kw], dy.shape[3]!, a.stride);
  const dw = heap.output([a.kh, a.kw, d.ci, d.co]);
  const size = a.kh * a.kw * d.ci * d.co;
  const bounds = shares(k, d.n * d.ho);
  const parts = bounds.length - 1;
  // Helper i sums into partial i of a scratch block; the caller into dw itself.
  const partials = parts > 1 ? heap.scratch((parts - 1) * size * 4) : 0;
  const [px, pdy, pdw] = [heap.address(x), heap.address(dy), heap.address(dw)];
  new Float32Array(heap.memory.buffer, pdw, size).fill(0);
  if (parts > 1) new Float32Array(heap.memory.buffer, partials, (parts - 1) * size).fill(0);
  runShares(k, bounds, (i) => rowsCall(d, px, pdy, i === 0 ? pdw : partials + (i - 1) * size * 4, bounds[i]!, bounds[i + 1]!));
  const f32 = new Float32Array(heap.memory.buffer);
  for (let p = 0; p < parts - 1; p++) {
    const src = (partials >> 2) + p * size;
    for (let i = 0; i < size; i++) f32[(pdw >> 2) + i] += f32[src + i]!;
  }
  return dw;
}

/** w [kh,kw,Ci,Co] → [kh,kw,Co,Ci] flipped in space: out[t][o][i] = w[taps−1−t][i][o]. */
function flipSwap(heap: BackendHeap, w: tf.TensorInfo): tf.TensorInfo {
  const [kh, kw, ci, co] = w.shape as [number, number, number, number];
  const out = heap.output([kh, kw, co, ci]);
  const f32 = new Float32Array(heap.memory.buffer); // after output(): the heap may have grown
  const [src, dst, taps] = [heap.address(w) >> 2, heap.address(out) >> 2, kh * kw];
  for (let t = 0; t < taps; t++) {
    const s = src + (taps - 1 - t) * ci * co;
    const d = dst + t * co * ci;
    for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) f32[d + o * ci + i] = f32[s + i * co + o]!;
  }
  return out;
}

let registered = false;

const kernelsOnHeap = onBackendHeap<{ conv: Kernel; filterGrad: Kernel }>((memory) => {
  const bound = { conv: withThreads(convForwardModule(memory), memory), filterGrad: withThreads(filterGradModule(memory), memory) };
  // Once per process: the kernel functions look up the current backend's modules on every call.
  if (!registered) registerKernels();
  registered = true;
  return bound;
});

function registerKernels(): void {
  tf.registerKernel({
    kernelName: CONV,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const { heap, kernels } = kernelsOnHeap()!;
      const { x, w } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo };
      return conv(heap, kernels.conv, x, w, (attrs as unknown as { stride: number }).stride);
    },
  });
  tf.registerKernel({
    kernelName: FILTER_GRAD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const { heap, kernels } = kernelsOnHeap()!;
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      return filterGrad(heap, kernels.filterGrad, x, dy, attrs as unknown as { kh: number; kw: number; stride: number });
    },
  });
  tf.registerKernel({
    kernelName: FLIP_SWAP,
    backendName: 'wasm',
    kernelFunc: ({ inputs }) => flipSwap(kernelsOnHeap()!.heap, inputs['w'] as tf.TensorInfo),
  });
}

const enabled = { conv: true, filterGrad: true };

/** Turns the conv kernel off (or back on) for this process, for side-by-side benchmarks and tests. */
export function setFusedConv(on: boolean): void {
  enabled.conv = on;
}

/** Turns the filter-gradient kernel off (or back on) for this process. */
export function setFusedFilterGrad(on: boolean): void {
  enabled.filterGrad = on;
}

/** True when fusedConv runs for this kernel (wasm, output channels a multiple of 4, not turned off). */
export function fusedConvApplies(w: tf.Tensor4D): boolean {
  return enabled.conv && w.shape[3] % 4 === 0 && kernelsOnHeap() !== null;
}

/**
 * A VALID conv at `stride` of the already padded input, or null where the kernel does not apply (not wasm,
 * output channels not a multiple of 4, turned off): callers then use tf.conv2d.
 */
export function fusedConv(xPadded: tf.Tensor4D, w: tf.Tensor4D, stride: number): tf.Tensor4D | null {
  if (!fusedConvApplies(w)) return null;
  return tf.engine().runKernel(CONV, { x: xPadded, w } as unknown as tf.NamedTensorMap, { stride } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * The input gradient's kernel, w [kh,kw,Ci,Co] flipped in space with in/out swapped ([kh,kw,Co,Ci]), copied
 * on the heap in one pass; null when not on wasm (callers then use tf.reverse and tf.transpose). tfjs-wasm's
 * Reverse and Gather index every element: 1.7–2 ms for a 3x3x64x64 kernel, measured here, a third of the
 * two-thread conv kernel that follows.
 */
export function fusedFlipSwap(w: tf.Tensor4D): tf.Tensor4D | null {
  if (w.dtype !== 'float32' || kernelsOnHeap() === null) return null;
  return tf.engine().runKernel(FLIP_SWAP, { w } as unknown as tf.NamedTensorMap, {}) as tf.Tensor4D;
}

/**
 * dW of a VALID conv at `stride` of the padded input, or null where the kernel does not apply (not wasm,
 * turned off): callers then use their tfjs formulation.
 */
export function fusedFilterGrad(xPadded: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, stride: number): tf.Tensor4D | null {
  const co = dy.shape[3];
  // Output channels are padded with zero gradients to whole f32x4 vectors (the UNet's last conv has 3).
  const co4 = Math.ceil(co / 4) * 4;
  const d = dims(xPadded.shape, [kh, kw], co4, stride);
  if (!enabled.filterGrad || !filterGradSupported(d) || kernelsOnHeap() === null) return null;
  const dy4 = co4 === co ? dy : tf.pad(dy, [[0, 0], [0, 0], [0, 0], [0, co4 - co]]);
  const attrs = { kh, kw, stride };
  const dw = tf.engine().runKernel(FILTER_GRAD, { x: xPadded, dy: dy4 } as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  if (co4 === co) return dw;
  const sliced = tf.slice(dw, [0, 0, 0, 0], [kh, kw, dw.shape[2], co]);
  tf.dispose([dw, dy4]);
  return sliced;
}
