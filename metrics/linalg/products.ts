/**
 * Dense float64 products of row-major matrices, written as dot products of contiguous rows.
 * Two rows of the left operand meet four rows of the right one per pass (eight accumulators, six loads
 * per eight multiply-adds) and the right operand is walked in blocks that stay in cache — the two things that
 * make plain-JS matrix products several times faster than the textbook triple loop.
 */

const BLOCK_ROWS = 32;

/**
 * dot(a[ao + t], b[bo + t]) for t in [from, to) on four b rows at once; writes to out[oo..oo+3].
 */
function dot4(
  a: ArrayLike<number>,
  ao: number,
  b: ArrayLike<number>,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
  from: number,
  to: number,
  out: Float64Array,
  oo: number,
): void {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let t = from; t < to; t++) {
    const x = a[ao + t]!;
    s0 += x * b[b0 + t]!;
    s1 += x * b[b1 + t]!;
    s2 += x * b[b2 + t]!;
    s3 += x * b[b3 + t]!;
  }
  out[oo] = s0;
  out[oo + 1] = s1;
  out[oo + 2] = s2;
  out[oo + 3] = s3;
}

/** dot4 for two rows of a at once (ao0, ao1): each load of b feeds two accumulators; out[oo..oo+7]. */
function dot2x4(
  a: ArrayLike<number>,
  ao0: number,
  ao1: number,
  b: ArrayLike<number>,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
  from: number,
  to: number,
  out: Float64Array,
): void {
  let s00 = 0;
  let s01 = 0;
  let s02 = 0;
  let s03 = 0;
  let s10 = 0;
  let s11 = 0;
  let s12 = 0;
  let s13 = 0;
  for (let t = from; t < to; t++) {
    const x = a[ao0 + t]!;
    const y = a[ao1 + t]!;
    const c0 = b[b0 + t]!;
    const c1 = b[b1 + t]!;
    const c2 = b[b2 + t]!;
    const c3 = b[b3 + t]!;
    s00 += x * c0;
    s01 += x * c1;
    s02 += x * c2;
    s03 += x * c3;
    s10 += y * c0;
    s11 += y * c1;
    s12 += y * c2;
    s13 += y * c3;
  }
  out[0] = s00;
  out[1] = s01;
  out[2] = s02;
  out[3] = s03;
  out[4] = s10;
  out[5] = s11;
  out[6] = s12;
  out[7] = s13;
}

function dot1(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, from: number, to: number): number {
  let s = 0;
  for (let t = from; t < to; t++) s += a[ao + t]! * b[bo + t]!;
  return s;
}

/**
 * C = A B' for A [m, k] and B [n, k] (row-major): C[i][j] = dot(A_i, B_j), row-major [m, n].
 * `range(i, j)` may narrow the summation to [from, to) when the caller knows the rest is zero
 * (triangular factors); it must be the same for the four consecutive j of a pass, so it depends on j
 * only through `j - j % 4` (callers pass the range of the first of the four).
 */
export function multiplyABt(
  a: ArrayLike<number>,
  m: number,
  b: ArrayLike<number>,
  n: number,
  k: number,
  range?: (i: number, j4: number) => [number, number],
  wanted?: (i: number, j4: number) => boolean,
): Float64Array {
  const c = new Float64Array(m * n);
  const tmp = new Float64Array(8);
  for (let jb = 0; jb < n; jb += BLOCK_ROWS) {
    const jEnd = Math.min(n, jb + BLOCK_ROWS);
    let i = 0;
    // Pairs of rows of A against four rows of B: 6 loads per 8 multiply-adds. Where a range narrows the
    // sum, the pair uses the union of both rows' ranges (the caller guarantees zeros outside each).
    for (; i + 2 <= m; i += 2) {
      const ao = i * k;
      let j = jb;
      for (; j + 4 <= jEnd; j += 4) {
        const want0 = !wanted || wanted(i, j);
        const want1 = !wanted || wanted(i + 1, j);
        if (!want0 && !want1) continue;
        const [f0, t0] = range ? range(i, j) : [0, k];
        const [f1, t1] = range ? range(i + 1, j) : [0, k];
        dot2x4(a, ao, ao + k, b, j * k, (j + 1) * k, (j + 2) * k, (j + 3) * k, Math.min(f0, f1), Math.max(t0, t1), tmp);
        const co = i * n + j;
        c[co] = tmp[0]!;
        c[co + 1] = tmp[1]!;
        c[co + 2] = tmp[2]!;
        c[co + 3] = tmp[3]!;
        c[co + n] = tmp[4]!;
        c[co + n + 1] = tmp[5]!;
        c[co + n + 2] = tmp[6]!;
        c[co + n + 3] = tmp[7]!;
      }
      for (; j < jEnd; j++) {
        for (const r of [i, i + 1]) {
          if (wanted && !wanted(r, j - (j % 4))) continue;
          const [from, to] = range ? range(r, j - (j % 4)) : [0, k];
          c[r * n + j] = dot1(a, r * k, b, j * k, from, to);
        }
      }
    }
    for (; i < m; i++) {
      const ao = i * k;
      let j = jb;
      for (; j + 4 <= jEnd; j += 4) {
        if (wanted && !wanted(i, j)) continue;
        const [from, to] = range ? range(i, j) : [0, k];
        dot4(a, ao, b, j * k, (j + 1) * k, (j + 2) * k, (j + 3) * k, from, to, tmp, 0);
        const co = i * n + j;
        c[co] = tmp[0]!;
        c[co + 1] = tmp[1]!;
        c[co + 2] = tmp[2]!;
        c[co + 3] = tmp[3]!;
      }
      for (; j < jEnd; j++) {
        if (wanted && !wanted(i, j - (j % 4))) continue;
        const [from, to] = range ? range(i, j - (j % 4)) : [0, k];
        c[i * n + j] = dot1(a, ao, b, j * k, from, to);
      }
    }
  }
  return c;
}

/** G = A A' for A [m, k]: the symmetric m x m Gram matrix of the rows, both triangles filled. */
export function gramOfRows(a: ArrayLike<number>, m: number, k: number): Float64Array {
  // Compute blocks of four columns j4..j4+3 only where j4 <= i, then mirror.
  const g = multiplyABt(a, m, a, m, k, undefined, (i, j4) => j4 <= i);
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) g[i * m + j] = g[j * m + i]!;
  return g;
}
