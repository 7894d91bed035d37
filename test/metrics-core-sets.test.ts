import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  FeatureStatistics,
  LegacyRandomState,
  frechetDistance,
  kernelInceptionDistance,
  kernelInceptionDistanceOfSets,
} from '../metrics/index.ts';
import { pivotedCholesky, symmetricEigenvalues } from '../metrics/linalg/index.ts';
import { UsageError } from '../src/errors.ts';
import { lcgFeatures } from './fixtures/metrics-core/lcg-features.ts';
import type { LcgSet } from './fixtures/metrics-core/lcg-features.ts';

// Expected numbers from NumPy 1.24 / SciPy 1.10 (test/fixtures/metrics-core/gen-metrics-core.py); the
// features themselves come from the seeded formula both sides implement (lcg-features.ts).
const fx = JSON.parse(fs.readFileSync(new URL('./fixtures/metrics-core/features.json', import.meta.url), 'utf8')) as {
  sets: Record<string, LcgSet>;
  means: Record<string, number[]>;
  covariances: Record<string, number[][]>;
  fid: Record<string, { sqrtm: number; svd: number }>;
  kid: Record<string, { subsets: number; size: number; seed: number; mean: number; std: number; firstSubset: number[][] }>;
  eigvalsh: { seed: number; n: number; eigenvalues: number[] }[];
  mt19937: { seed: number; permutation10: number[]; permutation1000head: number[] };
};

function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}

function statsOf(name: string, keepFeatures = true): FeatureStatistics {
  const set = fx.sets[name]!;
  const s = new FeatureStatistics(set.d, { keepFeatures });
  s.add(lcgFeatures(set));
  return s;
}

describe('linear algebra (float64)', () => {
  it('symmetric eigenvalues equal numpy.linalg.eigvalsh on covariance matrices', () => {
    for (const c of fx.eigvalsh) {
      const s = new FeatureStatistics(c.n);
      s.add(lcgFeatures({ seed: c.seed, n: c.n + 3, d: c.n, offset: 0 }));
      const got = symmetricEigenvalues(s.covariance(), c.n);
      const scale = Math.max(...c.eigenvalues.map(Math.abs));
      c.eigenvalues.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) < 1e-12 * scale, `eigenvalue ${i}: ${got[i]} vs ${v}`));
    }
  });

  it('symmetric eigenvalues: closed forms (diagonal, 2x2, repeated, empty)', () => {
    assert.deepEqual([...symmetricEigenvalues(Float64Array.of(3, 0, 0, 0, -1, 0, 0, 0, 2), 3)], [-1, 2, 3]);
    const two = symmetricEigenvalues(Float64Array.of(2, 1, 1, 2), 2);
    assert.ok(Math.abs(two[0]! - 1) < 1e-15 && Math.abs(two[1]! - 3) < 1e-15);
    // J - I for the 5x5 all-ones J: eigenvalues -1 (x4) and 4.
    const n = 5;
    const a = new Float64Array(n * n).map((_, k) => (k % (n + 1) === 0 ? 0 : 1));
    const ev = symmetricEigenvalues(a, n);
    [-1, -1, -1, -1, 4].forEach((v, i) => assert.ok(Math.abs(ev[i]! - v) < 1e-14, `${ev[i]} vs ${v}`));
    assert.equal(symmetricEigenvalues(new Float64Array(0), 0).length, 0);
  });

  it('pivoted Cholesky reconstructs P S P\' and finds the rank of a singular covariance', () => {
    const s = statsOf('c64'); // 40 samples in 64-d: rank 39
    const cov = s.covariance();
    const d = s.dim;
    const { rank, perm, factor } = pivotedCholesky(cov, d);
    assert.equal(rank, 39);
    let maxErr = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let v = 0;
        for (let c = 0; c < rank; c++) v += factor[c * d + i]! * factor[c * d + j]!;
        maxErr = Math.max(maxErr, Math.abs(v - cov[perm[i]! * d + perm[j]!]!));
      }
    }
    assert.ok(maxErr < 1e-14, `max reconstruction error ${maxErr}`);
    // R is upper trapezoidal in the pivot order.
    for (let c = 0; c < rank; c++) for (let i = 0; i < c; i++) assert.equal(factor[c * d + i], 0);
  });
});

