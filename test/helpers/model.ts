/** Tiny DIVD models and inputs for tests. */
import * as tf from '@tensorflow/tfjs';
import { createModel, resolveModelConfig, type DivdModel } from '../../src/model/index.ts';
import { Rng } from '../../src/nn/index.ts';

/** Two levels, 8 channels: fast enough for many forward/backward passes on wasm. */
export function tinyModel(overrides: Record<string, unknown> = {}, seed = 1): DivdModel {
  const config = resolveModelConfig({
    frames: 2,
    baseChannels: 8,
    channelMults: [1, 2],
    resBlocks: 1,
    windows: [3, 2],
    headChannels: 4,
    groups: 4,
    ...overrides,
  });
  return createModel(config, seed);
}

/**
 * Adds N(0, std²) to every parameter. Zero-initialised residual outputs (attention out projection,
 * the ResBlocks' second conv, the output conv) make a fresh model blind to whatever feeds them, so
 * tests about what those parts do start from a perturbed model.
 */
export function perturb(model: DivdModel, seed: number, std = 0.2): void {
  const rng = new Rng(seed);
  for (const v of model.params.variables()) {
    const noise = new Float32Array(v.size);
    for (let i = 0; i < noise.length; i++) noise[i] = rng.normal() * std;
    const next = tf.tidy(() => tf.add(v, tf.tensor(noise, v.shape)));
    v.assign(next);
    next.dispose();
  }
}

export function randomImages(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal();
  return tf.tensor4d(data, shape);
}

/** Reorders the images of each F-frame sequence: image s·F + f of the result is image s·F + perm[f]. */
export function permuteFrames(x: tf.Tensor4D, frames: number, perm: number[]): tf.Tensor4D {
  const idx: number[] = [];
  for (let s = 0; s < x.shape[0] / frames; s++) for (const f of perm) idx.push(s * frames + f);
  return tf.gather(x, tf.tensor1d(idx, 'int32')) as tf.Tensor4D;
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

export function maxAbs(a: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0]!);
}
