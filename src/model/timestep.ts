/**
 * Timestep embedding (DDPM): sinusoidal features of t, computed in float64 in JS, then a two-layer
 * MLP (dense → SiLU → dense) to 4·base channels that every ResBlock projects and adds.
 */
import * as tf from '@tensorflow/tfjs';
import { silu, type ParamScope } from '../nn/index.ts';
import { applyDense, createDense, type DenseParams } from './layers.ts';

/**
 * [N, dim]: [sin(t·ω_0..ω_{h−1}), cos(t·ω_0..ω_{h−1})] with ω_i = 10000^(−i/(h−1)), h = dim/2
 * (DDPM's get_timestep_embedding; an odd dim gets a zero last column).
 */
export function sinusoidalEmbedding(t: ArrayLike<number>, dim: number): tf.Tensor2D {
  const half = Math.floor(dim / 2);
  const step = half > 1 ? Math.log(10000) / (half - 1) : 0;
  const out = new Float32Array(t.length * dim);
  for (let n = 0; n < t.length; n++) {
    for (let i = 0; i < half; i++) {
      const angle = t[n]! * Math.exp(-step * i);
      out[n * dim + i] = Math.sin(angle);
      out[n * dim + half + i] = Math.cos(angle);
    }
  }
  return tf.tensor2d(out, [t.length, dim]);
}

export interface TimeEmbeddingParams {
  dim: number;
  dense0: DenseParams;
  dense1: DenseParams;
}

export function createTimeEmbedding(scope: ParamScope, dim: number, out: number): TimeEmbeddingParams {
  return { dim, dense0: createDense(scope.scope('dense0'), dim, out), dense1: createDense(scope.scope('dense1'), out, out) };
}

/** t: one timestep per image → [N, 4·base]. */
export function applyTimeEmbedding(p: TimeEmbeddingParams, t: ArrayLike<number>): tf.Tensor2D {
  const h = applyDense(p.dense0, sinusoidalEmbedding(t, p.dim));
  return applyDense(p.dense1, silu(h));
}