describe('streaming feature statistics', () => {
  it('mean and covariance equal numpy (np.cov, n-1) whatever the batching, and merging equals adding', () => {
    for (const name of ['a64', 'k3']) {
      const set = fx.sets[name]!;
      const x = lcgFeatures(set);
      const d = set.d;
      const whole = statsOf(name, false);
      const batched = new FeatureStatistics(d);
      const left = new FeatureStatistics(d);
      const right = new FeatureStatistics(d);
      for (let r = 0; r < set.n; r += 7) batched.add(x.subarray(r * d, Math.min(set.n, r + 7) * d));
      left.add(x.subarray(0, 33 * d));
      right.add(x.subarray(33 * d));
      left.merge(right);
      for (const s of [whole, batched, left]) {
        assert.equal(s.count, set.n);
        fx.means[name]!.forEach((v, j) => assert.ok(rel(s.mean()[j]!, v) < 1e-13, `${name} mean[${j}]`));
        const cov = s.covariance();
        fx.covariances[name]!.forEach((row, i) => row.forEach((v, j) => assert.ok(rel(cov[i * d + j]!, v) < 1e-11, `${name} cov[${i}][${j}] ${cov[i * d + j]} vs ${v}`)));
      }
    }
  });

  it('n < 2: the mean of one row is that row; the covariance is refused with the count', () => {
    const s = new FeatureStatistics(3);
    assert.throws(() => s.mean(), /the mean of an empty set is undefined/);
    s.add(Float32Array.of(1, 2, 3));
    assert.deepEqual([...s.mean()], [1, 2, 3]);
    assert.throws(() => s.covariance(), (e: unknown) => e instanceof UsageError && /at least 2 feature vectors, got 1/.test(e.message));
    assert.throws(() => s.add(Float32Array.of(1, 2)), /a batch of 2 values is not a whole number of 3-d rows/);
    assert.throws(() => s.add(Float32Array.of(1, NaN, 2)), /row 2 has a non-finite value at index 1/);
  });
});

