import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  DDIMScheduler,
  DDPMScheduler,
  alphaBar,
  cosineBetas,
  createScheduler,
  linearBetas,
  makeSchedule,
  posterior,
  predictionTarget,
  qSample,
  randn4d,
  resolveDiffusionConfig,
  resolveSampleConfig,
  runSampler,
  scheduleFromBetas,
  splitPrediction,
  type PredictionKind,
  type Scheduler,
  diffusionData,
  restoredFrames,
} from '../src/diffusion/index.ts';
import { UsageError } from '../src/errors.ts';
import { Rng } from '../src/nn/index.ts';
import { useBackend } from './helpers/backends.ts';

const SHAPE: [number, number, number, number] = [2, 4, 5, 3];

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** Clean frames in [−0.9, 0.9] so clipping to the data range never bites. */
function cleanFrames(seed: number): tf.Tensor4D {
  return tf.tidy(() => tf.mul(tf.tanh(randn4d(SHAPE, new Rng(seed))), 0.9)) as tf.Tensor4D;
}

describe('noise schedules', () => {
  it('linear: β_1 = betaStart, β_T = betaEnd, equal spacing, ᾱ the running product', () => {
    const s = makeSchedule(resolveDiffusionConfig({}));
    assert.equal(s.betas.length, 1000);
    assert.equal(s.betas[0], 1e-4);
    assert.ok(Math.abs(s.betas[999]! - 0.02) < 1e-15);
    assert.ok(Math.abs(s.betas[500]! - s.betas[499]! - (0.02 - 1e-4) / 999) < 1e-15);
    let prod = 1;
    for (let t = 0; t < 1000; t++) prod *= 1 - s.betas[t]!;
    assert.equal(s.alphasCumprod[999], prod);
    // DDPM's own figure for this schedule: ᾱ_T ≈ 4.0e-5 (so x_T is almost pure noise).
    assert.ok(Math.abs(s.alphasCumprod[999]! - 4.0358e-5) < 1e-8, `ᾱ_T = ${s.alphasCumprod[999]}`);
  });

  it('cosine: ᾱ_t = f(t+1)/f(0) with f(t) = cos²((t/T + s)/(1 + s)·π/2) where β is not clipped', () => {
    const T = 200;
    const s = scheduleFromBetas(cosineBetas(T));
    const f = (t: number) => Math.cos(((t / T + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    for (const t of [0, 1, 50, 100, 150]) assert.ok(Math.abs(s.alphasCumprod[t]! - f(t + 1) / f(0)) < 1e-12, `t=${t}`);
    assert.equal(s.betas[T - 1], 0.999); // the last β is clipped
  });

  it('posterior mean and variance equal the Bayes product of q(x_prev | x0) and q(x_t | x_prev)', () => {
    const s = makeSchedule(resolveDiffusionConfig({}));
    for (const [t, prev] of [
      [1, 0],
      [10, 9],
      [500, 499],
      [999, 998],
      [999, 979], // a respaced jump of 20 steps
      [40, 0],
    ]) {
      const abT = alphaBar(s, t!);
      const abP = alphaBar(s, prev!);
      // Prior x_prev ~ N(√ᾱ_p·x0, 1−ᾱ_p); likelihood x_t | x_prev ~ N(a·x_prev, 1−a²) with a² = ᾱ_t/ᾱ_p.
      const a2 = abT / abP;
      const precision = 1 / (1 - abP) + a2 / (1 - a2);
      const variance = 1 / precision;
      const coefX0 = (Math.sqrt(abP) / (1 - abP)) * variance;
      const coefXt = (Math.sqrt(a2) / (1 - a2)) * variance;
      const p = posterior(s, t!, prev!);
      const rel = (x: number, y: number) => Math.abs(x - y) / Math.abs(y);
      assert.ok(rel(p.variance, variance) < 1e-9, `variance t=${t}`);
      assert.ok(rel(p.coefX0, coefX0) < 1e-9, `x0 coefficient t=${t}`);
      assert.ok(rel(p.coefXt, coefXt) < 1e-9, `x_t coefficient t=${t}`);
    }
    // The last step (to the clean data) is deterministic and returns x0.
    assert.deepEqual(posterior(s, 0), { coefX0: 1, coefXt: 0, variance: 0 });
  });
});

describe('forward process and parameterisations', () => {
  before(() => useBackend('wasm'));

  for (const kind of ['eps', 'x0', 'v'] as const) {
    it(`${kind}: the target of (x0, ε) converts back to x0 and ε`, () => {
      const s = makeSchedule(resolveDiffusionConfig({}));
      const x0 = cleanFrames(1);
      const eps = randn4d(SHAPE, new Rng(2));
      const t = [3, 870];
      const xt = qSample(s, x0, eps, t);
      const back = splitPrediction(s, kind, xt, predictionTarget(s, kind, x0, eps, t), t);
      assert.ok(maxAbsDiff(back.x0, x0) < 2e-3, `x0 ${maxAbsDiff(back.x0, x0)}`); // ε → x0 divides by √ᾱ_870 ≈ 0.05
      assert.ok(maxAbsDiff(back.eps, eps) < 2e-4, `eps ${maxAbsDiff(back.eps, eps)}`);
    });
  }

  it('q_sample uses each image its own timestep', () => {
    const s = makeSchedule(resolveDiffusionConfig({}));
    const x0 = cleanFrames(3);
    const eps = randn4d(SHAPE, new Rng(4));
    const xt = qSample(s, x0, eps, [0, 999]).arraySync();
    const x = x0.arraySync();
    const e = eps.arraySync();
    for (const [n, t] of [
      [0, 0],
      [1, 999],
    ]) {
      const ab = s.alphasCumprod[t!]!;
      const v = xt[n!]![2]![3]![1]!;
      assert.ok(Math.abs(v - (Math.sqrt(ab) * x[n!]![2]![3]![1]! + Math.sqrt(1 - ab) * e[n!]![2]![3]![1]!)) < 1e-6);
    }
  });
});

/** Runs a full sampling loop where the "model" is an oracle that knows x0 and the noise. */
function sampleWithOracle(sched: Scheduler, x0: tf.Tensor4D, kind: PredictionKind, steps: number): tf.Tensor4D {
  sched.setTimesteps(steps);
  let x = sched.initialNoise(SHAPE);
  for (const t of sched.timesteps) {
    // The exact ε for which x_t = √ᾱ x0 + √(1−ᾱ) ε, turned into the kind of output the scheduler expects.
    const ab = alphaBar(sched.schedule, t);
    const eps = tf.div(tf.sub(x, tf.mul(x0, Math.sqrt(ab))), Math.sqrt(1 - ab)) as tf.Tensor4D;
    const out = predictionTarget(sched.schedule, kind, x0, eps, t);
    const { prevSample } = sched.step(out, t, x);
    x = prevSample;
  }
  return x;
}

describe('samplers', () => {
  before(() => useBackend('wasm'));

  for (const [kind, steps] of [
    ['eps', 50],
    ['eps', 7],
    ['x0', 20],
    ['v', 20],
  ] as const) {
    it(`DDIM (η = 0, ${steps} steps, ${kind} output) with a perfect noise oracle recovers x0`, () => {
      const schedule = makeSchedule(resolveDiffusionConfig({}));
      const x0 = cleanFrames(5);
      const sched = new DDIMScheduler(schedule, { prediction: kind, seed: 1, clipSample: false });
      assert.ok(maxAbsDiff(sampleWithOracle(sched, x0, kind, steps), x0) < 1e-4);
    });
  }

  it('DDPM ancestral sampling with a perfect oracle recovers x0; one step matches the posterior with the given noise', () => {
    const schedule = makeSchedule(resolveDiffusionConfig({ timesteps: 100, betaEnd: 0.1 }));
    const x0 = cleanFrames(6);
    const sched = new DDPMScheduler(schedule, { prediction: 'eps', seed: 2 });
    assert.deepEqual(sched.timesteps, Array.from({ length: 100 }, (_, i) => 99 - i));
    assert.ok(maxAbsDiff(sampleWithOracle(sched, x0, 'eps', 100), x0) < 1e-4);

    const t = 40;
    const xt = randn4d(SHAPE, new Rng(7));
    const z = randn4d(SHAPE, new Rng(8));
    const { prevSample } = sched.step(predictionTarget(schedule, 'x0', x0, x0, t), t, xt, { noise: z });
    // Under an x0 output kind the scheduler would pass x0 through; here ε-output, so derive the ε that implies x0.
    const ab = alphaBar(schedule, t);
    const eps = tf.div(tf.sub(xt, tf.mul(x0, Math.sqrt(ab))), Math.sqrt(1 - ab)) as tf.Tensor4D;
    const { prevSample: fromEps } = sched.step(eps, t, xt, { noise: z });
    const p = posterior(schedule, t);
    const expected = tf.add(tf.add(tf.mul(x0, p.coefX0), tf.mul(xt, p.coefXt)), tf.mul(z, Math.sqrt(p.variance)));
    assert.ok(maxAbsDiff(fromEps, expected) < 1e-5);
    assert.ok(maxAbsDiff(prevSample, fromEps) > 1e-3, 'feeding x0 as ε must give a different step (sanity)');
  });

  it('DDIM with η = 1 adds the DDPM posterior variance', () => {
    const schedule = makeSchedule(resolveDiffusionConfig({ timesteps: 100 }));
    const sched = new DDIMScheduler(schedule, { prediction: 'eps', seed: 3, eta: 1, clipSample: false });
    const xt = randn4d(SHAPE, new Rng(9));
    const eps = randn4d(SHAPE, new Rng(10));
    const z = randn4d(SHAPE, new Rng(11));
    const zero = tf.zerosLike(z) as tf.Tensor4D;
    const a = sched.step(eps, 50, xt, { noise: z }).prevSample;
    const b = sched.step(eps, 50, xt, { noise: zero }).prevSample;
    const sigma = Math.sqrt(posterior(schedule, 50).variance);
    assert.ok(maxAbsDiff(tf.sub(a, b), tf.mul(z, sigma)) < 1e-5);
  });

  it('timesteps are leading-spaced and bounded; seeds make sampling reproducible', () => {
    const sched = createScheduler(resolveDiffusionConfig({}), resolveSampleConfig({ steps: 4 }));
    assert.deepEqual(sched.timesteps, [750, 500, 250, 0]);
    assert.throws(() => sched.setTimesteps(1001), /1001 steps requested; give an integer in 1\.\.1000/);
    const noise = (seed: number) => createScheduler(resolveDiffusionConfig({}), resolveSampleConfig({ sampler: 'ddpm', seed })).initialNoise(SHAPE);
    assert.equal(maxAbsDiff(noise(5), noise(5)), 0);
    assert.ok(maxAbsDiff(noise(5), noise(6)) > 0.1);
    assert.equal(createScheduler(resolveDiffusionConfig({ timesteps: 30 }), resolveSampleConfig({ sampler: 'ddpm' })).timesteps.length, 30);
  });
});

describe('trailing spacing', () => {
  before(() => useBackend('wasm'));

  it('visits T-1 first and steps down by T/n; with n = T both spacings visit every level', () => {
    const trailing = (steps: number, timesteps = 1000) =>
      createScheduler(resolveDiffusionConfig({ timesteps }), resolveSampleConfig({ steps, spacing: 'trailing' }));
    assert.deepEqual(trailing(4).timesteps, [999, 749, 499, 249]);
    assert.deepEqual(trailing(10).timesteps, [999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    assert.deepEqual(trailing(1).timesteps, [999], 'one step starts from pure noise, not at t = 0');
    assert.deepEqual(trailing(3, 10).timesteps, [9, 6, 2]); // round(10 - 3.33k) - 1
    const every = trailing(30, 30);
    assert.deepEqual(every.timesteps, Array.from({ length: 30 }, (_, k) => 29 - k));
    const s = trailing(4);
    assert.deepEqual([999, 749, 499, 249].map((t) => s.previousTimestep(t)), [749, 499, 249, -1]);
    // Leading keeps DDIM's levels; the last step of either goes to the clean data (−1, ᾱ = 1).
    const leading = createScheduler(resolveDiffusionConfig({}), resolveSampleConfig({ steps: 4 }));
    assert.deepEqual([750, 500, 250, 0].map((t) => leading.previousTimestep(t)), [500, 250, 0, -1]);
  });

  it('DDIM with an oracle lands on x0 with either spacing, and one trailing step from noise is the x0 estimate at T-1', () => {
    const schedule = makeSchedule(resolveDiffusionConfig({}));
    const x0 = cleanFrames(21);
    const seen: number[] = [];
    const oracle = (xt: tf.Tensor4D, t: ArrayLike<number>) => {
      seen.push(t[0]!);
      const ab = alphaBar(schedule, t[0]!);
      return tf.div(tf.sub(xt, tf.mul(x0, Math.sqrt(ab))), Math.sqrt(1 - ab)) as tf.Tensor4D;
    };
    for (const steps of [1, 7]) {
      const ddim = new DDIMScheduler(schedule, { prediction: 'eps', seed: 2, clipSample: false });
      ddim.setTimesteps(steps, 'trailing');
      seen.length = 0;
      assert.ok(maxAbsDiff(runSampler(ddim, oracle, SHAPE), x0) < 1e-3, `${steps} trailing steps`);
      assert.equal(seen[0], 999);
    }
  });
});

describe('sampling loop', () => {
  before(() => useBackend('wasm'));

  it('runSampler drives a scheduler from its seeded noise through every timestep', () => {
    const schedule = makeSchedule(resolveDiffusionConfig({}));
    const x0 = cleanFrames(12);
    // The oracle knows x0 and answers with the ε that x_t implies.
    const oracle = (xt: tf.Tensor4D, t: ArrayLike<number>) => {
      const ab = alphaBar(schedule, t[0]!);
      return tf.div(tf.sub(xt, tf.mul(x0, Math.sqrt(ab))), Math.sqrt(1 - ab)) as tf.Tensor4D;
    };
    const seen: number[] = [];
    const ddim = new DDIMScheduler(schedule, { prediction: 'eps', seed: 4, clipSample: false });
    ddim.setTimesteps(10);
    const out = runSampler(ddim, oracle, SHAPE, { onStep: (i, n) => seen.push(i, n) });
    assert.ok(maxAbsDiff(out, x0) < 1e-4);
    assert.deepEqual(seen.filter((_, i) => i % 2 === 0), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    // A stochastic sampler with an imperfect denoiser: same seed, same frames; another seed, others.
    const blunt = (xt: tf.Tensor4D) => tf.mul(xt, 0.5) as tf.Tensor4D;
    const ddpm = (seed: number) => {
      const s = new DDPMScheduler(makeSchedule(resolveDiffusionConfig({ timesteps: 20 })), { prediction: 'eps', seed });
      return runSampler(s, blunt, SHAPE);
    };
    assert.equal(maxAbsDiff(ddpm(1), ddpm(1)), 0);
    assert.ok(maxAbsDiff(ddpm(1), ddpm(2)) > 1e-2);
  });
});

describe('diffusion and sample config', () => {
  it('defaults match CONFIG-SHAPES and errors name the field', () => {
    assert.deepEqual(resolveDiffusionConfig({}), { schedule: 'linear', timesteps: 1000, betaStart: 0.0001, betaEnd: 0.02, prediction: 'eps', residual: false });
    assert.deepEqual(resolveSampleConfig({}), { sampler: 'ddim', steps: 50, spacing: 'leading', eta: 0, seed: 0, tile: 0, tileOverlap: 32, window: 'blocks' });
    assert.throws(() => resolveSampleConfig({ spacing: 'linspace' }), /sample\.spacing: expected one of leading, trailing/);
    const bad: [() => unknown, RegExp][] = [
      [() => resolveDiffusionConfig({ schedule: 'sigmoid' }, 'base.diffusion'), /^base\.diffusion\.schedule: expected one of linear, cosine/],
      [() => resolveDiffusionConfig({ betaEnd: 1e-5 }), /diffusion\.betaEnd: 0\.00001 is below betaStart|diffusion\.betaEnd: 1e-5 is below betaStart/],
      [() => resolveDiffusionConfig({ timesteps: 1.5 }), /diffusion\.timesteps: expected an integer ≥ 2/],
      [() => resolveDiffusionConfig({ prediction: 'score' }), /diffusion\.prediction: expected one of eps, x0, v/],
      [() => resolveDiffusionConfig({ residual: 'yes' }), /diffusion\.residual: expected true or false, got "yes"/],
      [() => resolveSampleConfig({ eta: 2 }), /sample\.eta: expected a number in \[0, 1\]/],
      [() => resolveSampleConfig({ stepz: 2 }), /sample\.stepz: unknown key/],
    ];
    for (const [f, re] of bad) assert.throws(f, (e: unknown) => e instanceof UsageError && re.test(e.message), String(re));
  });

  it('residual diffusion: the sampler clips the x0 estimate to ±2 (residuals of [−1, 1] frames), blurry is added back', () => {
    const sample = resolveSampleConfig({ steps: 1 });
    const x = tf.tensor4d([0, 0, 0, 0], [1, 1, 1, 4]);
    const pred = tf.tensor4d([-3, -1.5, 1.5, 3], [1, 1, 1, 4]);
    const estimate = (residual: boolean) => {
      const s = createScheduler(resolveDiffusionConfig({ prediction: 'x0', residual }), sample);
      const { prevSample, predX0 } = s.step(pred, s.timesteps[0]!, x);
      prevSample.dispose();
      return Array.from(predX0.dataSync());
    };
    assert.deepEqual(estimate(true), [-2, -1.5, 1.5, 2]);
    assert.deepEqual(estimate(false), [-1, -1, 1, 1]);
    const blurry = tf.tensor4d([0.5, -0.5, 0, 1], [1, 1, 1, 4]);
    assert.deepEqual(Array.from(restoredFrames(true, pred, blurry).dataSync()), [-2.5, -2, 1.5, 4]);
    assert.deepEqual(Array.from(restoredFrames(false, pred, blurry).dataSync()), [-3, -1.5, 1.5, 3]);
    assert.deepEqual(Array.from(diffusionData(true, pred, blurry).dataSync()), [-3.5, -1, 1.5, 2]);
    tf.dispose([x, pred, blurry]);
  });

  it('linearBetas is inclusive at both ends', () => {
    assert.deepEqual(Array.from(linearBetas(3, 0.1, 0.3)).map((b) => +b.toFixed(12)), [0.1, 0.2, 0.3]);
  });
});
