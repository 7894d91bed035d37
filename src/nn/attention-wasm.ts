/**
 * The fused attention kernels as two tfjs kernels of the wasm backend, running on its heap:
 * `DivdAttention` (q, k, v, bias[, mask] → out, P) and `DivdAttentionGrad` (q, k, v, out, dy, P →
 * dq, dk, dv, dbias). Outputs are made with the backend's own allocator, so tf owns, counts and frees
 * them like any other tensor. They run on the calling thread (XNNPACK's pool is idle meanwhile).
 */
import * as tf from '@tensorflow/tfjs';
import { instantiateAttentionKernels } from './attention-kernel.ts';
import { attentionBackward, attentionForward, kernelsSupport, paddedTokens } from './attention-slices.ts';
import type { AttentionDims, KernelHeap } from './attention-slices.ts';

const FORWARD = 'DivdAttention';
const BACKWARD = 'DivdAttentionGrad';

/** The parts of tfjs-backend-wasm's BackendWasm (and its emscripten module) used here. */
interface WasmBackendLike {
  wasm: { wasmMemory?: WebAssembly.Memory; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

let state: { heap: KernelHeap; backend: WasmBackendLike } | 'unavailable' | null = null;

function scratchAllocator(backend: WasmBackendLike): (bytes: number) => number {
  let ptr = 0;
  let size = 0;
  return (bytes) => {
    if (bytes > size) {
      if (ptr) backend.wasm._free(ptr);
      size = Math.max(bytes, size * 2);
      // malloc aligns to 8; round up to 16 inside a block 16 bytes larger.
      ptr = backend.wasm._malloc(size + 16) >>> 0;
    }
    return (ptr + 15) & ~15;
  };
}

/** Instantiates the kernels on the active wasm backend's heap once; null when that is not possible. */
function ready(): { heap: KernelHeap; backend: WasmBackendLike } | null {
  if (state === 'unavailable') return null;
  if (state) return state;
  const backend = tf.backend() as unknown as WasmBackendLike;
  const memory = backend.wasm?.wasmMemory;
  if (tf.getBackend() !== 'wasm' || !(memory instanceof WebAssembly.Memory)) {
    state = 'unavailable';
    return null;
  }
  try {
    const heap: KernelHeap = { memory, kernels: instantiateAttentionKernels(memory), scratch: scratchAllocator(backend) };
    state = { heap, backend };
    registerKernels();
    return state;
  } catch {
    // A backend whose memory cannot be imported keeps the XNNPACK formulation.
    state = 'unavailable';
    return null;
  }
}

let enabled = true;

/**
 * Turns the fused kernels off (or back on) for this process: benchmarks and tests use it to run the
 * XNNPACK formulation of ./attention.ts side by side.
 */
export function setFusedAttention(on: boolean): void {
  enabled = on;
}

/** True when the fused kernels run on the active backend for these sizes. */
export function fusedAttentionAvailable(d: AttentionDims): boolean {
  return enabled && tf.getBackend() === 'wasm' && kernelsSupport(d) && ready() !== null;
}

function dimsOf(q: tf.TensorInfo): AttentionDims {
  const [windows, tokens, heads, dim] = q.shape as [number, number, number, number];
  return { windows, tokens, heads, dim };
}

function registerKernels(): void {
  const offset = (b: WasmBackendLike, t: tf.TensorInfo): number => b.dataIdMap.get(t.dataId).memoryOffset;
  tf.registerKernel({
    kernelName: FORWARD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as WasmBackendLike;
      const { q, k, v, bias, mask } = inputs as Record<string, tf.TensorInfo | undefined>;
      const d = dimsOf(q!);
      const out = b.makeOutput([...q!.shape], 'float32');
      const p = b.makeOutput([d.windows, d.heads, d.tokens, paddedTokens(d.tokens)], 'float32');
      const ptrs = {
        q: offset(b, q!), k: offset(b, k!), v: offset(b, v!), bias: offset(b, bias!),
        mask: mask ? offset(b, mask) : 0, out: offset(b, out), p: offset(b, p),
      };
      attentionForward((state as { heap: KernelHeap }).heap, d, ptrs, (attrs as { scale: number }).scale);
      return [out, p];
    },
  });
  tf.registerKernel({
    kernelName: BACKWARD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as WasmBackendLike;
      const { q, k, v, out, dy, p } = inputs as Record<string, tf.TensorInfo>;
      const d = dimsOf(q!);
      const [dq, dk, dv] = [0, 1, 2].map(() => b.makeOutput([...q!.shape], 'float32'));
      const dbias = b.makeOutput([d.tokens, d.heads, d.tokens], 'float32');
      const ptrs = {
        q: offset(b, q!), k: offset(b, k!), v: offset(b, v!), out: offset(b, out!), dy: offset(b, dy!), p: offset(b, p!),
        dq: offset(b, dq!), dk: offset(b, dk!), dv: offset(b, dv!), dbias: offset(b, dbias),
      };
      attentionBackward((state as { heap: KernelHeap }).heap, d, ptrs, (attrs as { scale: number }).scale);
      return [dq!, dk!, dv!, dbias];
    },
  });
}

/** Forward: [out, P]; `bias` is [T, h, T], `mask` [W, T] or null. Call only when fusedAttentionAvailable. */
export function fusedAttentionForward(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  bias: tf.Tensor3D,
  mask: tf.Tensor2D | null,
  scale: number,
): [tf.Tensor4D, tf.Tensor4D] {
  const inputs: Record<string, tf.Tensor> = { q, k, v, bias, ...(mask ? { mask } : {}) };
  const [out, p] = tf.engine().runKernel(FORWARD, inputs as unknown as tf.NamedTensorMap, { scale } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return [out as tf.Tensor4D, p as tf.Tensor4D];
}

/** Backward: [dq, dk, dv, dbias]. */
export function fusedAttentionBackward(
  saved: { q: tf.Tensor4D; k: tf.Tensor4D; v: tf.Tensor4D; out: tf.Tensor4D; p: tf.Tensor4D },
  dy: tf.Tensor4D,
  scale: number,
): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor3D] {
  const inputs = { ...saved, dy };
  return tf.engine().runKernel(BACKWARD, inputs as unknown as tf.NamedTensorMap, { scale } as unknown as tf.NamedAttrMap) as [
    tf.Tensor4D,
    tf.Tensor4D,
    tf.Tensor4D,
    tf.Tensor3D,
  ];
}
