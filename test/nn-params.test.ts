import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ParamStore, Rng, conv2d, fans, groupNorm, initValues, silu, windowAttention } from '../src/nn/index.ts';
import { useBackend } from './helpers/backends.ts';

describe('parameters', () => {
  it('initialisation is deterministic per seed and name, and differs across names', async () => {
    await useBackend('wasm');
    const a = new ParamStore(7);
    const b = new ParamStore(7);
    const wa = a.scope('down').scope('0').get('conv.w', [3, 3, 4, 8], { kind: 'torchDefault' });
    const wb = b.scope('down.0').get('conv.w', [3, 3, 4, 8], { kind: 'torchDefault' });
    assert.deepEqual([...wa.dataSync()], [...wb.dataSync()]);
    const other = a.get('up.0.conv.w', [3, 3, 4, 8], { kind: 'torchDefault' });
    assert.notDeepEqual([...other.dataSync()], [...wa.dataSync()]);
    assert.deepEqual(a.names(), ['down.0.conv.w', 'up.0.conv.w']);
    a.dispose();
    b.dispose();
  });

  it('reuse returns the same variable; a different shape is refused by name', () => {
    const s = new ParamStore(1);
    const v = s.get('x', [2, 3], { kind: 'zeros' });
    assert.equal(s.get('x', [2, 3], { kind: 'ones' }), v);
    assert.throws(() => s.get('x', [3, 2], { kind: 'zeros' }), /parameter x exists with shape \[2,3\], asked for \[3,2\]/);
    s.dispose();
  });

  it('initialisers follow PyTorch fan conventions and bounds', () => {
    assert.deepEqual(fans([3, 3, 16, 32]), { fanIn: 144, fanOut: 288 });
    const w = initValues([3, 3, 16, 32], { kind: 'torchDefault' }, new Rng(3));
    const bound = 1 / Math.sqrt(144);
    assert.ok(w.every((x) => Math.abs(x) <= bound));
    assert.ok(Math.max(...w) > 0.9 * bound, 'uses the whole range');
    const z = initValues([4, 4], { kind: 'zeros' }, new Rng(3));
    assert.ok(z.every((x) => x === 0));
    const n = initValues([20000], { kind: 'normal', std: 0.02 }, new Rng(5));
    const mean = n.reduce((a, b) => a + b, 0) / n.length;
    const std = Math.sqrt(n.reduce((a, b) => a + (b - mean) ** 2, 0) / n.length);
    assert.ok(Math.abs(mean) < 0.001 && Math.abs(std - 0.02) < 0.001, `mean ${mean}, std ${std}`);
  });

  it('snapshot and restore round-trip, and a mismatched snapshot is refused', async () => {
    await useBackend('wasm');
    const s = new ParamStore(2);
    const v = s.get('w', [2, 2], { kind: 'heNormal' });
    const snap = s.snapshot();
    v.assign(tf.zeros([2, 2]));
    s.restore(snap);
    assert.deepEqual([...v.dataSync()], [...snap.get('w')!.data]);
    const bad = new Map(snap);
    bad.set('extra', { shape: [1], data: new Float32Array(1) });
    assert.throws(() => s.restore(bad), /snapshot has extra/);
    s.dispose();
  });
});

describe('op layer hygiene', () => {
  it('a training step over every op leaks no tensors', async () => {
    await useBackend('wasm');
    const store = new ParamStore(4);
    const w = store.get('w', [3, 3, 4, 8], { kind: 'torchDefault' });
    const g = store.get('g', [8], { kind: 'ones' });
    const b = store.get('b', [8], { kind: 'zeros' });
    const x = tf.randomNormal([2, 8, 8, 4]) as tf.Tensor4D;
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const h = silu(groupNorm(conv2d(x, w as unknown as tf.Tensor4D), g as unknown as tf.Tensor1D, b as unknown as tf.Tensor1D, 2));
          const tokens = tf.reshape(h, [8, 16, 2, 4]) as tf.Tensor4D;
          return tf.mean(tf.square(windowAttention(tokens, tokens, tokens))) as tf.Scalar;
        });
        for (const v of Object.values(grads)) assert.ok(Number.isFinite(v.dataSync()[0]!));
        return value.dataSync()[0]!;
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    store.dispose();
  });

  it('bad shapes get messages that say what was expected', async () => {
    await useBackend('wasm');
    const x = tf.zeros([1, 5, 5, 3]) as tf.Tensor4D;
    assert.throws(() => conv2d(x, tf.zeros([3, 3, 3, 4]) as tf.Tensor4D, 2), /stride 2 needs even height and width, got 5x5/);
    assert.throws(() => conv2d(x, tf.zeros([3, 3, 2, 4]) as tf.Tensor4D), /input has 3 channels but the kernel expects 2/);
    assert.throws(() => groupNorm(x, tf.ones([3]) as tf.Tensor1D, tf.zeros([3]) as tf.Tensor1D, 2), /3 channels are not divisible into 2 groups/);
  });
});

it('a restored Rng continues the same stream, including a pending Box-Muller value', () => {
  const a = new Rng(42);
  a.normal(); // leaves the second Box-Muller value pending
  const b = Rng.restore(JSON.parse(JSON.stringify(a.save())) as ReturnType<Rng['save']>);
  const fromA = [a.normal(), a.next(), a.normal(), a.normal()];
  const fromB = [b.normal(), b.next(), b.normal(), b.normal()];
  assert.deepEqual(fromB, fromA);
  assert.throws(() => Rng.restore({ state: -1, spare: null }), /bad state/);
});
