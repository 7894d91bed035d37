/** Seeded Gaussian noise: values made in JS by src/nn's Rng, so a seed gives the same noise on every backend. */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../nn/index.ts';

export function randn(shape: number[], rng: Rng): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal();
  return tf.tensor(data, shape, 'float32');
}

export function randn4d(shape: [number, number, number, number], rng: Rng): tf.Tensor4D {
  return randn(shape, rng) as tf.Tensor4D;
}
