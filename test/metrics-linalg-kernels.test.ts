import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gramOfRows, multiplyABt, symmetricEigenvalues } from '../metrics/linalg/index.ts';

/** A small seeded generator (values in [-0.5, 0.5)), so every run checks the same matrices. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function randomMatrix(rows: number, cols: number, next: () => number, keep: (i: number, j: number) => boolean = () => true): Float64Array {
  const m = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m[i * cols + j] = keep(i, j) ? next() : 0;
  return m;
}

/** The textbook triple loop, the oracle for the blocked kernels. */
function naiveABt(a: Float64Array, m: number, b: Float64Array, n: number, k: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) c[i * n + j]! += a[i * k + t]! * b[j * k + t]!;
  return c;
}

function maxAbsDiff(x: Float64Array, y: Float64Array, only: (idx: number) => boolean = () => true): number {
  let d = 0;
  for (let i = 0; i < x.length; i++) if (only(i)) d = Math.max(d, Math.abs(x[i]! - y[i]!));
  return d;
}

describe('blocked float64 kernels agree with the textbook loops', () => {
  // Odd row counts reach the single-row tail after the row pairs; column counts not divisible by 4 the
  // column tail; more than 32 columns cross a cache block.
  const shapes: [number, number, number][] = [[1, 1, 1], [2, 3, 6], [5, 4, 7], [7, 9, 33], [12, 37, 5], [33, 70, 40]];

  it('multiplyABt equals A B\' for every shape, dense and with triangular ranges', () => {
    const next = rng(7);
    for (const [m, n, k] of shapes) {
      const a = randomMatrix(m, k, next);
      const b = randomMatrix(n, k, next);
      assert.ok(maxAbsDiff(multiplyABt(a, m, b, n, k), naiveABt(a, m, b, n, k)) < 1e-13, `dense ${m}x${n}x${k}`);
      // Upper trapezoidal A (row i zero before column i): the range [i, k) skips only zeros.
      const tri = randomMatrix(m, k, next, (i, j) => j >= i);
      const got = multiplyABt(tri, m, b, n, k, (i) => [Math.min(i, k), k]);
      assert.ok(maxAbsDiff(got, naiveABt(tri, m, b, n, k)) < 1e-13, `triangular ${m}x${n}x${k}`);
    }
  });

  it('gramOfRows is the symmetric A A\' (both triangles) including the wanted-block skipping', () => {
    const next = rng(11);
    for (const [m, , k] of shapes) {
      const a = randomMatrix(m, k, next);
      assert.ok(maxAbsDiff(gramOfRows(a, m, k), naiveABt(a, m, a, m, k)) < 1e-13, `gram ${m}x${k}`);
    }
  });

  it('symmetric eigenvalues of Q diag(l) Q\' are l (even and odd sizes, the paired-row sweep and its tail)', () => {
    const next = rng(3);
    for (const n of [1, 2, 3, 4, 5, 8, 9, 33, 64, 101]) {
      const lambda = Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : 1 + 10 * (next() + 0.5)));
      // Q = I - 2 u u' / u'u is exactly orthogonal; a second reflector mixes every entry.
      let s: Float64Array = new Float64Array(n * n);
      for (let i = 0; i < n; i++) s[i * n + i] = lambda[i]!;
      for (let r = 0; r < 2; r++) {
        const u = Float64Array.from({ length: n }, () => next());
        const uu = u.reduce((acc, x) => acc + x * x, 0);
        const q = new Float64Array(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) q[i * n + j] = (i === j ? 1 : 0) - (2 * u[i]! * u[j]!) / uu;
        // s <- Q s Q' (Q symmetric): two products with the textbook loop.
        s = naiveABt(naiveABt(q, n, s, n, n), n, q, n, n);
      }
      const got = symmetricEigenvalues(s, n);
      const want = Float64Array.from(lambda).sort();
      assert.ok(maxAbsDiff(got, want) < 1e-12 * 11, `n=${n}: ${got.slice(0, 4).join(', ')} vs ${want.slice(0, 4).join(', ')}`);
    }
  });
});
