/**
 * Eigenvalues of a real symmetric matrix, float64: Householder reduction to tridiagonal form, then the
 * implicit QL algorithm with Wilkinson-style shifts. Eigenvalues only — the Fréchet distance needs no
 * eigenvectors, and skipping them makes the QL phase O(n^2).
 *
 * Matrices are dense row-major Float64Array of n*n; only the lower triangle (j <= i) is read.
 */

/**
 * Householder reflector for x = a[k+1.., k] (given in `x` at indices k+1..n-1): fills v (same indices) so
 * that (I - beta v v') x = alpha e1; returns [alpha, beta]. A zero x gives v = 0, beta = 0, alpha = 0.
 */
function reflector(x: Float64Array, k: number, n: number, v: Float64Array): [number, number] {
  let norm2 = 0;
  for (let i = k + 1; i < n; i++) norm2 += x[i]! * x[i]!;
  if (norm2 === 0) {
    v.fill(0, k + 1, n);
    return [0, 0];
  }
  const x0 = x[k + 1]!;
  // alpha takes the sign opposite to x0, so v = x - alpha e1 never cancels.
  const alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
  for (let i = k + 2; i < n; i++) v[i] = x[i]!;
  v[k + 1] = x0 - alpha;
  const vnorm2 = norm2 - x0 * x0 + v[k + 1]! * v[k + 1]!;
  return [alpha, 2 / vnorm2];
}

/**
 * Reduces the lower triangle of `a` (destroyed) to a tridiagonal (diag, sub) with the same eigenvalues.
 *
 * Step k applies H = I - beta v v' to the trailing block B: with p = beta B v and
 * q = p - (beta/2)(v'p) v, B <- B - v q' - q v'. The update of step k and the product B v of step k+1
 * share one sweep over the trailing lower triangle (the next v is computed first from the updated
 * column k+1, an O(n) job), which halves the memory traffic that bounds this phase.
 */
function tridiagonalize(a: Float64Array, n: number, opts: TridiagonalOptions = {}): { diag: Float64Array; sub: Float64Array } {
  const alloc = opts.alloc ?? ((length: number) => new Float64Array(length));
  const sweepPairs = opts.sweepPairs;
  const diag = new Float64Array(n);
  const sub = new Float64Array(n); // sub[i] couples i and i+1; sub[n-1] = 0
  let v = alloc(n);
  let p = alloc(n);
  let vNext = alloc(n);
  let pNext = alloc(n);
  const col = new Float64Array(n);
  const q = alloc(n);
  if (n < 3) return finishTridiagonal(a, n, diag, sub);
  // Step 0: reflector and p = beta B v by a plain symmetric product over the lower triangle.
  for (let i = 1; i < n; i++) col[i] = a[i * n]!;
  let [alpha, beta] = reflector(col, 0, n, v);
  symmetricProduct(a, n, 1, v, p);
  for (let k = 0; k < n - 2; k++) {
    diag[k] = a[k * n + k]!;
    sub[k] = alpha;
    let vp = 0;
    for (let i = k + 1; i < n; i++) {
      p[i]! *= beta;
      vp += v[i]! * p[i]!;
    }
    const half = (beta / 2) * vp;
    for (let i = k + 1; i < n; i++) q[i] = p[i]! - half * v[i]!;
    const k1 = k + 1;
    const hasNext = k1 < n - 2;
    let alphaNext = 0;
    let betaNext = 0;
    const vk1 = v[k1]!;
    const qk1 = q[k1]!;
    if (hasNext) {
      // Column k+1 of the updated block, then the next reflector from it.
      for (let i = k1 + 1; i < n; i++) col[i] = a[i * n + k1]! - v[i]! * qk1 - q[i]! * vk1;
      [alphaNext, betaNext] = reflector(col, k1, n, vNext);
      pNext.fill(0, k1 + 1, n);
    }
    // Row k+1: only its diagonal is in the block.
    a[k1 * n + k1]! -= 2 * vk1 * qk1;
    let i = k1 + 1;
    if (hasNext && sweepPairs) {
      i = sweepPairs(k1, vk1, qk1, v, q, vNext, pNext);
    } else if (hasNext) {
      // Two rows per sweep: each load of v[j], q[j], vNext[j] and each update of pNext[j] serves both.
      for (; i + 1 < n; i += 2) {
        const r0 = i * n;
        const r1 = r0 + n;
        const v0 = v[i]!;
        const q0 = q[i]!;
        const w0 = vNext[i]!;
        const v1 = v[i + 1]!;
        const q1 = q[i + 1]!;
        const w1 = vNext[i + 1]!;
        a[r0 + k1]! -= v0 * qk1 + q0 * vk1;
        a[r1 + k1]! -= v1 * qk1 + q1 * vk1;
        let acc0 = 0;
        let acc1 = 0;
        for (let j = k1 + 1; j < i; j++) {
          const vj = v[j]!;
          const qj = q[j]!;
          const wj = vNext[j]!;
          const x0 = a[r0 + j]! - v0 * qj - q0 * vj;
          const x1 = a[r1 + j]! - v1 * qj - q1 * vj;
          a[r0 + j] = x0;
          a[r1 + j] = x1;
          acc0 += x0 * wj;
          acc1 += x1 * wj;
          pNext[j]! += x0 * w0 + x1 * w1;
        }
        const x10 = a[r1 + i]! - v1 * q0 - q1 * v0; // element (i+1, i)
        a[r1 + i] = x10;
        acc1 += x10 * w0;
        const d0 = a[r0 + i]! - 2 * v0 * q0;
        a[r0 + i] = d0;
        pNext[i]! += acc0 + d0 * w0 + x10 * w1;
        const d1 = a[r1 + i + 1]! - 2 * v1 * q1;
        a[r1 + i + 1] = d1;
        pNext[i + 1]! += acc1 + d1 * w1;
      }
    }
    for (; i < n; i++) {
      const row = i * n;
      const vi = v[i]!;
      const qi = q[i]!;
      a[row + k1]! -= vi * qk1 + qi * vk1;
      if (hasNext) {
        const wi = vNext[i]!;
        let acc = 0;
        for (let j = k1 + 1; j < i; j++) {
          const val = a[row + j]! - vi * q[j]! - qi * v[j]!;
          a[row + j] = val;
          acc += val * vNext[j]!;
          pNext[j]! += val * wi;
        }
        const dii = a[row + i]! - 2 * vi * qi;
        a[row + i] = dii;
        pNext[i]! += acc + dii * wi;
      } else {
        for (let j = k1 + 1; j <= i; j++) a[row + j]! -= vi * q[j]! + qi * v[j]!;
      }
    }
    [v, vNext] = [vNext, v];
    [p, pNext] = [pNext, p];
    alpha = alphaNext;
    beta = betaNext;
  }
  return finishTridiagonal(a, n, diag, sub);
}

