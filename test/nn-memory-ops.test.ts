/**
 * The custom ops that exist to keep a training step's memory down (fused GroupNorm+SiLU with recompute,
 * shape-only ops that save nothing, the window partition/merge pair): values and gradients against tf's
 * autodiff of the plain formulation on cpu (rel. err <= 1e-5), on wasm and on cpu; and the wasm Identity
 * kernel shares buffers, so a saved tensor no longer costs a copy.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  addBroadcast,
  addSame,
  concatChannels,
  groupNormReference,
  groupNormSilu,
  reshape,
  shareIdentityOnWasm,
  withEarlyRelease,
} from '../src/nn/index.ts';
import { mergeWindows, partitionWindows, windowGeometry } from '../src/model/windows.ts';
import { checkAgainstPlain, inputsFor, type Op } from './helpers/gradcheck.ts';
import { useBackend } from './helpers/backends.ts';

const TOL = 1e-5;

async function expectMatch(custom: Op, plain: Op, shapes: number[][], seed: number, scale = 1, offset = 0): Promise<void> {
  const r = await checkAgainstPlain(custom, plain, inputsFor(shapes, seed, scale, offset));
  for (const [backend, c] of Object.entries(r)) {
    assert.ok(c.worst <= TOL, `${backend}: value err ${c.value.toExponential(2)}, grad errs ${c.grads.map((g) => g.toExponential(2)).join(', ')}`);
  }
}

const as4 = (t: tf.Tensor) => t as tf.Tensor4D;
const as3 = (t: tf.Tensor) => t as tf.Tensor3D;
const as1 = (t: tf.Tensor) => t as tf.Tensor1D;
const plainSilu = (z: tf.Tensor) => tf.mul(z, tf.sigmoid(z));

describe('GroupNorm + SiLU (backward recomputes the normalised map)', () => {
  const fused = (groups: number): Op => (x, g, b) => groupNormSilu(as4(x), as1(g), as1(b), groups);
  const plain = (groups: number): Op => (x, g, b) => plainSilu(groupNormReference(as4(x), as1(g), as1(b), groups));
  it('4 groups of 2 channels, odd spatial size', () => expectMatch(fused(4), plain(4), [[2, 5, 3, 8], [8], [8]], 60));
  it('one channel per group', () => expectMatch(fused(6), plain(6), [[2, 3, 3, 6], [6], [6]], 61));
  it('inputs with a large common offset', () => expectMatch(fused(4), plain(4), [[2, 4, 4, 8], [8], [8]], 62, 0.5, 20));
});

describe('shape-only ops that save nothing', () => {
  it('reshape', () => expectMatch((x) => reshape(x, [6, 5, 2]), (x) => tf.reshape(x, [6, 5, 2]), [[3, 2, 10]], 70));
  it('addSame (both inputs receive the gradient)', () => expectMatch((a, b) => addSame(a, b), (a, b) => tf.add(a, b), [[2, 3, 4, 5], [2, 3, 4, 5]], 71));
  it('addSame on one tensor twice accumulates 2·dy', () => expectMatch((a) => addSame(a, a), (a) => tf.add(a, a), [[3, 4]], 72));
  it('addBroadcast, one vector per row of A (per-image time embedding)', () =>
    expectMatch((x, y) => addBroadcast(as4(x), as4(y)), (x, y) => tf.add(x, y), [[3, 1, 7, 4], [3, 1, 1, 4]], 73));
  it('addBroadcast, one vector per B shared by all A (frame positional encoding)', () =>
    expectMatch((x, y) => addBroadcast(as4(x), as4(y)), (x, y) => tf.add(x, y), [[2, 3, 5, 4], [1, 3, 1, 4]], 74));
  it('concatChannels of three tensors', () =>
    expectMatch(
      (a, b, c) => concatChannels([as4(a), as4(b), as4(c)]),
      (a, b, c) => tf.concat([a, b, c], 3),
      [[2, 3, 2, 4], [2, 3, 2, 1], [2, 3, 2, 3]],
      75,
    ));
  it('shape mismatches are refused with the shapes in the message', async () => {
    await useBackend('wasm');
    const x = tf.zeros([2, 3, 4, 5]) as tf.Tensor4D;
    assert.throws(() => addSame(x, tf.zeros([2, 3, 4, 1])), /\[2,3,4,5\] and \[2,3,4,1\]/);
    assert.throws(() => addBroadcast(x, tf.zeros([2, 3, 2, 5]) as tf.Tensor4D), /y must be \[2 or 1, 3, 1, 5\]/);
    assert.throws(() => concatChannels([x, tf.zeros([2, 3, 3, 5]) as tf.Tensor4D]), /does not match/);
    assert.throws(() => reshape(x, [7, 7]), /120 values/);
    tf.dispose(x);
  });
});

describe('window partition and merge are each other’s gradient', () => {
  // 2 sequences x 3 frames of 5x7 with 3x3 windows: H and W are padded (to 6x9), so the padding's
  // gradient (none) is checked as well.
  const g = windowGeometry([6, 5, 7, 2], 3, 3);
  it('partitionWindows (with padding)', () =>
    expectMatch(
      (x) => partitionWindows(as4(x), g),
      (x) => {
        // Plain reference: pad, then gather every window's tokens with tf.slice and stack them.
        const xp = tf.pad(x, [[0, 0], [0, 1], [0, 2], [0, 0]]);
        const windows: tf.Tensor[] = [];
        for (let s = 0; s < 2; s++)
          for (let i = 0; i < 2; i++)
            for (let j = 0; j < 3; j++) windows.push(tf.reshape(tf.slice(xp, [3 * s, 3 * i, 3 * j, 0], [3, 3, 3, 2]), [27, 2]));
        return tf.stack(windows);
      },
      [[6, 5, 7, 2]],
      80,
    ));
  it('mergeWindows is the plain inverse (gradient through the padding dropped)', () =>
    expectMatch(
      (t) => mergeWindows(as3(t), g),
      (t) => {
        const rows: tf.Tensor[] = [];
        for (let s = 0; s < 2; s++) {
          const seq: tf.Tensor[] = [];
          for (let i = 0; i < 2; i++) {
            const row: tf.Tensor[] = [];
            for (let j = 0; j < 3; j++) row.push(tf.reshape(tf.slice(t, [s * 6 + i * 3 + j, 0, 0], [1, 27, 2]), [3, 3, 3, 2]));
            seq.push(tf.concat(row, 2));
          }
          rows.push(tf.concat(seq, 1));
        }
        return tf.slice(tf.concat(rows, 0), [0, 0, 0, 0], [6, 5, 7, 2]);
      },
      [[12, 27, 2]],
      81,
    ));
});

describe('memory', () => {
  it('the wasm Identity kernel (tf.clone, every saved tensor) shares the buffer instead of copying', async () => {
    await useBackend('wasm');
    shareIdentityOnWasm();
    const x = tf.randomNormal([256, 256]);
    const before = tf.memory().numDataBuffers;
    const y = tf.clone(x);
    assert.equal(tf.memory().numDataBuffers, before, 'clone made a new buffer');
    x.dispose();
    // The clone still reads the data after the original is gone (reference counted).
    assert.ok(Number.isFinite(y.sum().dataSync()[0]!));
    y.dispose();
  });

  it('a gradient through reshape, addSame and concatChannels holds no more buffers than the inputs and results', async () => {
    await useBackend('wasm');
    const a = tf.randomNormal([2, 8, 8, 4]) as tf.Tensor4D;
    const b = tf.randomNormal([2, 8, 8, 4]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const grads = withEarlyRelease(() =>
      tf.grads((p: tf.Tensor, q: tf.Tensor) => {
        const s = addSame(as4(p), as4(q));
        const c = concatChannels([s, as4(q)]);
        return tf.sum(tf.mul(reshape(c, [2, 512]), 2));
      })([a, b]),
    );
    // d/da = 2, d/db = 2 (through the sum) + 2 (through the concat).
    assert.deepEqual([...new Set(grads[0]!.dataSync())], [2]);
    assert.deepEqual([...new Set(grads[1]!.dataSync())], [4]);
    assert.equal(tf.memory().numTensors, before + 2, 'tensors leaked by the backward');
    tf.dispose([a, b, ...grads]);
  });
});
