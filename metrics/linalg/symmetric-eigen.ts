/**
 * Eigenvalues of a real symmetric matrix, float64: Householder reduction to tridiagonal form, then the
 * implicit QL algorithm with Wilkinson-style shifts. Eigenvalues only — the Fréchet distance needs no
 * eigenvectors, and skipping them makes the QL phase O(n^2).
 *
 * Matrices are dense row-major Float64Array of n*n; only the lower triangle (j <= i) is read.
 */

/** Reduces the lower triangle of `a` (destroyed) to a tridiagonal (diag, sub) with the same eigenvalues. */
function tridiagonalize(a: Float64Array, n: number): { diag: Float64Array; sub: Float64Array } {
  const diag = new Float64Array(n);
  const sub = new Float64Array(n); // sub[i] couples i and i+1; sub[n-1] = 0
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    diag[k] = a[k * n + k]!;
    // x = column k below the diagonal.
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) {
      const x = a[i * n + k]!;
      v[i] = x;
      norm2 += x * x;
    }
    if (norm2 === 0) {
      sub[k] = 0;
      continue;
    }
    const x0 = v[k + 1]!;
    // Reflect x onto alpha*e1 with alpha of the sign opposite to x0, so v = x - alpha e1 never cancels.
    const alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    sub[k] = alpha;
    v[k + 1] = x0 - alpha;
    const vnorm2 = norm2 - x0 * x0 + v[k + 1]! * v[k + 1]!;
    const beta = 2 / vnorm2;
    // p = beta * B v for the trailing block B = a[k+1.., k+1..], using the lower triangle only.
    p.fill(0, k + 1, n);
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const vi = v[i]!;
      let acc = 0;
      for (let j = k + 1; j < i; j++) {
        const bij = a[row + j]!;
        acc += bij * v[j]!;
        p[j]! += bij * vi;
      }
      p[i]! += acc + a[row + i]! * vi;
    }
    let vp = 0;
    for (let i = k + 1; i < n; i++) {
      p[i]! *= beta;
      vp += v[i]! * p[i]!;
    }
    // q = p - (beta/2)(v.p) v, then B -= v q' + q v' (lower triangle).
    const half = (beta / 2) * vp;
    for (let i = k + 1; i < n; i++) p[i]! -= half * v[i]!;
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const vi = v[i]!;
      const qi = p[i]!;
      for (let j = k + 1; j <= i; j++) a[row + j]! -= vi * p[j]! + qi * v[j]!;
    }
  }
  if (n >= 2) {
    diag[n - 2] = a[(n - 2) * n + n - 2]!;
    sub[n - 2] = a[(n - 1) * n + n - 2]!;
  }
  if (n >= 1) diag[n - 1] = a[(n - 1) * n + n - 1]!;
  return { diag, sub };
}

/** Eigenvalues of the symmetric tridiagonal (diag, sub) by implicit QL; `diag` is overwritten with them. */
function tridiagonalQL(diag: Float64Array, sub: Float64Array, n: number): void {
  const e = sub;
  for (let l = 0; l < n; l++) {
    for (let iter = 0; ; iter++) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(diag[m]!) + Math.abs(diag[m + 1]!);
        if (Math.abs(e[m]!) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (iter === 100) throw new Error(`symmetric eigenvalues: QL did not converge for eigenvalue ${l} of ${n}`);
      // Shift from the leading 2x2 block (Wilkinson).
      let g = (diag[l + 1]! - diag[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = diag[m]! - diag[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let deflated = false;
      for (; i >= l; i--) {
        const f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // Underflow: the matrix splits here; finish this sweep early and retry.
          diag[i + 1]! -= p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = diag[i + 1]! - p;
        r = (diag[i]! - g) * s + 2 * c * b;
        p = s * r;
        diag[i + 1] = g + p;
        g = c * r - b;
      }
      if (deflated) continue;
      diag[l]! -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
}

/**
 * All eigenvalues of the symmetric n x n matrix `a` (row-major; lower triangle read), ascending.
 * `a` is left untouched.
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  if (a.length !== n * n) throw new Error(`symmetricEigenvalues: expected ${n}x${n} = ${n * n} values, got ${a.length}`);
  if (n === 0) return new Float64Array(0);
  const { diag, sub } = tridiagonalize(Float64Array.from(a), n);
  tridiagonalQL(diag, sub, n);
  return diag.sort();
}
