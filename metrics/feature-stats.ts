/**
 * Streaming mean and covariance of feature vectors (e.g. 2048-d Inception pool features), float64.
 *
 * Rows are folded in one at a time with Welford's update and accumulators merge with Chan et al.'s
 * pairwise formula, so a test set never has to sit in memory and parallel workers can combine their
 * partial statistics exactly. The covariance uses the n-1 denominator (`np.cov(rowvar=False)`, as
 * pytorch-fid). Optionally the raw rows are kept too: KID needs them, and the Fréchet distance uses them
 * for its exact small-sample path (n < d).
 */
import { UsageError } from '../src/errors.ts';
import { gramOfRows } from './linalg/index.ts';

/**
 * From this many rows on, a batch's own moments are computed as one Gram product and merged (Chan),
 * which streams the d x d accumulator once per batch instead of once per row.
 */
const BATCH_MIN_ROWS = 8;

/** Mean and deviation sums (full d x d) of a batch of rows [rows, d]. */
function batchMoments(batch: Float32Array | Float64Array, rows: number, d: number): [Float64Array, Float64Array] {
  const mu = new Float64Array(d);
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) mu[j]! += batch[r * d + j]!;
  for (let j = 0; j < d; j++) mu[j]! /= rows;
  // Deviations transposed to [d, rows], so that the d x d scatter is the Gram matrix of its rows.
  const devT = new Float64Array(d * rows);
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) devT[j * rows + r] = batch[r * d + j]! - mu[j]!;
  return [mu, gramOfRows(devT, d, rows)];
}

/** mu and sigma of a feature set, as pytorch-fid saves them (`.npz` keys `mu`, `sigma`). */
export interface GaussianStatistics {
  /** Mean, length d. */
  mu: Float64Array;
  /** Covariance, row-major d x d, n-1 denominator. */
  sigma: Float64Array;
  /** Number of samples behind the statistics when known (bounds the covariance's rank by n-1). */
  n?: number;
}

export interface FeatureStatisticsOptions {
  /** Keep the raw rows as well (needed for KID and the exact n < d Fréchet path). Default false. */
  keepFeatures?: boolean;
}

export class FeatureStatistics {
  readonly dim: number;
  readonly keepsFeatures: boolean;
  private n = 0;
  private readonly mu: Float64Array;
  /** Sum of outer products of deviations; only the upper triangle (j >= i) is maintained. */
  private readonly m2: Float64Array;
  private readonly delta: Float64Array;
  private rows: Float64Array;