describe('Fréchet distance', () => {
  it('d=64, n=300/400: equals pytorch-fid (scipy sqrtm) and the SVD route to 1e-12', () => {
    const e = fx.fid['a64:b64']!;
    const r = frechetDistance(statsOf('a64'), statsOf('b64'));
    assert.equal(r.method, 'factor');
    assert.ok(rel(r.distance, e.sqrtm) < 1e-12, `${r.distance} vs ${e.sqrtm}`);
    assert.ok(rel(r.distance, e.svd) < 1e-12);
    // Fewer than 2048 vectors per set: the result says FID is biased for small sets.
    assert.equal(r.notes.length, 2);
    assert.match(r.notes[0]!, /the first set has 300 feature vectors \(< 2048\); FID is biased upward/);
    // A fresh set against saved statistics (the `--gt stats.npz` case) gives the same number.
    const mixed = frechetDistance(statsOf('a64'), statsOf('b64').gaussian());
    assert.ok(rel(mixed.distance, e.svd) < 1e-12);
  });

  it('n < d (d=64, n=40/30 and d=2048, n=100/120): Gram and factor routes agree with the SVD reference; sqrtm is off', () => {
    for (const key of ['c64:d64', 'a2048:b2048']) {
      const [a, b] = key.split(':') as [string, string];
      const sa = statsOf(a);
      const sb = statsOf(b);
      let t = performance.now();
      const gram = frechetDistance(sa, sb);
      const gramMs = performance.now() - t;
      t = performance.now();
      const factor = frechetDistance(sa.gaussian(), sb.gaussian());
      const factorMs = performance.now() - t;
      const e = fx.fid[key]!;
      assert.equal(gram.method, 'gram');
      assert.ok(Number.isFinite(gram.distance) && Number.isFinite(factor.distance));
      assert.ok(rel(gram.distance, e.svd) < 1e-8, `${key} gram ${gram.distance} vs ${e.svd}`);
      assert.ok(rel(factor.distance, e.svd) < 1e-10, `${key} factor ${factor.distance} vs ${e.svd}`);
      console.log(
        `# Fréchet ${key}: gram ${gramMs.toFixed(0)} ms, factor ${factorMs.toFixed(0)} ms; ` +
          `relative error of scipy sqrtm (pytorch-fid) ${rel(e.sqrtm, e.svd).toExponential(1)}, ours ${rel(factor.distance, e.svd).toExponential(1)}`,
      );
    }
  });

  it('closed forms: identical sets give 0; Gaussians with known moments give the textbook value', () => {
    const s = statsOf('a64');
    assert.ok(Math.abs(frechetDistance(s, s).distance) < 1e-10);
    assert.ok(Math.abs(frechetDistance(s.gaussian(), s.gaussian()).distance) < 1e-10);
    // Diagonal covariances: FD = |mu1-mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
    const d = 4;
    const diag = (v: number[]): Float64Array => {
      const m = new Float64Array(d * d);
      v.forEach((x, i) => (m[i * d + i] = x));
      return m;
    };
    const a = [1, 4, 9, 0.25];
    const b = [4, 1, 1, 0]; // singular
    const mu1 = Float64Array.of(0, 1, 2, 3);
    const mu2 = Float64Array.of(1, 1, 0, 3);
    const expected = 5 + a.reduce((acc, ai, i) => acc + (Math.sqrt(ai) - Math.sqrt(b[i]!)) ** 2, 0);
    const got = frechetDistance({ mu: mu1, sigma: diag(a) }, { mu: mu2, sigma: diag(b) }).distance;
    assert.ok(Math.abs(got - expected) < 1e-13, `${got} vs ${expected}`);
    // Commuting full covariances: S2 = c^2 S1 gives tr sqrt(S1 S2) = c tr S1.
    const s1 = s.covariance();
    const s2 = s1.map((v) => 4 * v);
    const zero = new Float64Array(64);
    const r = frechetDistance({ mu: zero, sigma: s1 }, { mu: zero, sigma: s2 });
    let tr = 0;
    for (let i = 0; i < 64; i++) tr += s1[i * 64 + i]!;
    assert.ok(Math.abs(r.traceSqrtProduct - 2 * tr) < 1e-12 * tr);
  });

  it('mismatched or malformed statistics are refused with what was expected', () => {
    const g = statsOf('a64').gaussian();
    assert.throws(() => frechetDistance(g, { mu: new Float64Array(3), sigma: new Float64Array(9) }), /different feature sizes \(64 and 3\)/);
    assert.throws(() => frechetDistance(g, { mu: g.mu, sigma: new Float64Array(10) }), /sigma has 10 values, expected 64x64/);
    const one = new FeatureStatistics(64, { keepFeatures: true });
    one.add(new Float64Array(64));
    assert.throws(() => frechetDistance(statsOf('a64'), one), /second set needs at least 2 feature vectors, got 1/);
  });

  it('speed: full-rank covariances, d=1024 (logged, not asserted; the n < d case at d=2048 is logged above)', () => {
    // Full rank and well conditioned: S = I + small symmetric noise, the worst case for the factor route.
    // The cost is O(d^3): d=2048 takes 8x this (kept out of the test to respect the shared machine).
    const d = 1024;
    const make = (seed: number): Float64Array => {
      let state = seed;
      const next = (): number => {
        state = (Math.imul(1664525, state) + 1013904223) >>> 0;
        return state / 4294967296 - 0.5;
      };
      const m = new Float64Array(d * d);
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < i; j++) m[i * d + j] = m[j * d + i] = 0.002 * next();
        m[i * d + i] = 1 + (i % 7) * 0.1;
      }
      return m;
    };
    const mu = new Float64Array(d);
    const t = performance.now();
    const r = frechetDistance({ mu, sigma: make(1) }, { mu, sigma: make(2) });
    assert.ok(Number.isFinite(r.distance) && r.distance >= 0);
    console.log(`# speed Fréchet distance d=${d} full rank: ${((performance.now() - t) / 1000).toFixed(1)} s (wall, shared machine)`);
  });
});

