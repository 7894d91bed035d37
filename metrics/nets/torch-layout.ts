/**
 * Turning PyTorch state_dict tensors into tfjs ones: conv kernels go from torch's [Co, Ci, kh, kw] to tfjs's
 * [kh, kw, Ci, Co] (NHWC convolution), and BatchNorm is folded into the preceding bias-free conv for
 * inference: w' = w·γ/√(σ²+ε) per output channel, b' = β − μ·γ/√(σ²+ε).
 */
import * as tf from '@tensorflow/tfjs';
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
