/**
 * Slice and SplitV for the tfjs wasm backend that read their input in place.
 *
 * Why: tfjs-backend-wasm 4.22's Slice starts with `backend.readSync(x)`, a copy of the whole input out of
 * the heap, and with the threaded build the heap is a SharedArrayBuffer, whose copy V8 makes element by
 * element: measured here, taking one element of a [8,64,64,32] tensor cost 12 ms. SplitV is Slice once per
 * piece, so the channel-concat gradient of every UNet skip connection paid it two or three times per step.
 * These kernels view the input on the heap (typedArrayFromHeap) and copy only the region asked for.
 */
import * as tf from '@tensorflow/tfjs';

type HeapArray = Float32Array | Int32Array | Uint8Array;

interface WasmBackendSlice {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): HeapArray;
}

/** Runs shorter than this are copied element by element: a subarray per run costs more than the copy. */
const MIN_SET_RUN = 64;

/**
 * Copies the box `begin`..`begin+size` of `x` (row-major, `shape`) into `out`, packed. Trailing axes that
 * are taken whole merge into one contiguous run.
 */
export function copyBox(x: ArrayLike<number> & { subarray?: unknown }, shape: readonly number[], begin: readonly number[], size: readonly number[], out: HeapArray): void {
  const rank = shape.length;
  if (rank === 0) {
    out[0] = x[0]!;
    return;
  }
  // Innermost axis `inner` and below form one run of `run` elements.
  let inner = rank - 1;
  let run = size[inner]!;
  while (inner > 0 && size[inner] === shape[inner] && begin[inner] === 0) {
    inner -= 1;
    run *= size[inner]!;
  }
  const strides = new Array<number>(rank).fill(1);
  for (let a = rank - 2; a >= 0; a--) strides[a] = strides[a + 1]! * shape[a + 1]!;
  let runs = 1;
  for (let a = 0; a < inner; a++) runs *= size[a]!;
  const idx = new Array<number>(inner).fill(0);
  const src = x as HeapArray;
  const useSet = run >= MIN_SET_RUN && typeof src.subarray === 'function';
  let o = 0;
  for (let r = 0; r < runs; r++) {
    let off = begin[inner]! * strides[inner]!;
    for (let a = 0; a < inner; a++) off += (begin[a]! + idx[a]!) * strides[a]!;
    if (useSet) out.set(src.subarray(off, off + run), o);
    else for (let i = 0; i < run; i++) out[o + i] = src[off + i]!;
    o += run;
    for (let a = inner - 1; a >= 0; a--) {
      if (++idx[a]! < size[a]!) break;
      idx[a] = 0;
    }
  }
}

function sliceOnHeap(backend: WasmBackendSlice, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (size.every((s) => s > 0)) copyBox(backend.typedArrayFromHeap(x), x.shape, begin, size, backend.typedArrayFromHeap(out));
  return out;
}

let installed = false;

/** Registers `kernelFunc` for wasm in place of tf's kernel `name`, which still serves string tensors. */
function replaceForNumbers(name: string, own: tf.KernelConfig, kernelFunc: (args: Parameters<tf.KernelFunc>[0], x: tf.TensorInfo) => tf.TensorInfo | tf.TensorInfo[]): void {
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs['x'] as tf.TensorInfo;
      return x.dtype === 'string' ? own.kernelFunc(args) : kernelFunc(args, x);
    },
  });
}

/** Replaces the wasm backend's Slice and SplitV (once per process; strings keep tf's own kernels). */
export function inPlaceSliceOnWasm(): void {
  if (installed || tf.getBackend() !== 'wasm') return;
  const slice = tf.getKernel('Slice', 'wasm');
  const split = tf.getKernel('SplitV', 'wasm');
  if (!slice || !split) return;
  installed = true;
  replaceForNumbers('Slice', slice, (args, x) => {
    const a = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, a.begin, a.size);
    return sliceOnHeap(args.backend as unknown as WasmBackendSlice, x, begin, size);
  });
  replaceForNumbers('SplitV', split, (args, x) => {
    const a = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number | number[] };
    const axis = tf.util.parseAxisParam(a.axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, a.numOrSizeSplits, axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const piece = sliceOnHeap(args.backend as unknown as WasmBackendSlice, x, [...begin], size);
      begin[axis]! += s;
      return piece;
    });
  });
}
