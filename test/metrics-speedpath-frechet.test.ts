/**
 * The Fréchet distance's WebAssembly SIMD route against the pivoted JS route and textbook loops: the
 * generated gemm kernels (every variant, padded strides, several k blocks), the blocked Cholesky + L'S2L
 * + SIMD tridiagonal sweep giving the same tr sqrt(S1 S2) for sizes that exercise the padding to a
 * multiple of 4, and the fallback when S1 is singular. (Agreement with SciPy on reference statistics is in
 * metrics-core-sets, which now runs through this route.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { traceSqrtProduct } from '../metrics/index.ts';
import { balancedRowBounds, createGemmKernels, GEMM_VARIANTS, gemmName } from '../metrics/linalg/gemm-kernel.ts';
import { fullRankProductEigenvalues, multiplyABt, symmetricEigenvalues } from '../metrics/linalg/index.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
}

/** Sample covariance of `samples` random vectors with unequal scales (full rank when samples > d). */
function covariance(d: number, samples: number, next: () => number): Float64Array {
  const x = new Float64Array(d * samples);
  for (let i = 0; i < d; i++) for (let t = 0; t < samples; t++) x[i * samples + t] = next() * (1 + (i % 5));
  const s = multiplyABt(x, d, x, d, samples);
  for (let i = 0; i < s.length; i++) s[i]! /= samples;
  return s;
}

describe('generated gemm kernels equal the textbook loop', () => {
  for (const v of GEMM_VARIANTS) {
    it(gemmName(v), () => {
      const kernels = createGemmKernels();
      assert.ok(kernels, 'WebAssembly SIMD is available in Node 20');
      const next = rng(17);
      // k = 600 crosses two k blocks (256 doubles); n = 200 crosses B-row blocks (64); padded strides.
      for (const [m, n, k] of [[4, 4, 2], [8, 36, 10], [136, 200, 600]] as const) {
        const [lda, ldb, ldc] = [k + 2, k + 4, n + 4];
        const mem = kernels.reserve((m * lda + n * ldb + m * ldc) * 8);
        const [A, B, C] = [0, m * lda, m * lda + n * ldb];
        for (let i = 0; i < m; i++) for (let t = 0; t < k; t++) mem[A + i * lda + t] = v.fromRow && t < i ? 0 : next();
        for (let i = 0; i < n * ldb; i++) mem[B + i] = next();
        for (let i = 0; i < m * ldc; i++) mem[C + i] = next();
        const before = mem.slice(C, C + m * ldc);
        kernels.get(v)(A * 8, lda * 8, B * 8, ldb * 8, C * 8, ldc * 8, m, n, k, 0);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < (v.lower ? Math.min(n, i + 1) : n); j++) {
            let dot = 0;
            for (let t = 0; t < k; t++) dot += mem[A + i * lda + t]! * mem[B + j * ldb + t]!;
            const want = before[i * ldc + j]! + (v.mode === 'sub' ? -dot : dot);
            assert.ok(Math.abs(mem[C + i * ldc + j]! - want) <= 1e-13 * (1 + Math.abs(want)), `${m}x${n}x${k} C[${i}][${j}]`);
          }
        }
      }
    });
  }
});

describe('split products: the same result from row ranges on helper threads', () => {
  it('balancedRowBounds cuts at multiples of 4 into ranges of near-equal work', () => {
    const lowerFromRow = { mode: 'add', lower: true, fromRow: true } as const;
    const b = balancedRowBounds(lowerFromRow, 2048, 2048, 2048, 2);
    assert.equal(b.length, 3);
    assert.deepEqual([b[0], b[2]], [0, 2048]);
    assert.equal(b[1]! % 4, 0);
    // Row i does (i + 2)(2048 - i) multiply-adds: symmetric about the middle.
    assert.ok(Math.abs(b[1]! - 1024) <= 4, `cut at ${b[1]}`);
    const fromRow = balancedRowBounds({ mode: 'add', lower: false, fromRow: true }, 2048, 2048, 2048, 2);
    // Row i does 2048 - i: half the work is in the first 1 - 1/sqrt(2) of the rows.
    assert.ok(Math.abs(fromRow[1]! - 2048 * (1 - Math.SQRT1_2)) <= 4, `cut at ${fromRow[1]}`);
    assert.deepEqual(balancedRowBounds(lowerFromRow, 8, 8, 8, 4).length, 5);
  });

  for (const v of GEMM_VARIANTS) {
    it(`${gemmName(v)} on 3 threads equals one thread bit for bit`, () => {
      const one = createGemmKernels(1)!;
      const three = createGemmKernels(3)!;
      try {
        assert.equal(three.threads, 3, 'helper threads need SharedArrayBuffer, which Node has');
        const [m, n, k] = [200, 136, 260];
        const [lda, ldb, ldc] = [k + 2, k + 4, n + 4];
        const next = rng(29);
        const bytes = (m * lda + n * ldb + m * ldc) * 8;
        const [A, B, C] = [0, m * lda, m * lda + n * ldb];
        const init = one.reserve(bytes);
        for (let i = 0; i < m; i++) for (let t = 0; t < k; t++) init[A + i * lda + t] = v.fromRow && t < i ? 0 : next();
        for (let i = 0; i < n * ldb + m * ldc; i++) init[B + i] = next();
        const shared = three.reserve(bytes);
        shared.set(init.subarray(0, bytes / 8));
        one.gemmSplit(v, A * 8, lda * 8, B * 8, ldb * 8, C * 8, ldc * 8, m, n, k);
        three.gemmSplit(v, A * 8, lda * 8, B * 8, ldb * 8, C * 8, ldc * 8, m, n, k);
        const a = one.reserve(bytes).subarray(C, C + m * ldc);
        const b = three.reserve(bytes).subarray(C, C + m * ldc);
        for (let i = 0; i < m; i++) for (let j = 0; j < (v.lower ? Math.min(n, i + 1) : n); j++) assert.equal(b[i * ldc + j], a[i * ldc + j], `C[${i}][${j}]`);
      } finally {
        one.close();
        three.close();
      }
    });
  }

  it('the full-rank route on 2 threads gives the eigenvalues of 1 thread', () => {
    const next = rng(8);
    const d = 301;
    const s1 = covariance(d, d + 40, next);
    const s2 = covariance(d, d + 7, next);
    const one = fullRankProductEigenvalues(s1, s2, d, 1)!;
    const two = fullRankProductEigenvalues(s1, s2, d, 2)!;
    const top = one[d - 1]!;
    for (let i = 0; i < d; i++) assert.ok(Math.abs(two[i]! - one[i]!) <= 1e-12 * top, `eigenvalue ${i}: ${two[i]} vs ${one[i]}`);
  });
});

