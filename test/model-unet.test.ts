import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_MODEL_CONFIG, createModel, disposeModel, parameterCount, predict, unetLayout } from '../src/model/index.ts';
import { Rng } from '../src/nn/index.ts';
import { useBackend } from './helpers/backends.ts';
import { maxAbs, maxAbsDiff, permuteFrames, perturb, randomImages, tinyModel } from './helpers/model.ts';

const F = 2;
const SHAPE: [number, number, number, number] = [2 * F, 8, 8, 3]; // 2 sequences; 8x8 pads the M=3 windows
const T = [10, 500];

/** Image index of frame f of sequence s. */
const img = (s: number, f: number) => s * F + f;
const frame = (x: tf.Tensor4D, i: number) => tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]);

describe('DIVD UNet', () => {
  before(() => useBackend('wasm'));

  it('maps [S·F,H,W,3] noisy + blurry frames to [S·F,H,W,3] and counts its parameters', () => {
    const model = tinyModel();
    const y = predict(model, randomImages(SHAPE, 1), randomImages(SHAPE, 2), T);
    assert.deepEqual(y.shape, SHAPE);
    const counted = model.params.info().reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
    assert.equal(parameterCount(model), counted);
    assert.ok(parameterCount(model) > 0);
    disposeModel(model);
  });

  it('the paper-scale default layout pairs each level with its window size and uses the last in the middle', () => {
    const attn = unetLayout(DEFAULT_MODEL_CONFIG).filter((b) => b.kind === 'attn');
    const windowOf = (prefix: string) => new Set(attn.filter((b) => b.name.startsWith(prefix)).map((b) => (b.kind === 'attn' ? b.window : 0)));
    assert.deepEqual([...windowOf('down.0.')], [4]);
    assert.deepEqual([...windowOf('down.3.')], [1]);
    assert.deepEqual([...windowOf('up.1.')], [3]);
    assert.deepEqual([...windowOf('mid.')], [1]);
    // 2 per encoder level, 3 per decoder level, 1 in the middle.
    assert.equal(attn.length, 4 * 2 + 4 * 3 + 1);
  });

  it('with attention none, frames are independent: permuting frames permutes outputs', () => {
    const model = tinyModel({ attention: 'none' });
    perturb(model, 3);
    const x = randomImages(SHAPE, 4);
    const b = randomImages(SHAPE, 5);
    const y = predict(model, x, b, T);
    const yp = predict(model, permuteFrames(x, F, [1, 0]), permuteFrames(b, F, [1, 0]), T);
    assert.ok(maxAbsDiff(yp, permuteFrames(y, F, [1, 0])) < 1e-5);
    disposeModel(model);
  });

  it('WTSA mixes the frames of a sequence, never frames of different sequences; spatial attention mixes none', () => {
    for (const attention of ['wtsa', 'spatial'] as const) {
      const model = tinyModel({ attention });
      perturb(model, 6);
      const x = randomImages(SHAPE, 7);
      const b = randomImages(SHAPE, 8);
      const y = predict(model, x, b, T);
      // Change frame 0 of sequence 0 only.
      const bump = tf.tensor4d(new Float32Array(SHAPE.reduce((a, c) => a * c, 1)).map((_, i) => (i < 8 * 8 * 3 ? 1 : 0)), SHAPE);
      const y2 = predict(model, tf.add(x, bump) as tf.Tensor4D, b, T);
      const sameSeqOther = maxAbsDiff(frame(y, img(0, 1)), frame(y2, img(0, 1)));
      const otherSeq = maxAbsDiff(tf.slice(y, [img(1, 0), 0, 0, 0], [F, -1, -1, -1]), tf.slice(y2, [img(1, 0), 0, 0, 0], [F, -1, -1, -1]));
      assert.equal(otherSeq, 0, `${attention}: another sequence changed`);
      if (attention === 'wtsa') assert.ok(sameSeqOther > 1e-4, `wtsa: frame 1 did not see frame 0 (${sameSeqOther})`);
      else assert.equal(sameSeqOther, 0, 'spatial: frame 1 saw frame 0');
      disposeModel(model);
    }
  });

  it('frame PE changes outputs only through frame identity', () => {
    const x0 = randomImages([1, 8, 8, 3], 9);
    const b0 = randomImages([1, 8, 8, 3], 10);
    const same = (t: tf.Tensor4D) => tf.concat([t, t, t, t], 0) as tf.Tensor4D; // 2 sequences of identical frames
    // Without frame PE, WTSA is symmetric in the frames: identical frames give identical outputs,
    // and permuting the frames permutes the outputs.
    const plain = tinyModel({ mrpe: { framePE: false, relBias: true } });
    perturb(plain, 11);
    const yPlain = predict(plain, same(x0), same(b0), T);
    assert.ok(maxAbsDiff(frame(yPlain, 0), frame(yPlain, 1)) < 1e-5);
    const x = randomImages(SHAPE, 12);
    const b = randomImages(SHAPE, 13);
    const perm = [1, 0];
    assert.ok(maxAbsDiff(predict(plain, permuteFrames(x, F, perm), permuteFrames(b, F, perm), T), permuteFrames(predict(plain, x, b, T), F, perm)) < 1e-5);

    // With frame PE, identical frames become distinguishable ...
    const pe = tinyModel({ mrpe: { framePE: true, relBias: true } });
    perturb(pe, 11);
    const yPe = predict(pe, same(x0), same(b0), T);
    assert.ok(maxAbsDiff(frame(yPe, 0), frame(yPe, 1)) > 1e-4);
    // ... and that is all it does: permuting the frames together with the PE rows permutes the outputs.
    const y = predict(pe, x, b, T);
    for (const v of pe.params.variables().filter((_, i) => pe.params.names()[i]!.endsWith('.framePE'))) {
      const swapped = tf.gather(v, tf.tensor1d(perm, 'int32'));
      v.assign(swapped);
    }
    const yPerm = predict(pe, permuteFrames(x, F, perm), permuteFrames(b, F, perm), T);
    assert.ok(maxAbsDiff(yPerm, permuteFrames(y, F, perm)) < 1e-5);
    assert.ok(maxAbsDiff(y, permuteFrames(y, F, perm)) > 1e-4, 'the check above would be vacuous');
    disposeModel(plain);
    disposeModel(pe);
  });

  it('every parameter receives a non-zero gradient (wtsa, both MRPE parts, padded windows)', () => {
    const model = tinyModel({ dropout: 0.1 });
    perturb(model, 14);
    const x = randomImages(SHAPE, 15);
    const b = randomImages(SHAPE, 16);
    const rng = new Rng(17);
    const r = tf.tensor4d(Float32Array.from({ length: SHAPE.reduce((a, c) => a * c, 1) }, () => rng.normal()), SHAPE);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(predict(model, x, b, T, { dropoutSeed: 3 }), r)) as tf.Scalar);
    const names = model.params.names();
    assert.equal(Object.keys(grads).length, names.length);
    const sizes = model.params.variables().map((v) => maxAbs(grads[v.name]!));
    // Float round-off leaves ~1e-7 on a parameter the loss cannot see (e.g. a key bias); real gradients are far larger.
    const vanishing = names.filter((_, i) => sizes[i]! < 1e-4);
    assert.deepEqual(vanishing, []);
    assert.ok(names.some((n) => n.endsWith('.relTable')) && names.some((n) => n.endsWith('.framePE')));
    disposeModel(model);
  });

  it('gives the same prediction and gradients on wasm and on tf\'s cpu backend', async () => {
    const model = tinyModel();
    perturb(model, 18);
    const run = () => {
      const x = randomImages(SHAPE, 19);
      const b = randomImages(SHAPE, 20);
      const y = predict(model, x, b, T);
      const { grads } = tf.variableGrads(() => tf.mean(tf.square(predict(model, x, b, T))) as tf.Scalar);
      const g = model.params.variables().map((v) => grads[v.name]!.dataSync().slice());
      return { y: y.dataSync().slice(), g };
    };
    const onWasm = run();
    await useBackend('cpu');
    try {
      const onCpu = run();
      const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
        let d = 0;
        let m = 0;
        for (let i = 0; i < a.length; i++) (d = Math.max(d, Math.abs(a[i]! - b[i]!))), (m = Math.max(m, Math.abs(b[i]!)));
        return d / m;
      };
      assert.ok(rel(onWasm.y, onCpu.y) < 1e-4, `prediction differs by ${rel(onWasm.y, onCpu.y)}`);
      const errs = onWasm.g.map((g, i) => rel(g, onCpu.g[i]!));
      const worst = Math.max(...errs);
      assert.ok(worst < 1e-3, `a gradient differs by ${worst} (relative to its largest entry)`);
    } finally {
      await useBackend('wasm');
      disposeModel(model);
    }
  });

  it('rejects inputs the UNet cannot take, naming the problem', () => {
    const model = createModel({ ...DEFAULT_MODEL_CONFIG, baseChannels: 8, headChannels: 8, groups: 4 });
    assert.throws(() => predict(model, randomImages([4, 20, 20, 3], 1), randomImages([4, 20, 20, 3], 2), [1]), /20x20 must be divisible by 8/);
    assert.throws(() => predict(model, randomImages([3, 8, 8, 3], 1), randomImages([3, 8, 8, 3], 2), [1]), /3 images are not a whole number of 4-frame/);
    assert.throws(() => predict(model, randomImages([4, 8, 8, 3], 1), randomImages([4, 8, 8, 3], 2), [1, 2]), /2 timesteps for 4 images/);
    disposeModel(model);
  });
});
