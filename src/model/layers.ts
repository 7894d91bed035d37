/**
 * The few parameterised layers every block shares (conv with bias, dense with bias, GroupNorm), as
 * parameter records created from a ParamScope plus pure apply functions over src/nn ops.
 */
import * as tf from '@tensorflow/tfjs';
import { addBias, conv2d, groupNorm, groupNormSilu, linear, upsampleConv3x3, type ParamScope } from '../nn/index.ts';
import { groupsFor } from './config.ts';

export interface ConvParams {
  w: tf.Variable; // [k, k, Ci, Co]
  b: tf.Variable; // [Co]
}

export interface DenseParams {
  w: tf.Variable; // [Ci, Co]
  b: tf.Variable | null; // [Co]
}

export interface NormParams {
  gamma: tf.Variable;
  beta: tf.Variable;
  groups: number;
}

/** Biases start at zero (DDPM); `zero` also zeroes the weight, so a residual branch starts as the identity. */
export function createConv(scope: ParamScope, k: number, cin: number, cout: number, zero = false): ConvParams {
  return {
    w: scope.get('w', [k, k, cin, cout], zero ? { kind: 'zeros' } : { kind: 'torchDefault' }),
    b: scope.get('b', [cout], { kind: 'zeros' }),
  };
}

export function createDense(scope: ParamScope, cin: number, cout: number, opts: { zero?: boolean; bias?: boolean } = {}): DenseParams {
  return {
    w: scope.get('w', [cin, cout], opts.zero ? { kind: 'zeros' } : { kind: 'torchDefault' }),
    b: opts.bias === false ? null : scope.get('b', [cout], { kind: 'zeros' }),
  };
}

export function createNorm(scope: ParamScope, channels: number, groups: number): NormParams {
  return {
    gamma: scope.get('gamma', [channels], { kind: 'ones' }),
    beta: scope.get('beta', [channels], { kind: 'zeros' }),
    groups: groupsFor(channels, groups),
  };
}

export function applyConv(p: ConvParams, x: tf.Tensor4D, stride: 1 | 2 = 1): tf.Tensor4D {
  return addBias(conv2d(x, p.w as tf.Tensor4D, stride), p.b as tf.Tensor1D);
}

/** Nearest 2x up-sampling then the block's 3x3 conv, as four phase convs on the low-resolution input. */
export function applyUpsampleConv(p: ConvParams, x: tf.Tensor4D): tf.Tensor4D {
  return addBias(upsampleConv3x3(x, p.w as tf.Tensor4D), p.b as tf.Tensor1D);
}

/** x: [..., Ci] → [..., Co]. */
export function applyDense<T extends tf.Tensor>(p: DenseParams, x: T): T {
  return linear(x, p.w as tf.Tensor2D, (p.b ?? undefined) as tf.Tensor1D | undefined);
}

export function applyNorm(p: NormParams, x: tf.Tensor4D): tf.Tensor4D {
  return groupNorm(x, p.gamma as tf.Tensor1D, p.beta as tf.Tensor1D, p.groups);
}

/** SiLU(GroupNorm(x)) as one op that recomputes the normalised map in its backward (less memory). */
export function applyNormSilu(p: NormParams, x: tf.Tensor4D): tf.Tensor4D {
  return groupNormSilu(x, p.gamma as tf.Tensor1D, p.beta as tf.Tensor1D, p.groups);
}