describe('full-rank SIMD route equals the pivoted route', () => {
  it('tr sqrt(S1 S2) agrees to 1e-12 relative for d = 1..70 (padding to a multiple of 4, odd sweeps)', () => {
    const next = rng(5);
    for (const d of [1, 2, 3, 4, 5, 6, 7, 33, 64, 70]) {
      const s1 = covariance(d, d + 9, next);
      const s2 = covariance(d, 2 * d + 3, next);
      const fast = traceSqrtProduct(s1, s2, d, true, 'auto');
      const pivoted = traceSqrtProduct(s1, s2, d, true, 'pivoted');
      assert.ok(fast > 0);
      assert.ok(Math.abs(fast - pivoted) <= 1e-12 * pivoted, `d=${d}: ${fast} vs ${pivoted}`);
    }
  });

  it('the eigenvalues are those of S1 S2: S1 = S2 = diag(l) gives l^2', () => {
    const d = 37;
    const l = Float64Array.from({ length: d }, (_, i) => 0.5 + i);
    const s = new Float64Array(d * d);
    for (let i = 0; i < d; i++) s[i * d + i] = l[i]!;
    const got = fullRankProductEigenvalues(s, s, d);
    assert.ok(got);
    const want = l.map((x) => x * x).sort();
    for (let i = 0; i < d; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-12 * want[d - 1]!, `eigenvalue ${i}`);
  });

  it('a dense 130 x 130 product (many sweep pairs) matches the JS solver, and S1 S1 has the squared spectrum of S1', () => {
    const next = rng(9);
    const d = 130;
    const s1 = covariance(d, 200, next);
    const s2 = covariance(d, 300, next);
    const got = fullRankProductEigenvalues(s1, s2, d);
    assert.ok(got);
    // Oracle: the pivoted JS route (its own factor and eigen-solver, no kernel).
    const trace = traceSqrtProduct(s1, s2, d, true, 'pivoted');
    const fromFast = got.reduce((acc, x) => acc + Math.sqrt(Math.max(x, 0)), 0);
    assert.ok(Math.abs(fromFast - trace) <= 1e-12 * trace, `${fromFast} vs ${trace}`);
    // With S2 = S1 the eigenvalues of S1 S2 are the squares of S1's own (JS eigen-solver on S1).
    const same = fullRankProductEigenvalues(s1, s1, d);
    const direct = symmetricEigenvalues(s1, d);
    assert.ok(same);
    for (let i = 0; i < d; i++) assert.ok(Math.abs(same[i]! - direct[i]! ** 2) <= 1e-10 * direct[d - 1]! ** 2, `S1 S1 eigenvalue ${i}`);
  });

  it('a singular S1 (fewer samples than dimensions) returns null, and traceSqrtProduct still answers via the pivoted route', () => {
    const next = rng(21);
    const d = 40;
    const s1 = covariance(d, 12, next); // rank 12
    const s2 = covariance(d, 90, next);
    assert.equal(fullRankProductEigenvalues(s1, s2, d), null);
    const auto = traceSqrtProduct(s1, s2, d, true, 'auto');
    assert.equal(auto, traceSqrtProduct(s1, s2, d, true, 'pivoted'));
    assert.ok(auto > 0);
  });
});
