/**
 * A typed wrapper over tf.customGrad, and the few helpers every custom gradient here shares.
 * All custom gradients use only ops that are fast on wasm (plain conv2d, depthwise conv, 2-D matMul
 * without transpose flags, avgPool, rank <= 4 transposes); see wasm-perf.md.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedFilterGrad } from './conv-wasm.ts';

type Saver = (tensors: tf.Tensor[]) => void;

let identityShared = false;

/**
 * Makes tf's Identity kernel on wasm share its input's buffer (as Reshape does, and as the cpu backend's
 * Identity does) instead of copying it. tf clones every tensor a gradient saves, a custom op's `save` and
 * every recorded kernel's saved inputs and outputs alike, and the wasm kernel's clone is a full copy: the
 * forward pass held each saved activation twice (a training step of the reference UNet peaked at 1.9 GB of
 * live tensors, half of them copies). Buffers are never written in place once made, so sharing is safe.
 */
export function shareIdentityOnWasm(): void {
  if (identityShared || tf.getBackend() !== 'wasm') return;
  identityShared = true;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs['x'] as tf.TensorInfo;
      (backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}

let releaseDepth = 0;

/**
 * Runs `fn` (a whole forward + backward, such as tf.variableGrads over a loss) so that each custom op frees
 * its incoming gradient and its saved tensors as soon as its own backward has run. tf's backprop otherwise
 * keeps every gradient and every saved activation until the whole backward pass ends, so the peak is all
 * activations plus all their gradients. Only for callers that own no tensor reaching a custom op as its
 * incoming gradient (tf.grads with an explicit dy does); nothing else may read those tensors afterwards.
 */
export function withEarlyRelease<T>(fn: () => T): T {
  releaseDepth += 1;
  try {
    return fn();
  } finally {
    releaseDepth -= 1;
  }
}

function runBackward<O extends tf.Tensor>(backward: (dy: O, saved: tf.Tensor[]) => tf.Tensor[], dy: O, saved: tf.Tensor[]): tf.Tensor[] {
  // tf runs a custom gradient outside any tidy, so without one here every temporary of every backward
  // (transposed inputs, flipped kernels, ...) would live until the whole backward pass ends.
  const grads = tf.tidy(() => backward(dy, saved));
  if (releaseDepth > 0) {
    // A gradient passed straight through (e.g. addBias's dx = dy) must survive; the rest is read only here.
    const returned = new Set<tf.Tensor>(grads);
    for (const t of [dy, ...saved]) if (!returned.has(t)) t.dispose();
  }
  return grads;
}

/**
 * Defines an op with an explicit gradient. `forward(inputs, save)` returns the value;
 * `backward(dy, saved)` returns one gradient per input, in order.
 */
export function withGrad<I extends tf.Tensor[], O extends tf.Tensor>(
  forward: (inputs: I, save: Saver) => O,
  backward: (dy: O, saved: tf.Tensor[]) => tf.Tensor[],
): (...inputs: I) => O {
  const op = tf.customGrad(((...args: (tf.Tensor | Saver)[]) => {
    const save = args[args.length - 1] as Saver;
    const inputs = args.slice(0, -1) as I;
    return { value: forward(inputs, save), gradFunc: (dy: O, saved: tf.Tensor[]) => runBackward(backward, dy, saved) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (...inputs: I) => {
    shareIdentityOnWasm();
    return op(...inputs) as O;
  };
}

/** A divisor of k between 16 and 512 (the largest up to 256 first), or null. */
function pixelsPerRow(k: number): number | null {
  for (let c = 256; c >= 16; c--) if (k % c === 0) return c;
  for (let c = 257; c <= 512; c++) if (k % c === 0) return c;
  return null;
}

/**
 * dW = aᵀ·b for a: [K, M], b: [K, N]. On wasm this is the conv filter-gradient kernel with a 1x1 kernel
 * (K folded into rows of 16–512 "pixels", split over threads): tf's matMul repacks the long-K operand as
 * XNNPACK weights on every call, and the transposes it needs cost as much again. Elsewhere, or for shapes
 * the kernel does not take, a plain matMul without a transpose flag (flags drop wasm to a scalar loop):
 * transpose the smaller operand (wasm-perf.md: on [8192,64]→192 this is 2x faster than the other way).
 */
export function matMulTN(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const [k, m] = a.shape;
  const [, n] = b.shape;
  const c = pixelsPerRow(k);
  if (c !== null) {
    const fused = fusedFilterGrad(tf.reshape(a, [1, k / c, c, m]), tf.reshape(b, [1, k / c, c, n]), 1, 1, 1);
    if (fused) return tf.reshape(fused, [m, n]);
  }
  return m <= n ? tf.matMul(tf.transpose(a), b) : (tf.transpose(tf.matMul(tf.transpose(b), a)) as tf.Tensor2D);
}

/** Sum over rows of x: [M, C] → [C], as a ones-row matMul (reductions over axis 0 transpose first on wasm). */
export function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  const ones = tf.ones([1, x.shape[0]]) as tf.Tensor2D;
  return tf.reshape(tf.matMul(ones, x), [x.shape[1]]) as tf.Tensor1D;
}

/** True on backends with native, fast gradient kernels, where tf's own autodiff is the better choice. */
export function nativeGradients(): boolean {
  const b = tf.getBackend();
  return b === 'tensorflow' || b === 'webgpu' || b === 'webgl';
}
