/**
 * The conv filter-gradient kernel (./conv-filter-kernel.ts) as the tfjs kernel `DivdConvFilterGrad` of the
 * wasm backend: (xPadded [N,Hp,Wp,Ci], dy [N,Ho,Wo,Co]; kh, kw, stride) → dW [kh,kw,Ci,Co]. With more than
 * one wasm thread the output rows are split between the caller and helper threads (./kernel-threads.ts),
 * each summing into its own dW, added up at the end.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { filterGradCall, filterGradModule, filterGradSupported } from './conv-filter-kernel.ts';
import type { FilterGradDims, FilterGradModule } from './conv-filter-kernel.ts';
import { KernelThreads } from './kernel-threads.ts';
import { isShared, onBackendHeap, type BackendHeap } from './wasm-heap.ts';

const KERNEL = 'DivdConvFilterGrad';

interface Attrs {
  kh: number;
  kw: number;
  stride: number;
}

interface Bound {
  fg: FilterGradModule;
  threads: KernelThreads | null;
}

const kernelsOnHeap = onBackendHeap<Bound>((memory) => {
  const fg = filterGradModule(memory);
  const helpers = isShared(memory) ? getThreadsCount() - 1 : 0;
  const bound: Bound = { fg, threads: helpers > 0 ? new KernelThreads(fg.module, memory, helpers) : null };
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const { heap } = kernelsOnHeap()!;
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const a = attrs as unknown as Attrs;
      const d = dims(x.shape, dy.shape, a);
      const dw = heap.output([a.kh, a.kw, d.ci, d.co]);
      filterGrad(heap, bound, d, heap.address(x), heap.address(dy), heap.address(dw));
      return dw;
    },
  });
  return bound;
});

/** Rows per thread below which splitting costs more than it saves. */
const MIN_ROWS_PER_THREAD = 4;

function filterGrad(heap: BackendHeap, b: Bound, d: FilterGradDims, x: number, dy: number, dw: number): void {
  const size = d.kh * d.kw * d.ci * d.co;
  const rows = d.n * d.ho;
  const parts = b.threads ? Math.max(1, Math.min(b.threads.size, Math.floor(rows / MIN_ROWS_PER_THREAD))) : 1;
  // Helper i sums into partial i of a scratch block; the caller into dw itself.
  const partials = parts > 1 ? heap.scratch((parts - 1) * size * 4) : 0;
  new Float32Array(heap.memory.buffer, dw, size).fill(0);
  if (parts > 1) new Float32Array(heap.memory.buffer, partials, (parts - 1) * size).fill(0);
  const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((i * rows) / parts));
  const own = filterGradCall(d, x, dy, dw, bounds[0]!, bounds[1]!);
  const runOwn = () => b.fg.rows[own.name === 'rows_2' ? '2' : '1'](...own.args);
  if (parts === 1) {
    runOwn();
    return;
  }
  const helperCalls = Array.from({ length: parts - 1 }, (_, i) => filterGradCall(d, x, dy, partials + i * size * 4, bounds[i + 1]!, bounds[i + 2]!).args);
  b.threads!.run(own.name, helperCalls, runOwn);
  const f32 = new Float32Array(heap.memory.buffer);
  const out = dw >> 2;
  for (let p = 0; p < parts - 1; p++) {
    const src = (partials >> 2) + p * size;
    for (let i = 0; i < size; i++) f32[out + i] += f32[src + i]!;
  }
}

let enabled = true;

/** Turns the kernel off (or back on) for this process, for side-by-side benchmarks and tests. */
export function setFusedFilterGrad(on: boolean): void {
  enabled = on;
}

function dims(xs: number[], dys: number[], a: Attrs): FilterGradDims {
  const [n, hp, wp, ci] = xs as [number, number, number, number];
  const [, ho, wo, co] = dys as [number, number, number, number];
  return { n, hp, wp, ci, ho, wo, co, kh: a.kh, kw: a.kw, stride: a.stride };
}

/**
 * dW of a VALID conv at `stride` of the padded input, or null where the kernel does not apply (not wasm,
 * turned off): callers then use their tfjs formulation.
 */
export function fusedFilterGrad(xPadded: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, stride: number): tf.Tensor4D | null {
  const attrs: Attrs = { kh, kw, stride };
  const co = dy.shape[3];
  // Output channels are padded with zero gradients to whole f32x4 vectors (the UNet's last conv has 3).
  const co4 = Math.ceil(co / 4) * 4;
  const dyShape: [number, number, number, number] = [dy.shape[0], dy.shape[1], dy.shape[2], co4];
  if (!enabled || !filterGradSupported(dims(xPadded.shape, dyShape, attrs)) || kernelsOnHeap() === null) return null;
  const dy4 = co4 === co ? dy : tf.pad(dy, [[0, 0], [0, 0], [0, 0], [0, co4 - co]]);
  const dw = tf.engine().runKernel(KERNEL, { x: xPadded, dy: dy4 } as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  if (co4 === co) return dw;
  const sliced = tf.slice(dw, [0, 0, 0, 0], [kh, kw, dw.shape[2], co]);
  tf.dispose([dw, dy4]);
  return sliced;
}
