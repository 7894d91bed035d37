import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from './helpers/backends.ts';
import { Rng } from '../src/nn/index.ts';
import { Adam, Ema, clipByGlobalNorm, emaDecay, globalNorm, learningRate } from '../src/train/index.ts';

await useBackend('wasm');

function randomArray(n: number, rng: Rng, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

function params(rng: Rng): Map<string, tf.Variable> {
  return new Map([
    ['a.weight', tf.variable(tf.tensor(randomArray(12, rng), [3, 4]))],
    ['a.bias', tf.variable(tf.tensor(randomArray(4, rng), [4]))],
  ]);
}

function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i]! - want[i]!));
    den = Math.max(den, Math.abs(want[i]!));
  }
  return num / den;
}

test('learning rate: linear warm-up from lr/warmup, then constant or a half cosine to minLr', () => {
  const base = { lr: 1e-4, warmupSteps: 10, totalSteps: 110 };
  assert.equal(learningRate({ ...base, schedule: 'constant' }, 1), 1e-5);
  assert.equal(learningRate({ ...base, schedule: 'constant' }, 5), 5e-5);
  assert.equal(learningRate({ ...base, schedule: 'constant' }, 10), 1e-4);
  assert.equal(learningRate({ ...base, schedule: 'constant' }, 1000), 1e-4);
  const cos = { ...base, schedule: 'cosine' as const, minLr: 1e-6 };
  assert.ok(Math.abs(learningRate(cos, 60) - (1e-6 + (1e-4 - 1e-6) * 0.5)) < 1e-15);
  assert.ok(Math.abs(learningRate(cos, 110) - 1e-6) < 1e-15);
  assert.ok(Math.abs(learningRate(cos, 500) - 1e-6) < 1e-15, 'stays at minLr after totalSteps');
  assert.equal(learningRate({ ...base, warmupSteps: 0, schedule: 'constant' }, 1), 1e-4);
  assert.throws(() => learningRate({ ...base, schedule: 'constant' }, 0), /step must be an integer >= 1/);
});

test('Adam matches a float64 reference of PyTorch Adam (and AdamW) step for step', () => {
  // Gradients of 1e-7 make ε visible, so where ε sits (after √v̂, PyTorch) is tested too.
  for (const [weightDecay, gradScale] of [[0, 0.5], [0.01, 0.5], [0, 1e-7]] as const) {
    const rng = new Rng(7);
    const ps = params(rng);
    const ref = new Map([...ps].map(([k, v]) => [k, Float64Array.from(v.dataSync())]));
    const m = new Map([...ref].map(([k, v]) => [k, new Float64Array(v.length)]));
    const v2 = new Map([...ref].map(([k, v]) => [k, new Float64Array(v.length)]));
    const cfg = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay };
    const opt = new Adam(ps, cfg);
    for (let t = 1; t <= 6; t++) {
      const lr = 1e-2 * t;
      const gArrays = new Map([...ps].map(([k, p]) => [k, randomArray(p.size, rng, gradScale)]));
      const grads = new Map([...ps].map(([k, p]) => [k, tf.tensor(gArrays.get(k)!, p.shape)]));
      opt.apply(grads, lr);
      tf.dispose([...grads.values()]);
      for (const [k, p] of ref) {
        const g = gArrays.get(k)!;
        const mk = m.get(k)!;
        const vk = v2.get(k)!;
        for (let i = 0; i < p.length; i++) {
          p[i] = p[i]! * (1 - lr * weightDecay);
          mk[i] = 0.9 * mk[i]! + 0.1 * g[i]!;
          vk[i] = 0.999 * vk[i]! + 0.001 * g[i]! * g[i]!;
          const denom = Math.sqrt(vk[i]!) / Math.sqrt(1 - 0.999 ** t) + 1e-8;
          p[i] = p[i]! - (lr / (1 - 0.9 ** t)) * (mk[i]! / denom);
        }
      }
    }
    for (const [k, p] of ps) assert.ok(maxRelErr(p.dataSync(), ref.get(k)!) < 1e-5, `${k} (weightDecay ${weightDecay}, gradients ~${gradScale})`);
    opt.dispose();
    tf.dispose([...ps.values()]);
  }
});