/**
 * The paired-row sweep of step k (rows k+2, k+3, ... two at a time, as in the JS loop above) done
 * elsewhere, e.g. by a SIMD kernel on the same memory; returns the first row it left to the caller.
 */
export type PairSweep = (
  k1: number,
  vk1: number,
  qk1: number,
  v: Float64Array,
  q: Float64Array,
  vNext: Float64Array,
  pNext: Float64Array,
) => number;

export interface TridiagonalOptions {
  /** Where the work vectors live (default: fresh arrays); a kernel needs them in its own memory. */
  alloc?: (length: number) => Float64Array;
  sweepPairs?: PairSweep;
}

/** p[from..] = B v for the block B = a[from.., from..] (lower triangle read). */
function symmetricProduct(a: Float64Array, n: number, from: number, v: Float64Array, p: Float64Array): void {
  p.fill(0, from, n);
  for (let i = from; i < n; i++) {
    const row = i * n;
    const vi = v[i]!;
    let acc = 0;
    for (let j = from; j < i; j++) {
      const bij = a[row + j]!;
      acc += bij * v[j]!;
      p[j]! += bij * vi;
    }
    p[i]! += acc + a[row + i]! * vi;
  }
}

function finishTridiagonal(
  a: Float64Array,
  n: number,
  diag: Float64Array,
  sub: Float64Array,
): { diag: Float64Array; sub: Float64Array } {
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
  return symmetricEigenvaluesInPlace(Float64Array.from(a), n);
}

/** As symmetricEigenvalues, overwriting `a` (which may be a view into a kernel's memory, see TridiagonalOptions). */
export function symmetricEigenvaluesInPlace(a: Float64Array, n: number, opts: TridiagonalOptions = {}): Float64Array {
  if (n === 0) return new Float64Array(0);
  const { diag, sub } = tridiagonalize(a, n, opts);
  tridiagonalQL(diag, sub, n);
  return diag.sort();
}
