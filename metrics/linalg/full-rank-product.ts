/**
 * The eigenvalues of S1 S2 for a positive definite S1, with the heavy steps in the WebAssembly SIMD
 * kernel (gemm-kernel.ts): S1 = L L' by a blocked Cholesky (panels of 32 columns, the trailing update as
 * one C -= A B'), then M = L' S2 L as W = L' S2 and M = L' W' (both skipping the zeros of the triangular
 * factor), then M's eigenvalues — those of S1 S2 — by the tridiagonal reduction with its O(d^3) sweep in
 * the same kernel module (sweep-kernel.ts).
 *
 * This is the full-rank case of the pivoted route in ../frechet.ts (same identity, any F with F F' = S1),
 * without pivoting: when S1 is not numerically positive definite (a pivot at or below LAPACK's
 * tolerance d * eps * max(diag), e.g. fewer samples than dimensions) it returns null and the caller takes
 * the pivoted, rank-revealing route.
 *
 * Matrices are padded to N = a multiple of 4 (the kernel's block shape) as diag(S1, I) and diag(S2, 0),
 * which only adds N - d zero eigenvalues to M; the d x d block is what is returned to the eigen-solver.
 */
import { createGemmKernels, type GemmKernels, type GemmVariant } from './gemm-kernel.ts';
import { symmetricEigenvaluesInPlace } from './symmetric-eigen.ts';

const PANEL = 32;

/**
 * Eigenvalues of S1 S2 (ascending) for symmetric S1 (positive definite) and S2 (PSD), d x d row-major;
 * null when S1 is not numerically positive definite, WebAssembly SIMD is missing or the matrices are too
 * large for the kernels' memory.
 */
export function fullRankProductEigenvalues(s1: Float64Array, s2: Float64Array, d: number, threads?: number): Float64Array | null {
  const kernels = createGemmKernels(threads);
  if (!kernels) return null;
  try {
    return withKernels(kernels, s1, s2, d);
  } finally {
    kernels.close();
  }
}

/** Rows of the trailing block below which the sweep stays on one thread (a split costs tens of microseconds). */
const SWEEP_SPLIT_MIN_ROWS = 128;

function withKernels(kernels: GemmKernels, s1: Float64Array, s2: Float64Array, d: number): Float64Array | null {
  const n = Math.ceil(d / 4) * 4;
  // Row stride: n plus 4 doubles, so rows are not a power-of-two number of bytes apart (at d = 2048 they
  // would all map to the same few cache sets).
  const ld = n + 4;
  const size = n * ld;
  // Four n x n buffers: L (then M), S2, R = L', W. The kernels address memory with signed 32-bit
  // offsets, so beyond 2 GiB (d > ~8000) this route steps aside for the JS one.
  const bytes = 4 * size * 8;
  if (bytes >= 2 ** 31) return null;
  let mem: Float64Array;
  try {
    mem = kernels.reserve(bytes);
  } catch {
    return null; // the runtime refused that much memory: the JS route needs far less
  }
  const [bL, bS, bR, bW] = [0, size, 2 * size, 3 * size];
  let maxDiag = 0;
  for (let i = 0; i < d; i++) {
    mem.set(s1.subarray(i * d, i * d + d), bL + i * ld);
    mem.set(s2.subarray(i * d, i * d + d), bS + i * ld);
    maxDiag = Math.max(maxDiag, s1[i * d + i]!);
  }
  for (let i = d; i < n; i++) mem[bL + i * ld + i] = 1;
  const tol = d * Number.EPSILON * maxDiag;
  const gemm = (v: GemmVariant): Gemm => (a, lda, b, ldb, c, ldc, m, nn, k) => kernels.gemmSplit(v, a, lda, b, ldb, c, ldc, m, nn, k);
  if (!choleskyInPlace(mem, bL, n, ld, d, tol, gemm({ mode: 'sub', lower: true, fromRow: false }))) return null;
  transposeLower(mem, bL, bR, n, ld);
  const B = 8;
  // W = R S2 (S2 symmetric, so its rows are its columns); M = R W' (lower triangle), into L's buffer.
  // The kernels accumulate: W's buffer is fresh (zeros), L's is cleared first.
  gemm({ mode: 'add', lower: false, fromRow: true })(bR * B, ld * B, bS * B, ld * B, bW * B, ld * B, n, n, n);
  mem.fill(0, bL, bL + size);
  gemm({ mode: 'add', lower: true, fromRow: true })(bR * B, ld * B, bW * B, ld * B, bL * B, ld * B, n, n, n);
  // M's d x d lower triangle, compact, into S2's buffer (no longer needed); the reduction's work vectors
  // into W's. The eigen-solver runs on these views, its paired-row sweep in the kernel.
  const m = mem.subarray(bS, bS + d * d);
  for (let i = 0; i < d; i++) m.set(mem.subarray(bL + i * ld, bL + i * ld + i + 1), i * d);
  let nextVector = bW;
  const alloc = (length: number): Float64Array => {
    const view = mem.subarray(nextVector, nextVector + length);
    view.fill(0);
    nextVector += length + 2;
    return view;
  };
  // With a helper thread, a long sweep is cut where the rows before and after take the same work (row i costs
  // i - k1): the helper sweeps the later rows into its own pNext, added to the caller's afterwards.
  const helperNext = kernels.threads > 1 ? alloc(d) : null;
  const sweepPairs = (k1: number, vk1: number, qk1: number, v: Float64Array, q: Float64Array, w: Float64Array, pNext: Float64Array): number => {
    const sweep = (p: Float64Array, from: number, end: number) =>
      [m.byteOffset, d * 8, k1, end, v.byteOffset, q.byteOffset, w.byteOffset, p.byteOffset, vk1, qk1, from] as const;
    const rows = d - k1 - 1;
    if (!helperNext || rows < SWEEP_SPLIT_MIN_ROWS) return kernels.sweepPairs(...sweep(pNext, k1 + 1, d));
    const split = k1 + 1 + 2 * Math.floor(((d - k1) / Math.SQRT2 - 1) / 2);
    helperNext.fill(0, k1 + 1, d);
    kernels.sweepPairsAlongside([...sweep(helperNext, split, d)], () => kernels.sweepPairs(...sweep(pNext, k1 + 1, split)));
    for (let j = k1 + 1; j < d; j++) pNext[j]! += helperNext[j]!;
    // The helper's pairs from `split` end at d, or at d - 1 when an odd row is left for the caller.
    return split + 2 * Math.floor((d - split) / 2);
  };
  return symmetricEigenvaluesInPlace(m, d, { alloc, sweepPairs });
}

