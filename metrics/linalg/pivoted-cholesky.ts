/**
 * Pivoted Cholesky factorisation of a symmetric positive semi-definite matrix, float64:
 * `S[perm[i]][perm[j]] = sum_c R[c][i] R[c][j]`, i.e. `P S P' = R' R` with R upper trapezoidal
 * (rank x n, row c zero before column c). It stops once every remaining pivot is at most `tol`, so a
 * singular covariance (fewer samples than dimensions) yields its true low rank instead of failing;
 * diagonal pivoting makes this rank revealing in practice (as LAPACK's dpstrf).
 *
 * Left-looking: each step builds one row of R from the previous rows, so the work is O(n rank^2)
 * — cheap when the rank is small, n^3/6 multiply-adds at full rank.
 */

export interface PivotedCholesky {
  n: number;
  /** Numerical rank: the number of rows of R. */
  rank: number;
  /** perm[i] = the original index of row/column i of the permuted matrix. */
  perm: Int32Array;
  /** R, row-major rank x n; row c is zero in columns 0..c-1. */
  factor: Float64Array;
}

/**
 * Factors the symmetric PSD matrix `s` (row-major n x n; left untouched).
 * `tol` defaults to LAPACK's `n * eps * max(diag)`.
 */
export function pivotedCholesky(s: Float64Array, n: number, tol?: number): PivotedCholesky {
  if (s.length !== n * n) throw new Error(`pivotedCholesky: expected ${n}x${n} = ${n * n} values, got ${s.length}`);
  const perm = new Int32Array(n);
  const residual = new Float64Array(n); // diagonal of the remaining Schur complement, permuted order
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    perm[i] = i;
    residual[i] = s[i * n + i]!;
    maxDiag = Math.max(maxDiag, residual[i]!);
  }
  const threshold = tol ?? n * Number.EPSILON * maxDiag;
  const rows: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    let p = j;
    for (let i = j + 1; i < n; i++) if (residual[i]! > residual[p]!) p = i;
    if (!(residual[p]! > threshold)) break;
    if (p !== j) {
      swap(perm, j, p);
      swap(residual, j, p);
      for (const r of rows) swap(r, j, p);
    }
    const pivot = Math.sqrt(residual[j]!);
    const v = new Float64Array(n);
    v[j] = pivot;
    const srow = perm[j]! * n;
    for (let i = j + 1; i < n; i++) v[i] = s[srow + perm[i]!]!;
    for (const r of rows) {
      const f = r[j]!;
      if (f === 0) continue;
      for (let i = j + 1; i < n; i++) v[i]! -= f * r[i]!;
    }
    const inv = 1 / pivot;
    for (let i = j + 1; i < n; i++) {
      const x = v[i]! * inv;
      v[i] = x;
      residual[i]! -= x * x;
    }
    rows.push(v);
  }
  const rank = rows.length;
  const factor = new Float64Array(rank * n);
  rows.forEach((r, c) => factor.set(r, c * n));
  return { n, rank, perm, factor };
}

function swap(a: Float64Array | Int32Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}
