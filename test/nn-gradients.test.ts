import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  addBias,
  conv2d,
  dense,
  gatherRelativeBias,
  gatherRelativeBiasReference,
  groupNorm,
  groupNormReference,
  linear,
  silu,
  upsampleConv3x3,
  upsampleNearest2x,
  windowAttention,
  windowAttentionReference,
} from '../src/nn/index.ts';
import { checkAgainstPlain, inputsFor, type Op } from './helpers/gradcheck.ts';

const TOL = 1e-5;

async function expectMatch(custom: Op, plain: Op, shapes: number[][], seed: number, scale = 1, offset = 0): Promise<void> {
  const r = await checkAgainstPlain(custom, plain, inputsFor(shapes, seed, scale, offset));
  for (const [backend, c] of Object.entries(r)) {
    assert.ok(
      c.worst <= TOL,
      `${backend}: value err ${c.value.toExponential(2)}, grad errs ${c.grads.map((g) => g.toExponential(2)).join(', ')}`,
    );
  }
}

const as4 = (t: tf.Tensor) => t as tf.Tensor4D;
const as2 = (t: tf.Tensor) => t as tf.Tensor2D;
const as1 = (t: tf.Tensor) => t as tf.Tensor1D;

describe('conv2d gradients match tf autodiff on cpu', () => {
  it('3x3 stride 1 same, odd sizes', () =>
    expectMatch((x, w) => conv2d(as4(x), as4(w), 1), (x, w) => tf.conv2d(as4(x), as4(w), 1, 'same'), [[2, 7, 5, 3], [3, 3, 3, 4]], 1));
  it('3x3 stride 2 same (down-sampling)', () =>
    expectMatch((x, w) => conv2d(as4(x), as4(w), 2), (x, w) => tf.conv2d(as4(x), as4(w), 2, 'same'), [[2, 8, 6, 3], [3, 3, 3, 5]], 2));
  it('1x1 with more outputs than inputs', () =>
    expectMatch((x, w) => conv2d(as4(x), as4(w)), (x, w) => tf.conv2d(as4(x), as4(w), 1, 'same'), [[2, 5, 3, 3], [1, 1, 3, 6]], 3));
  it('1x1 with fewer outputs than inputs', () =>
    expectMatch((x, w) => conv2d(as4(x), as4(w)), (x, w) => tf.conv2d(as4(x), as4(w), 1, 'same'), [[2, 5, 3, 6], [1, 1, 6, 2]], 4));
  it('5x5 same', () =>
    expectMatch((x, w) => conv2d(as4(x), as4(w)), (x, w) => tf.conv2d(as4(x), as4(w), 1, 'same'), [[1, 9, 7, 2], [5, 5, 2, 3]], 5));
  it('2x2 same (asymmetric TF padding)', () =>
    expectMatch((x, w) => conv2d(as4(x), as4(w)), (x, w) => tf.conv2d(as4(x), as4(w), 1, 'same'), [[2, 6, 5, 3], [2, 2, 3, 2]], 6));
  it('3x2 valid', () =>
    expectMatch(
      (x, w) => conv2d(as4(x), as4(w), 1, 'valid'),
      (x, w) => tf.conv2d(as4(x), as4(w), 1, 'valid'),
      [[2, 6, 5, 3], [3, 2, 3, 4]],
      7,
    ));
});

describe('dense and bias gradients match', () => {
  it('dense, K < N', () => expectMatch((x, w) => dense(as2(x), as2(w)), (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), [[7, 3], [3, 5]], 10));
  it('dense, K > N', () => expectMatch((x, w) => dense(as2(x), as2(w)), (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), [[7, 5], [5, 3]], 11));
  it('addBias over a 4-D tensor', () => expectMatch((x, b) => addBias(x, as1(b)), (x, b) => tf.add(x, b), [[2, 3, 5, 4], [4]], 12));
  it('linear over [B,T,K] with bias', () =>
    expectMatch(
      (x, w, b) => linear(x, as2(w), as1(b)),
      (x, w, b) => tf.add(tf.reshape(tf.matMul(tf.reshape(x, [15, 4]) as tf.Tensor2D, w as tf.Tensor2D), [3, 5, 6]), b),
      [[3, 5, 4], [4, 6], [6]],
      13,
    ));
});