describe('KID', () => {
  it('the subset sampler is numpy\'s legacy RandomState (MT19937 + Fisher-Yates), as torch-fidelity uses', () => {
    const rs = new LegacyRandomState(fx.mt19937.seed);
    assert.deepEqual([...rs.permutation(10)], fx.mt19937.permutation10);
    assert.deepEqual([...rs.permutation(1000).subarray(0, 8)], fx.mt19937.permutation1000head);
    const e = fx.kid['k1:k3 m50']!;
    const draw = new LegacyRandomState(e.seed);
    assert.deepEqual([...draw.choice(fx.sets.k1!.n, e.size)], e.firstSubset[0]);
    assert.deepEqual([...draw.choice(fx.sets.k3!.n, e.size)], e.firstSubset[1]);
  });

  it('mean and std over subsets equal torch-fidelity\'s procedure in numpy (float64)', () => {
    for (const [key, e] of Object.entries(fx.kid)) {
      const [a, b] = key.split(' ')[0]!.split(':') as [string, string];
      const d = fx.sets[a]!.d;
      const r = kernelInceptionDistance(lcgFeatures(fx.sets[a]!), lcgFeatures(fx.sets[b]!), d, {
        subsets: e.subsets,
        subsetSize: e.size,
        seed: e.seed,
      });
      assert.equal(r.values.length, e.subsets);
      assert.equal(r.subsetSize, e.size);
      assert.ok(Math.abs(r.mean - e.mean) < 1e-10 * Math.max(1, Math.abs(e.mean)) + 1e-13, `${key} mean ${r.mean} vs ${e.mean}`);
      assert.ok(Math.abs(r.std - e.std) < 1e-10 * Math.max(1, Math.abs(e.std)) + 1e-13, `${key} std ${r.std} vs ${e.std}`);
      assert.deepEqual(r.notes, []);
    }
  });

  it('full-Gram and per-subset methods give bit-identical results; accumulators can be passed directly', () => {
    const e = fx.kid['k1:k3 m50']!;
    const opts = { subsets: e.subsets, subsetSize: e.size, seed: e.seed };
    const x = lcgFeatures(fx.sets.k1!);
    const y = lcgFeatures(fx.sets.k3!);
    const full = kernelInceptionDistance(x, y, 64, { ...opts, method: 'full-gram' });
    const per = kernelInceptionDistance(x, y, 64, { ...opts, method: 'per-subset' });
    assert.equal(full.method, 'full-gram');
    assert.equal(per.method, 'per-subset');
    assert.deepEqual([...per.values], [...full.values]);
    const sets = kernelInceptionDistanceOfSets(statsOf('k1'), statsOf('k3'), opts);
    assert.deepEqual([...sets.values], [...full.values]);
    assert.throws(() => kernelInceptionDistanceOfSets(statsOf('k1', false), statsOf('k3'), opts), /first set did not keep its raw features/);
  });

  it('closed form for identical sets; a subset size above the smaller set is clamped, and said so', () => {
    const x = lcgFeatures(fx.sets.k3!);
    // X against itself (m = n): the cross term keeps the diagonal, so MMD^2_u = 2 (off/(m(m-1)) - (off+diag)/m^2).
    const m = 90;
    let off = 0;
    let diag = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        let dot = 0;
        for (let t = 0; t < 64; t++) dot += x[i * 64 + t]! * x[j * 64 + t]!;
        const k = (dot / 64 + 1) ** 3;
        if (i === j) diag += k;
        else off += k;
      }
    }
    const same = kernelInceptionDistance(x, x, 64, { subsets: 2, subsetSize: m });
    const expected = 2 * (off / (m * (m - 1)) - (off + diag) / (m * m));
    assert.ok(Math.abs(same.mean - expected) < 1e-12 && same.std < 1e-12, `${same.mean} vs ${expected}`);
    const r = kernelInceptionDistance(lcgFeatures(fx.sets.k1!), x, 64, { subsets: 2 });
    assert.equal(r.subsetSize, 90);
    assert.deepEqual(r.notes, ['KID subset size clamped from 1000 to 90 (the smaller set has 90 feature vectors)']);
    assert.throws(() => kernelInceptionDistance(x, x.subarray(0, 64), 64), /each set needs at least 2 feature vectors, got 90 and 1/);
    assert.throws(() => kernelInceptionDistance(x, x, 64, { subsets: 0 }), /subsets must be a positive integer, got 0/);
  });
});
