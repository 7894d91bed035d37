/**
 * The Fréchet distance between two Gaussians (FID when they are Inception feature statistics):
 * `||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2))`, all in float64.
 *
 * `tr sqrt(S1 S2)` is the sum of the square roots of the eigenvalues of S1 S2, never a matrix square
 * root (scipy's `sqrtm`, pytorch-fid's path, is slow and fails when n < d). Two exact routes:
 * - statistics only: factor one covariance S = F F' (pivoted Cholesky, F = P'R' is d x rank; the rank
 *   is at most n-1 when n < d); the nonzero eigenvalues of S1 S2 = F F' S2 are those of the small
 *   symmetric PSD matrix F' S2 F (metrics.md's identity with sqrt(S1) S2 sqrt(S1), F in place of
 *   sqrt(S1): any F with F F' = S1 gives the same eigenvalues, and a Cholesky factor is far cheaper than
 *   a matrix square root). O(d^2 rank + d rank^2 + rank^3);
 * - raw features at hand and n1 or n2 < d: with A = (X1 - mu1)/sqrt(n1-1), B likewise, S1 = A'A,
 *   S2 = B'B and `tr sqrt(S1 S2)` is the nuclear norm of the n1 x n2 matrix A B' (square roots of the
 *   eigenvalues of its Gram matrix).
 * Tiny negative eigenvalues (rounding) are clipped to 0.
 * When the factored covariance is positive definite (the usual case, n > d) the statistics route runs
 * unpivoted with its O(d^3) steps in a WebAssembly SIMD kernel (linalg/full-rank-product.ts); a covariance
 * that is not (n <= d) takes the pivoted, rank-revealing JS route.
 */
import { UsageError } from '../src/errors.ts';
import { fullRankProductEigenvalues, gramOfRows, multiplyABt, pivotedCholesky, symmetricEigenvalues } from './linalg/index.ts';
import { FeatureStatistics } from './feature-stats.ts';
import type { GaussianStatistics } from './feature-stats.ts';

/** Either a feature accumulator or saved statistics (e.g. read from a pytorch-fid `.npz`). */
export type FrechetInput = FeatureStatistics | GaussianStatistics;

/** Below this many feature vectors per set the result carries a warning (FID is biased upward for small n). */
export const FID_RECOMMENDED_MIN_SAMPLES = 2048;

/** Which route computed `tr sqrt(S1 S2)`. */
export type FrechetMethod = 'factor' | 'gram';

export interface FrechetResult {
  distance: number;
  method: FrechetMethod;
  /** The parts, for diagnostics: ||mu1-mu2||^2, tr S1, tr S2, tr sqrt(S1 S2). */
  meanTerm: number;
  trace1: number;
  trace2: number;
  traceSqrtProduct: number;
  /** Warnings to show with the number (e.g. too few samples). */
  notes: string[];
}

function checkGaussian(g: GaussianStatistics, label: string): number {
  const d = g.mu.length;
  if (d < 1) throw new UsageError(`${label}: mu is empty`);
  if (g.sigma.length !== d * d) {
    throw new UsageError(`${label}: sigma has ${g.sigma.length} values, expected ${d}x${d} for a ${d}-d mu`);
  }
  for (let i = 0; i < d; i++) if (!Number.isFinite(g.mu[i]!)) throw new UsageError(`${label}: mu[${i}] is not finite`);
  for (let i = 0; i < d * d; i++) if (!Number.isFinite(g.sigma[i]!)) throw new UsageError(`${label}: sigma has a non-finite value at ${i}`);
  return d;
}

function sumSqrtClipped(eigenvalues: Float64Array): number {
  let s = 0;
  for (const v of eigenvalues) if (v > 0) s += Math.sqrt(v);
  return s;
}

/** `auto`: the SIMD full-rank route where it applies, else the pivoted JS route; `pivoted`: always the latter. */
export type TraceSqrtEngine = 'auto' | 'pivoted';

/**
 * tr sqrt(S1 S2) from covariances: factor one as P S P' = R'R (R: rank x d, upper trapezoidal), then the
 * eigenvalues of the rank x rank matrix M = R (P S_other P') R' — those of S1 S2 apart from zeros.
 * The triangular shape of R limits every dot product to where R is non-zero.
 */
export function traceSqrtProduct(
  s1: Float64Array,
  s2: Float64Array,
  d: number,
  factorFirst = true,
  engine: TraceSqrtEngine = 'auto',
  threads?: number,
): number {
  const [sf, so] = factorFirst ? [s1, s2] : [s2, s1];
  if (engine === 'auto') {
    const eigenvalues = fullRankProductEigenvalues(sf, so, d, threads);
    if (eigenvalues) return sumSqrtClipped(eigenvalues);
  }
  const { rank, perm, factor } = pivotedCholesky(sf, d);
  if (rank === 0) return 0;
  const sp = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const src = perm[k]! * d;
    for (let i = 0; i < d; i++) sp[k * d + i] = so[src + perm[i]!]!;
  }
  // W = R Sp (rank x d): W[c][k] = dot(R_c, Sp_k) over i >= c (Sp is symmetric).
  const w = multiplyABt(factor, rank, sp, d, d, (c) => [c, d]);
  // M = W R' (rank x rank), lower triangle: M[a][b] = sum_{i >= a} R[a][i] W[b][i] for b <= a.
  const m = multiplyABt(factor, rank, w, rank, d, (a) => [a, d], (a, b4) => b4 <= a);
  return sumSqrtClipped(symmetricEigenvalues(m, rank));
}