describe('elementwise and resampling gradients match', () => {
  it('SiLU', () => expectMatch((x) => silu(x), (x) => tf.mul(x, tf.sigmoid(x)), [[3, 7, 5]], 20, 3));
  it('nearest 2x up-sampling (reference: concat + reshape, since cpu ResizeNearestNeighborGrad is wrong for batch > 1)', () =>
    expectMatch(
      (x) => upsampleNearest2x(as4(x)),
      (x) => {
        const [n, h, w, c] = x.shape as number[] as [number, number, number, number];
        const wide = tf.reshape(tf.concat([x, x], 3), [n, h, 2 * w, c]);
        return tf.reshape(tf.concat([wide, wide], 2), [n, 2 * h, 2 * w, c]);
      },
      [[3, 4, 5, 2]],
      21,
    ));
});

describe('up-sampling conv (four 2x2 phase convs) equals nearest 2x + 3x3 same conv, values and gradients', () => {
  // The reference up-samples with concat + reshape (cpu's ResizeNearestNeighborGrad is wrong for batch > 1).
  const upsampleThenConv: Op = (x, w) => {
    const [n, h, wd, c] = x.shape as number[] as [number, number, number, number];
    const wide = tf.reshape(tf.concat([x, x], 3), [n, h, 2 * wd, c]);
    const up = tf.reshape(tf.concat([wide, wide], 2), [n, 2 * h, 2 * wd, c]);
    return tf.conv2d(as4(up), as4(w), 1, 'same');
  };
  it('odd sizes, more outputs than inputs', () => expectMatch((x, w) => upsampleConv3x3(as4(x), as4(w)), upsampleThenConv, [[2, 3, 5, 3], [3, 3, 3, 4]], 25));
  it('one row and column, fewer outputs than inputs', () => expectMatch((x, w) => upsampleConv3x3(as4(x), as4(w)), upsampleThenConv, [[3, 1, 1, 5], [3, 3, 5, 2]], 26));
  it('a non-3x3 kernel is refused', () => {
    assert.throws(() => upsampleConv3x3(tf.zeros([1, 2, 2, 1]) as tf.Tensor4D, tf.zeros([1, 1, 1, 1]) as tf.Tensor4D), /needs a 3x3 kernel, got 1x1/);
  });
});

describe('GroupNorm gradients match', () => {
  const custom: Op = (x, g, b) => groupNorm(as4(x), as1(g), as1(b), 4);
  const plain: Op = (x, g, b) => groupNormReference(as4(x), as1(g), as1(b), 4);
  it('4 groups of 2 channels, odd spatial size', () => expectMatch(custom, plain, [[2, 5, 3, 8], [8], [8]], 30));
  it('one channel per group', () =>
    expectMatch((x, g, b) => groupNorm(as4(x), as1(g), as1(b), 6), (x, g, b) => groupNormReference(as4(x), as1(g), as1(b), 6), [[2, 3, 3, 6], [6], [6]], 31));
  it('inputs with a large common offset (no cancellation)', () => expectMatch(custom, plain, [[2, 4, 4, 8], [8], [8]], 32, 0.5, 20));
});

describe('window attention gradients match (q, k, v, bias)', () => {
  it('with relative bias and a key padding mask, odd token count', async () => {
    const [w, t, h, d] = [3, 10, 2, 4];
    const maskData = new Float32Array(w * t);
    for (let s = 7; s < t; s++) maskData[2 * t + s] = -1e9; // window 2: last three tokens are padding
    const opts = (bias: tf.Tensor) => ({ bias: bias as tf.Tensor3D, keyMask: tf.tensor2d(maskData, [w, t]) });
    await expectMatch(
      (q, k, v, b) => windowAttention(as4(q), as4(k), as4(v), opts(b)),
      (q, k, v, b) => windowAttentionReference(as4(q), as4(k), as4(v), opts(b)),
      [[w, t, h, d], [w, t, h, d], [w, t, h, d], [t, h, t]],
      40,
    );
  });
  it('without bias, one head', () =>
    expectMatch(
      (q, k, v) => windowAttention(as4(q), as4(k), as4(v)),
      (q, k, v) => windowAttentionReference(as4(q), as4(k), as4(v)),
      [[5, 9, 1, 3], [5, 9, 1, 3], [5, 9, 1, 3]],
      41,
    ));
});

describe('relative position bias gather', () => {
  it('gradient accumulates repeated indices like tf.gather', async () => {
    const t = 5;
    const rows = 13;
    const index = new Int32Array(t * t);
    for (let i = 0; i < index.length; i++) index[i] = (i * 7 + 3) % rows;
    await expectMatch((tab) => gatherRelativeBias(as2(tab), index), (tab) => gatherRelativeBiasReference(as2(tab), index), [[rows, 2]], 50);
  });
});
