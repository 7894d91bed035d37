/**
 * convBiasRelu, the layer of every metric network: on wasm it runs divd's conv kernel with explicit pads,
 * elsewhere tf.fused.conv2d. Both must equal tf.fused.conv2d on the cpu backend for TF 'same' (stride 1 and
 * 2, odd and even sizes), 'valid', torch's symmetric padding, rectangular kernels, and output channel counts
 * the kernel does not take (the fallback).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { convBiasRelu, type ConvPadding } from '../metrics/nets/torch-layout.ts';
import { Rng } from '../src/nn/index.ts';
import { useBackend } from './helpers/backends.ts';

function randn(shape: number[], seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale);
}

interface Case {
  x: [number, number, number, number];
  k: [number, number];
  co: number;
  stride: number;
  padding: ConvPadding;
}

const CASES: Case[] = [
  { x: [2, 9, 7, 5], k: [3, 3], co: 8, stride: 1, padding: 'same' },
  { x: [1, 10, 9, 6], k: [3, 3], co: 12, stride: 2, padding: 'same' },
  { x: [1, 11, 11, 3], k: [3, 3], co: 32, stride: 2, padding: 'valid' },
  { x: [2, 8, 8, 4], k: [1, 7], co: 16, stride: 1, padding: 'same' },
  { x: [1, 17, 15, 3], k: [5, 5], co: 8, stride: 4, padding: 2 },
  { x: [2, 6, 6, 8], k: [1, 1], co: 4, stride: 1, padding: 'valid' },
  { x: [2, 6, 5, 4], k: [3, 3], co: 6, stride: 1, padding: 1 }, // 6 output channels: tf.fused.conv2d
];

async function run(backend: 'wasm' | 'cpu', c: Case, seed: number, reference: boolean): Promise<{ shape: number[]; values: Float32Array }> {
  await useBackend(backend);
  const [kh, kw] = c.k;
  const ci = c.x[3];
  const x = tf.tensor4d(randn(c.x, seed), c.x);
  const p = { kernel: tf.tensor4d(randn([kh, kw, ci, c.co], seed + 1, 0.3), [kh, kw, ci, c.co]), bias: tf.tensor1d(randn([c.co], seed + 2, 0.5)) };
  const pad =
    typeof c.padding === 'number'
      ? ([[0, 0], [c.padding, c.padding], [c.padding, c.padding], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]])
      : c.padding;
  const y = reference
    ? tf.fused.conv2d({ x, filter: p.kernel, strides: c.stride, pad, bias: p.bias, activation: 'relu' })
    : convBiasRelu(x, p, c.stride, c.padding);
  const out = { shape: y.shape, values: y.dataSync() as Float32Array };
  tf.dispose([x, p.kernel, p.bias, y]);
  return out;
}

describe('convBiasRelu (metric networks)', () => {
  for (const [i, c] of CASES.entries()) {
    it(`x ${c.x} kernel ${c.k} -> ${c.co}, stride ${c.stride}, padding ${c.padding}: equals tf.fused.conv2d on cpu`, async () => {
      const want = await run('cpu', c, 10 * i, true);
      for (const backend of ['wasm', 'cpu'] as const) {
        const got = await run(backend, c, 10 * i, false);
        assert.deepEqual(got.shape, want.shape, backend);
        let worst = 0;
        let scale = 0;
        for (let j = 0; j < want.values.length; j++) {
          worst = Math.max(worst, Math.abs(got.values[j]! - want.values[j]!));
          scale = Math.max(scale, Math.abs(want.values[j]!));
        }
        assert.ok(scale > 0, 'the reference is not all zeros');
        assert.ok(worst <= 1e-5 * scale, `${backend}: max |diff| ${worst} vs scale ${scale}`);
      }
    });
  }
});