  constructor(dim: number, opts: FeatureStatisticsOptions = {}) {
    if (!Number.isInteger(dim) || dim < 1) throw new UsageError(`feature statistics: dim must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.keepsFeatures = opts.keepFeatures ?? false;
    this.mu = new Float64Array(dim);
    this.m2 = new Float64Array(dim * dim);
    this.delta = new Float64Array(dim);
    this.rows = new Float64Array(this.keepsFeatures ? dim * 16 : 0);
  }

  /** Number of rows added so far. */
  get count(): number {
    return this.n;
  }

  /** Adds a batch of rows: `batch` is row-major [rows, dim]. */
  add(batch: Float32Array | Float64Array): void {
    const d = this.dim;
    if (batch.length % d !== 0) {
      throw new UsageError(`feature statistics: a batch of ${batch.length} values is not a whole number of ${d}-d rows`);
    }
    const rows = batch.length / d;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < d; j++) {
        if (!Number.isFinite(batch[r * d + j]!)) {
          throw new UsageError(`feature statistics: row ${this.n + 1} has a non-finite value at index ${j}`);
        }
      }
    }
    if (this.keepsFeatures) this.keep(batch);
    if (rows < BATCH_MIN_ROWS) {
      for (let r = 0; r < rows; r++) this.addRow(batch, r * d);
    } else {
      this.mergeMoments(rows, ...batchMoments(batch, rows, d));
    }
  }

  private addRow(src: Float32Array | Float64Array, offset: number): void {
    const d = this.dim;
    const { mu, m2, delta } = this;
    this.n += 1;
    const inv = 1 / this.n;
    for (let j = 0; j < d; j++) {
      const dj = src[offset + j]! - mu[j]!;
      delta[j] = dj;
      mu[j]! += dj * inv;
    }
    // M2 += (x - mean_old)(x - mean_new)' = ((n-1)/n) delta delta'.
    const f = (this.n - 1) * inv;
    for (let i = 0; i < d; i++) {
      const fi = f * delta[i]!;
      if (fi === 0) continue;
      const row = i * d;
      for (let j = i; j < d; j++) m2[row + j]! += fi * delta[j]!;
    }
  }

  private keep(batch: Float32Array | Float64Array): void {
    const needed = (this.n * this.dim) + batch.length;
    if (needed > this.rows.length) {
      const grown = new Float64Array(Math.max(needed, this.rows.length * 2));
      grown.set(this.rows.subarray(0, this.n * this.dim));
      this.rows = grown;
    }
    this.rows.set(batch, this.n * this.dim);
  }

  /** Folds `other` into this accumulator (Chan et al.); the result equals adding its rows here. */
  merge(other: FeatureStatistics): void {
    if (other.dim !== this.dim) throw new UsageError(`feature statistics: cannot merge ${other.dim}-d into ${this.dim}-d statistics`);
    if (other.keepsFeatures !== this.keepsFeatures) {
      throw new UsageError('feature statistics: cannot merge an accumulator that keeps raw features with one that does not');
    }
    if (other.n === 0) return;
    if (this.keepsFeatures) this.keep(other.rows.subarray(0, other.n * other.dim));
    this.mergeMoments(other.n, other.mu, other.m2);
  }

  /** Chan et al.'s pairwise update with a part of nb rows, mean mub and deviation sums m2b (upper triangle). */
  private mergeMoments(nb: number, mub: Float64Array, m2b: Float64Array): void {
    const d = this.dim;
    const na = this.n;
    const n = na + nb;
    const { mu, m2, delta } = this;
    for (let j = 0; j < d; j++) delta[j] = mub[j]! - mu[j]!;
    const f = (na * nb) / n;
    for (let i = 0; i < d; i++) {
      const fi = f * delta[i]!;
      const row = i * d;
      for (let j = i; j < d; j++) m2[row + j]! += m2b[row + j]! + fi * delta[j]!;
    }
    for (let j = 0; j < d; j++) mu[j]! += (delta[j]! * nb) / n;
    this.n = n;
  }

  /** The mean (a copy). Needs at least one row. */
  mean(): Float64Array {
    if (this.n < 1) throw new UsageError('feature statistics: the mean of an empty set is undefined (no features were added)');
    return Float64Array.from(this.mu);
  }

  /** The covariance, row-major d x d with the n-1 denominator. Needs at least two rows. */
  covariance(): Float64Array {
    if (this.n < 2) {
      throw new UsageError(`feature statistics: the covariance needs at least 2 feature vectors, got ${this.n}`);
    }
    const d = this.dim;
    const out = new Float64Array(d * d);
    const inv = 1 / (this.n - 1);
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        const v = this.m2[i * d + j]! * inv;
        out[i * d + j] = v;
        out[j * d + i] = v;
      }
    }
    return out;
  }

  /** mu, sigma and n, as pytorch-fid's statistics. */
  gaussian(): GaussianStatistics {
    return { mu: this.mean(), sigma: this.covariance(), n: this.n };
  }

  /** The raw rows, row-major [count, dim] (a view; do not modify). Only when created with keepFeatures. */
  features(): Float64Array {
    if (!this.keepsFeatures) throw new Error('feature statistics: raw features were not kept (create with { keepFeatures: true })');
    return this.rows.subarray(0, this.n * this.dim);
  }
}
