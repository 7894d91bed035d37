/**
 * Dense float64 products of row-major matrices, written as dot products of contiguous rows.
 * Four rows of the right operand are processed per pass (one load of the left row feeds four
 * accumulators) and the right operand is walked in blocks that stay in cache — the two things that
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
  const tmp = new Float64Array(4);
  for (let jb = 0; jb < n; jb += BLOCK_ROWS) {
    const jEnd = Math.min(n, jb + BLOCK_ROWS);
    for (let i = 0; i < m; i++) {
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
