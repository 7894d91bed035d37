/**
 * Pivoted Cholesky factorisation of a symmetric positive semi-definite matrix, float64:
 * `P S P' = L L'` with L lower trapezoidal (n x rank), stopping once every remaining pivot is at most
 * `tol` — so singular covariances (fewer samples than dimensions) give their true low rank instead of
 * failing. Diagonal pivoting makes this rank revealing in practice (as LAPACK's dpstrf).
 */

export interface PivotedCholesky {
  n: number;
  /** Numerical rank: the number of columns of L. */
  rank: number;
  /** perm[i] = the original index of row/column i of the permuted matrix. */
  perm: Int32Array;
  /** L, row-major n x rank; row i is zero beyond column min(i, rank - 1). */
  factor: Float64Array;
}

/**
 * Factors the symmetric PSD matrix `s` (row-major n x n, lower triangle read; left untouched).
 * `tol` defaults to LAPACK's `n * eps * max(diag)`.
 */
export function pivotedCholesky(s: Float64Array, n: number, tol?: number): PivotedCholesky {
  if (s.length !== n * n) throw new Error(`pivotedCholesky: expected ${n}x${n} = ${n * n} values, got ${s.length}`);
  const a = Float64Array.from(s);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, a[i * n + i]!);
  const threshold = tol ?? n * Number.EPSILON * maxDiag;
  const col = new Float64Array(n);
  let rank = 0;
  for (let j = 0; j < n; j++) {
    let p = j;
    for (let i = j + 1; i < n; i++) if (a[i * n + i]! > a[p * n + p]!) p = i;
    const pivot = a[p * n + p]!;
    if (!(pivot > threshold)) break;
    if (p !== j) swapSymmetric(a, n, j, p, perm);
    const ljj = Math.sqrt(pivot);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const lij = a[i * n + j]! / ljj;
      a[i * n + j] = lij;
      col[i] = lij;
    }
    // Right-looking update of the trailing lower triangle: row i -= l_ij * l_j (contiguous axpy).
    for (let i = j + 1; i < n; i++) {
      const lij = col[i]!;
      if (lij === 0) continue;
      const row = i * n;
      for (let k = j + 1; k <= i; k++) a[row + k]! -= lij * col[k]!;
    }
    rank = j + 1;
  }
  const factor = new Float64Array(n * rank);
  for (let i = 0; i < n; i++) {
    const m = Math.min(i, rank - 1);
    for (let c = 0; c <= m; c++) factor[i * rank + c] = a[i * n + c]!;
  }
  return { n, rank, perm, factor };
}

/** Swaps rows/columns j < p of the partly factored matrix, touching only the lower triangle. */
function swapSymmetric(a: Float64Array, n: number, j: number, p: number, perm: Int32Array): void {
  const swap = (x: number, y: number): void => {
    const t = a[x]!;
    a[x] = a[y]!;
    a[y] = t;
  };
  for (let c = 0; c < j; c++) swap(j * n + c, p * n + c); // computed factor rows
  swap(j * n + j, p * n + p);
  for (let i = j + 1; i < p; i++) swap(i * n + j, p * n + i);
  for (let i = p + 1; i < n; i++) swap(i * n + j, i * n + p);
  const t = perm[j]!;
  perm[j] = perm[p]!;
  perm[p] = t;
}