type Gemm = (a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number) => void;

/**
 * Right-looking blocked Cholesky of the n x n matrix at `base`, row stride `ld` (lower triangle read and
 * overwritten by L).
 * Within a panel each column is finished left-looking from the panel's earlier columns (short contiguous
 * dot products in JS); the update of everything right of the panel is one kernel call. False when a pivot
 * of the first `d` columns is at most `tol`.
 */
function choleskyInPlace(a: Float64Array, base: number, n: number, ld: number, d: number, tol: number, gemmSubLower: Gemm): boolean {
  for (let j0 = 0; j0 < n; j0 += PANEL) {
    const j1 = Math.min(j0 + PANEL, n);
    for (let j = j0; j < j1; j++) {
      const rj = base + j * ld;
      let djj = a[rj + j]!;
      for (let c = j0; c < j; c++) djj -= a[rj + c]! * a[rj + c]!;
      if (j < d && !(djj > tol)) return false;
      const ljj = Math.sqrt(djj);
      a[rj + j] = ljj;
      const inv = 1 / ljj;
      for (let i = j + 1; i < n; i++) {
        const ri = base + i * ld;
        let s = a[ri + j]!;
        for (let c = j0; c < j; c++) s -= a[ri + c]! * a[rj + c]!;
        a[ri + j] = s * inv;
      }
    }
    if (j1 < n) {
      const panel = (base + j1 * ld + j0) * 8;
      gemmSubLower(panel, ld * 8, panel, ld * 8, (base + j1 * ld + j1) * 8, ld * 8, n - j1, n - j1, j1 - j0);
    }
  }
  return true;
}

/** R = L' (upper, zeros below the diagonal) from the lower triangle at `from`, in 32 x 32 tiles for the cache. */
function transposeLower(a: Float64Array, from: number, to: number, n: number, ld: number): void {
  const T = 32;
  for (let i0 = 0; i0 < n; i0 += T) {
    for (let c0 = 0; c0 <= i0; c0 += T) {
      const iEnd = Math.min(i0 + T, n);
      const cEnd = Math.min(c0 + T, n);
      for (let i = i0; i < iEnd; i++) {
        const src = from + i * ld;
        for (let c = c0; c < cEnd && c <= i; c++) a[to + c * ld + i] = a[src + c]!;
      }
    }
  }
}