test('Adam state round trip: a restored optimizer continues bit-identically to an uninterrupted one', () => {
  const gradsAt = (step: number, ps: Map<string, tf.Variable>) => {
    const rng = new Rng(100 + step);
    return new Map([...ps].map(([k, p]) => [k, tf.tensor(randomArray(p.size, rng), p.shape)]));
  };
  const run = (ps: Map<string, tf.Variable>, opt: Adam, from: number, to: number) => {
    for (let s = from; s < to; s++) {
      const g = gradsAt(s, ps);
      opt.apply(g, 1e-3);
      tf.dispose([...g.values()]);
    }
  };
  const straight = params(new Rng(3));
  const optA = new Adam(straight);
  run(straight, optA, 0, 5);

  const first = params(new Rng(3));
  const optB = new Adam(first);
  run(first, optB, 0, 3);
  const saved = { state: optB.getState(), weights: new Map([...first].map(([k, v]) => [k, v.dataSync().slice()])) };
  optB.dispose();

  const resumed = params(new Rng(999));
  for (const [k, v] of resumed) v.assign(tf.tensor(saved.weights.get(k)!, v.shape));
  const optC = new Adam(resumed);
  optC.setState(saved.state);
  assert.equal(optC.step, 3);
  run(resumed, optC, 3, 5);
  for (const [k, v] of straight) assert.deepEqual(resumed.get(k)!.dataSync(), v.dataSync(), k);

  const bad = { ...saved.state, m: new Map([['a.weight', new Float32Array(3)]]) };
  assert.throws(() => optC.setState(bad), /moment m of a\.weight has 3 values, the parameter has 12/);
  for (const x of [optA, optC]) x.dispose();
  tf.dispose([...straight.values(), ...first.values(), ...resumed.values()]);
});

test('EMA follows e <- d*e + (1-d)*p, with warm-up decay min(d, (1+n)/(10+n))', () => {
  assert.equal(emaDecay({ decay: 0.9999, warmup: true }, 0), 0.1);
  assert.equal(emaDecay({ decay: 0.9999, warmup: true }, 90), 91 / 100);
  assert.equal(emaDecay({ decay: 0.5, warmup: true }, 90), 0.5);
  assert.equal(emaDecay({ decay: 0.9999, warmup: false }, 0), 0.9999);
  const rng = new Rng(11);
  const ps = params(rng);
  const ema = new Ema(ps, { decay: 0.95, warmup: true });
  const ref = new Map([...ps].map(([k, v]) => [k, Float64Array.from(v.dataSync())]));
  for (let n = 0; n < 8; n++) {
    for (const [, p] of ps) p.assign(tf.add(p, tf.tensor(randomArray(p.size, rng), p.shape)));
    ema.update();
    const d = Math.min(0.95, (1 + n) / (10 + n));
    for (const [k, e] of ref) {
      const p = ps.get(k)!.dataSync();
      for (let i = 0; i < e.length; i++) e[i] = d * e[i]! + (1 - d) * p[i]!;
    }
  }
  const values = ema.values();
  for (const [k, e] of ref) assert.ok(maxRelErr(values.get(k)!, e) < 1e-5, k);
  assert.equal(ema.count, 8);
  ema.dispose();
  tf.dispose([...ps.values()]);
});

test('global-norm clipping scales to maxNorm, leaves small gradients alone, and flags NaN/Inf', () => {
  const g = new Map([
    ['x', tf.tensor([3, 0], [2])],
    ['y', tf.tensor([[4]], [1, 1])],
  ]);
  assert.ok(Math.abs(globalNorm(g) - 5) < 1e-6);
  const big = clipByGlobalNorm(g, 1);
  assert.ok(big.clipped && big.finite);
  assert.ok(Math.abs(globalNorm(big.grads) - 1) < 1e-5);
  const small = clipByGlobalNorm(g, 10);
  assert.ok(!small.clipped);
  assert.equal(small.grads.get('x'), g.get('x'));
  const bad = new Map([...g, ['z', tf.tensor([NaN])]]);
  const r = clipByGlobalNorm(bad, 1);
  assert.equal(r.finite, false);
  assert.equal(r.clipped, false);
  tf.dispose([...g.values(), ...big.grads.values(), bad.get('z')!]);
});

test('optimizer, EMA and clipping allocate no tensors across steps', () => {
  const ps = params(new Rng(5));
  const opt = new Adam(ps);
  const ema = new Ema(ps, { decay: 0.99, warmup: false });
  const step = () => {
    const g = new Map([...ps].map(([k, p]) => [k, tf.onesLike(p)]));
    const c = clipByGlobalNorm(g, 0.5);
    opt.apply(c.grads, 1e-3);
    ema.update();
    tf.dispose([...new Set([...g.values(), ...c.grads.values()])]);
  };
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) step();
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
  ema.dispose();
  tf.dispose([...ps.values()]);
});