/**
 * The Fréchet distance between two sets, each given as a feature accumulator or as saved statistics.
 * Uses the exact Gram route when both are accumulators that kept their raw features and either has
 * fewer rows than dimensions; otherwise the statistics (factor) route.
 */
export interface FrechetOptions {
  /** Threads for the full-rank route's kernels (default: $DIVD_THREADS, else one per core). */
  threads?: number;
}

export function frechetDistance(a: FrechetInput, b: FrechetInput, opts: FrechetOptions = {}): FrechetResult {
  for (const [s, label] of [[a, 'first'], [b, 'second']] as const) {
    if (s instanceof FeatureStatistics && s.count < 2) {
      throw new UsageError(`Fréchet distance: the ${label} set needs at least 2 feature vectors, got ${s.count}`);
    }
  }
  const result =
    a instanceof FeatureStatistics && b instanceof FeatureStatistics && useGramRoute(a, b)
      ? fromFeatures(a, b)
      : fromStatistics(a instanceof FeatureStatistics ? a.gaussian() : a, b instanceof FeatureStatistics ? b.gaussian() : b, opts.threads);
  const counts = [a, b].map((s) => (s instanceof FeatureStatistics ? s.count : s.n));
  for (const [i, n] of counts.entries()) {
    if (n !== undefined && n < FID_RECOMMENDED_MIN_SAMPLES) {
      result.notes.push(
        `Fréchet distance: the ${i === 0 ? 'first' : 'second'} set has ${n} feature vectors (< ${FID_RECOMMENDED_MIN_SAMPLES}); ` +
          'FID is biased upward for small sets, so compare it only with numbers computed from as many frames',
      );
    }
  }
  return result;
}

function useGramRoute(a: FeatureStatistics, b: FeatureStatistics): boolean {
  return a.keepsFeatures && b.keepsFeatures && a.dim === b.dim && Math.min(a.count, b.count) < a.dim;
}

/** From statistics alone (e.g. a saved `.npz` against a fresh set). */
function fromStatistics(a: GaussianStatistics, b: GaussianStatistics, threads?: number): FrechetResult {
  const d = checkGaussian(a, 'Fréchet distance, first set');
  const d2 = checkGaussian(b, 'Fréchet distance, second set');
  if (d !== d2) throw new UsageError(`Fréchet distance: the sets have different feature sizes (${d} and ${d2})`);
  let meanTerm = 0;
  let trace1 = 0;
  let trace2 = 0;
  for (let i = 0; i < d; i++) {
    const diff = a.mu[i]! - b.mu[i]!;
    meanTerm += diff * diff;
    trace1 += a.sigma[i * d + i]!;
    trace2 += b.sigma[i * d + i]!;
  }
  // Factor the covariance known to have the lower rank (fewer samples); its factor is the smaller one.
  const factorFirst = (a.n ?? Infinity) <= (b.n ?? Infinity);
  // A covariance of n <= d samples is singular: skip the full-rank attempt (it would fail part-way).
  const factoredN = (factorFirst ? a.n : b.n) ?? Infinity;
  const traceSqrt = traceSqrtProduct(a.sigma, b.sigma, d, factorFirst, factoredN <= d ? 'pivoted' : 'auto', threads);
  return finish(meanTerm, trace1, trace2, traceSqrt, 'factor');
}

/** Centred, scaled rows A = (X - mu)/sqrt(n-1), row-major [n, d]. */
function scaledDeviations(s: FeatureStatistics): Float64Array {
  const x = s.features();
  const mu = s.mean();
  const d = s.dim;
  const scale = 1 / Math.sqrt(s.count - 1);
  const out = new Float64Array(x.length);
  for (let i = 0; i < s.count; i++) for (let j = 0; j < d; j++) out[i * d + j] = (x[i * d + j]! - mu[j]!) * scale;
  return out;
}

/** The Gram route: tr sqrt(S1 S2) = nuclear norm of A B' (n1 x n2). */
function fromFeatures(a: FeatureStatistics, b: FeatureStatistics): FrechetResult {
  const d = a.dim;
  const n1 = a.count;
  const n2 = b.count;
  const da = scaledDeviations(a);
  const db = scaledDeviations(b);
  const mu1 = a.mean();
  const mu2 = b.mean();
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (mu1[j]! - mu2[j]!) ** 2;
  const frob = (x: Float64Array): number => x.reduce((s, v) => s + v * v, 0);
  // C = A B' (n1 x n2); its singular values are the square roots of the eigenvalues of C C' or C'C.
  let c = multiplyABt(da, n1, db, n2, d);
  let rows = n1;
  let cols = n2;
  if (n1 > n2) {
    const t = new Float64Array(n1 * n2);
    for (let i = 0; i < n1; i++) for (let j = 0; j < n2; j++) t[j * n1 + i] = c[i * n2 + j]!;
    c = t;
    rows = n2;
    cols = n1;
  }
  const small = rows;
  const gram = gramOfRows(c, rows, cols);
  const traceSqrt = sumSqrtClipped(symmetricEigenvalues(gram, small));
  return finish(meanTerm, frob(da), frob(db), traceSqrt, 'gram');
}

function finish(meanTerm: number, trace1: number, trace2: number, traceSqrtProduct: number, method: FrechetMethod): FrechetResult {
  const distance = meanTerm + trace1 + trace2 - 2 * traceSqrtProduct;
  return { distance, method, meanTerm, trace1, trace2, traceSqrtProduct, notes: [] };
}
