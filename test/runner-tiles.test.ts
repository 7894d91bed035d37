import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from './helpers/backends.ts';
import { Rng } from '../src/nn/index.ts';
import { predict, createModel, resolveModelConfig, disposeModel } from '../src/model/index.ts';
import { perturb } from './helpers/model.ts';
import { rampWeights, tileStarts, tiledDenoiser } from '../src/runner/tiles.ts';

await useBackend('wasm');

test('tiles cover the frame, overlap by at least the overlap, start on the alignment and end at the border', () => {
  for (const [length, size, overlap, align] of [[100, 32, 8, 4], [720, 256, 32, 8], [64, 64, 16, 2], [50, 80, 8, 2], [97, 33, 5, 1]] as const) {
    const starts = tileStarts(length, size, overlap, align);
    const covered = new Uint8Array(length);
    for (const s of starts) for (let i = s; i < Math.min(length, s + size); i++) covered[i] = 1;
    assert.ok(covered.every((c) => c === 1), `covers ${length}`);
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i - 1]! + size - starts[i]! >= overlap, `overlap ${starts}`);
    if (size < length) {
      assert.equal(starts.at(-1)! + size, length);
      for (const s of starts.slice(0, -1)) assert.equal(s % align, 0);
    } else assert.deepEqual(starts, [0]);
  }
  assert.throws(() => tileStarts(100, 16, 16, 1), /overlap 16 must be smaller than the tile size 16/);
});

test('blend weights are 1 at frame borders and inside, ramp only toward neighbours, and never sum to 0', () => {
  const w = rampWeights(0, 32, 100, 8);
  assert.equal(w[0], 1);
  assert.ok(w[31]! < 0.1 && w[24]! < 1);
  const mid = rampWeights(40, 32, 100, 8);
  assert.ok(mid[0]! < 0.1 && mid[31]! < 0.1 && mid[16] === 1);
  const starts = tileStarts(100, 32, 8, 4);
  const total = new Float32Array(100);
  for (const s of starts) rampWeights(s, 32, 100, 8).forEach((v, i) => (total[s + i]! += v));
  assert.ok(total.every((v) => v > 0.05));
});

test('with a pointwise predictor, tiled prediction equals the whole-frame prediction (the blend is exact)', () => {
  const rng = new Rng(3);
  const r = (shape: [number, number, number, number]) => tf.tensor4d(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()), shape);
  const x = r([4, 40, 56, 3]);
  const cond = r([4, 40, 56, 3]);
  const pointwise = (a: tf.Tensor4D, c: tf.Tensor4D, t: number) => tf.add(tf.mul(a, 0.5 + t / 100), tf.square(c)) as tf.Tensor4D;
  const whole = pointwise(x, cond, 7);
  const tiled = tiledDenoiser(pointwise, cond, { size: 16, overlap: 6, align: 4 })(x, [7]);
  assert.ok(tf.max(tf.abs(tf.sub(whole, tiled))).dataSync()[0]! < 1e-5);
  tf.dispose([x, cond, whole, tiled]);
});

test('with the DIVD model: one tile covering the frame is exact; small tiles stay close to the whole frame', () => {
  const model = createModel(resolveModelConfig({ frames: 4, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, windows: [2, 1], headChannels: 8, groups: 4 }), 1);
  perturb(model, 2); // a fresh model's zero-initialised output layer would predict 0 everywhere
  const rng = new Rng(4);
  const r = (shape: [number, number, number, number]) => tf.tensor4d(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal() * 0.5), shape);
  const x = r([4, 32, 48, 3]);
  const cond = r([4, 32, 48, 3]);
  const run = (xt: tf.Tensor4D, c: tf.Tensor4D, t: number) => predict(model, xt, c, [t]);
  const whole = run(x, cond, 500);
  const one = tiledDenoiser(run, cond, { size: 64, overlap: 8, align: 2 })(x, [500]);
  assert.equal(tf.max(tf.abs(tf.sub(whole, one))).dataSync()[0], 0);
  const small = tiledDenoiser(run, cond, { size: 24, overlap: 8, align: 2 })(x, [500]);
  const diff = tf.mean(tf.abs(tf.sub(whole, small))).dataSync()[0]!;
  const scale = tf.mean(tf.abs(whole)).dataSync()[0]!;
  // GroupNorm statistics and attention windows see only the tile, so tiles differ a little — not wildly.
  assert.ok(diff < 0.25 * scale, `mean |tiled − whole| ${diff} vs mean |whole| ${scale}`);
  tf.dispose([x, cond, whole, one, small]);
  disposeModel(model);
});
