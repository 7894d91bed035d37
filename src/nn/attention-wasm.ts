/**
 * The fused attention kernels as two tfjs kernels of the wasm backend, running on its heap:
 * `DivdAttention` (q, k, v, bias[, mask] → out, P) and `DivdAttentionGrad` (q, k, v, out, dy, P →
 * dq, dk, dv, dbias). Outputs are made with the backend's own allocator, so tf owns, counts and frees
 * them like any other tensor. They run on the calling thread and, with more than one wasm thread, on helper
 * threads (./kernel-threads.ts) while XNNPACK's pool is idle.
 */
import * as tf from '@tensorflow/tfjs';
import { attentionModule } from './attention-kernel.ts';
import type { AttentionModule } from './attention-kernel.ts';
import { attentionBackward, attentionForward, kernelsSupport, paddedTokens } from './attention-slices.ts';
import type { AttentionDims, KernelHeap } from './attention-slices.ts';
import { helperThreads, type KernelThreads } from './kernel-threads.ts';
import { onBackendHeap } from './wasm-heap.ts';

const FORWARD = 'DivdAttention';
const BACKWARD = 'DivdAttentionGrad';

let registered = false;

const kernelsOnHeap = onBackendHeap<{ module: AttentionModule; threads: KernelThreads | null }>((memory) => {
  const module = attentionModule(memory);
  // With the threaded backend, helpers run slices while XNNPACK's pool is idle.
  const threads = helperThreads(module.module, memory);
  // Once per process: the kernel functions look up the current backend's module on every call.
  if (!registered) registerKernels();
  registered = true;
  return { module, threads };
});

/** The slice drivers' view of the heap: memory, kernels, scratch, helper threads. */
function sliceHeap(): KernelHeap {
  const k = kernelsOnHeap()!;
  return { memory: k.heap.memory, kernels: k.kernels.module, scratch: k.heap.scratch, threads: k.kernels.threads };
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
  return enabled && tf.getBackend() === 'wasm' && kernelsSupport(d) && kernelsOnHeap() !== null;
}

function dimsOf(q: tf.TensorInfo): AttentionDims {
  const [windows, tokens, heads, dim] = q.shape as [number, number, number, number];
  return { windows, tokens, heads, dim };
}

function registerKernels(): void {
  tf.registerKernel({
    kernelName: FORWARD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const h = kernelsOnHeap()!.heap;
      const { q, k, v, bias, mask } = inputs as Record<string, tf.TensorInfo | undefined>;
      const d = dimsOf(q!);
      const out = h.output([...q!.shape]);
      const p = h.output([d.windows, d.heads, d.tokens, paddedTokens(d.tokens)]);
      const ptrs = {
        q: h.address(q!), k: h.address(k!), v: h.address(v!), bias: h.address(bias!),
        mask: mask ? h.address(mask) : 0, out: h.address(out), p: h.address(p),
      };
      attentionForward(sliceHeap(), d, ptrs, (attrs as { scale: number }).scale);
      return [out, p];
    },
  });
  tf.registerKernel({
    kernelName: BACKWARD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const h = kernelsOnHeap()!.heap;
      const { q, k, v, out, dy, p } = inputs as Record<string, tf.TensorInfo>;
      const d = dimsOf(q!);
      const [dq, dk, dv] = [0, 1, 2].map(() => h.output([...q!.shape]));
      const dbias = h.output([d.tokens, d.heads, d.tokens]);
      const ptrs = {
        q: h.address(q!), k: h.address(k!), v: h.address(v!), out: h.address(out!), dy: h.address(dy!), p: h.address(p!),
        dq: h.address(dq!), dk: h.address(dk!), dv: h.address(dv!), dbias: h.address(dbias),
      };
      attentionBackward(sliceHeap(), d, ptrs, (attrs as { scale: number }).scale);
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
