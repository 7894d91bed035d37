/**
 * Turning PyTorch state_dict tensors into tfjs ones: conv kernels go from torch's [Co, Ci, kh, kw] to tfjs's
 * [kh, kw, Ci, Co] (NHWC convolution), and BatchNorm is folded into the preceding bias-free conv for
 * inference: w' = w·γ/√(σ²+ε) per output channel, b' = β − μ·γ/√(σ²+ε).
 */
import * as tf from '@tensorflow/tfjs';
import { fusedConvApplies } from '../../src/nn/conv-wasm.ts';
import { convWithPads } from '../../src/nn/conv.ts';
import { expectTensor, type PthTensor } from '../weights/pth.ts';

export type StateDict = Map<string, PthTensor>;

/** A conv layer ready for tf.conv2d: kernel [kh, kw, Ci, Co] and bias [Co]. */
export interface ConvParams {
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
}

/** torch [Co, Ci, kh, kw] → tfjs [kh, kw, Ci, Co], done on the host so no large tensor goes through tidy. */
export function torchKernelToTf(data: Float32Array, shape: readonly number[], scale?: Float64Array): Float32Array {
  const [co, ci, kh, kw] = shape as [number, number, number, number];
  const out = new Float32Array(data.length);
  for (let o = 0; o < co; o++) {
    const s = scale ? scale[o]! : 1;
    for (let i = 0; i < ci; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) out[((y * kw + x) * ci + i) * co + o] = data[((o * ci + i) * kh + y) * kw + x]! * s;
  }
  return out;
}

/** `<prefix>.weight` [Co, Ci, kh, kw] and `<prefix>.bias` [Co]. */
export function convWithBias(sd: StateDict, prefix: string, shape: [number, number, number, number], label: string): ConvParams {
  const w = expectTensor(sd, `${prefix}.weight`, shape, label);
  const b = expectTensor(sd, `${prefix}.bias`, [shape[0]], label);
  const [co, ci, kh, kw] = shape;
  return { kernel: tf.tensor4d(torchKernelToTf(w.data, shape), [kh, kw, ci, co]), bias: tf.tensor1d(b.data) };
}

/** torchvision BasicConv2d: `<prefix>.conv.weight` (no bias) followed by `<prefix>.bn.*`, folded. */
export function convBnFolded(sd: StateDict, prefix: string, shape: [number, number, number, number], eps: number, label: string): ConvParams {
  const [co, ci, kh, kw] = shape;
  const w = expectTensor(sd, `${prefix}.conv.weight`, shape, label);
  const gamma = expectTensor(sd, `${prefix}.bn.weight`, [co], label).data;
  const beta = expectTensor(sd, `${prefix}.bn.bias`, [co], label).data;
  const mean = expectTensor(sd, `${prefix}.bn.running_mean`, [co], label).data;
  const variance = expectTensor(sd, `${prefix}.bn.running_var`, [co], label).data;
  const scale = new Float64Array(co);
  const bias = new Float32Array(co);
  for (let o = 0; o < co; o++) {
    scale[o] = gamma[o]! / Math.sqrt(variance[o]! + eps);
    bias[o] = beta[o]! - mean[o]! * scale[o]!;
  }
  return { kernel: tf.tensor4d(torchKernelToTf(w.data, shape, scale), [kh, kw, ci, co]), bias: tf.tensor1d(bias) };
}

export function disposeConv(p: ConvParams): void {
  p.kernel.dispose();
  p.bias.dispose();
}

/** Zero padding of a conv: 'same' and 'valid' as in TF, or a number for torch's symmetric `padding=p`. */
export type ConvPadding = 'same' | 'valid' | number;

/** [before, after] zero rows (or columns) for one spatial dimension of size `size`. */
function padsOf(padding: ConvPadding, size: number, k: number, stride: number): [number, number] {
  if (typeof padding === 'number') return [padding, padding];
  if (padding === 'valid') return [0, 0];
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * relu(conv(x, kernel) + bias), the layer every metric network is made of. On wasm it runs divd's conv
 * kernel (src/nn/conv-wasm.ts), which splits over divd's threads on its own: tfjs's fused conv runs on
 * XNNPACK's op pool, which divd keeps at one thread (src/backend/activate.ts), and on that pool the FID
 * Inception took 2590 ms for 8 images of 256² against 1519 ms with a pool of two, measured here.
 * Elsewhere (or for output channels the kernel does not take) tf.fused.conv2d.
 */
export function convBiasRelu(x: tf.Tensor4D, p: ConvParams, stride: number, padding: ConvPadding): tf.Tensor4D {
  const [kh, kw, , co] = p.kernel.shape;
  const [, h, w] = x.shape;
  const [top, bottom] = padsOf(padding, h, kh, stride);
  const [left, right] = padsOf(padding, w, kw, stride);
  if (!fusedConvApplies(p.kernel)) {
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [top, bottom], [left, right], [0, 0]];
    return tf.fused.conv2d({ x, filter: p.kernel, strides: stride, pad, bias: p.bias, activation: 'relu' });
  }
  return tf.tidy(() => {
    const y = convWithPads(x, p.kernel, { top, bottom, left, right }, stride);
    return tf.relu(tf.add(y, tf.reshape(p.bias, [1, 1, 1, co]))) as tf.Tensor4D;
  });
}
