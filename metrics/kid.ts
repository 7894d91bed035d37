/**
 * Kernel Inception Distance (torch-fidelity / clean-fid convention), float64.
 *
 * Kernel `k(x, y) = (x'y / d + 1)^3`. For each of `subsets` random subsets of size m, drawn without
 * replacement from each set, the unbiased MMD^2
 *   sum_{i != j} k(x_i, x_j) / (m(m-1)) + sum_{i != j} k(y_i, y_j) / (m(m-1)) - 2 sum_{i,j} k(x_i, y_j) / m^2;
 * the result is their mean and (population) standard deviation.
 *
 * Subsets are drawn exactly as torch-fidelity draws them: numpy's legacy `RandomState(seed).choice(n, m,
 * replace=False)` (a Fisher-Yates permutation from MT19937, first m entries), set 1 then set 2 per subset.
 * With the same seed (torch-fidelity's default 2020) the subsets are the same rows.
 *
 * All inner products are computed once (the Gram matrix of both sets together), so each subset costs
 * only O(m^2) look-ups instead of O(m^2 d) products.
 */
import { UsageError } from '../src/errors.ts';
import { gramOfRows, multiplyABt } from './linalg/index.ts';
import type { FeatureStatistics } from './feature-stats.ts';

export interface KidOptions {
  /** Number of subsets; torch-fidelity's default 100. */
  subsets?: number;
  /** Rows per subset; torch-fidelity's default 1000, clamped to the smaller set (see `notes`). */
  subsetSize?: number;
  /** Seed of the subset sampler; torch-fidelity's default 2020. */
  seed?: number;
  /** How inner products are obtained (same result either way); default `auto`: the cheaper that fits in memory. */
  method?: KidMethod | 'auto';
}

export interface KidResult {
  mean: number;
  std: number;
  subsets: number;
  /** The subset size actually used. */
  subsetSize: number;
  method: KidMethod;
  /** MMD^2 of every subset, in order. */
  values: Float64Array;
  /** Anything the caller should show, e.g. that the subset size was clamped. */
  notes: string[];
}

export const KID_DEFAULTS = { subsets: 100, subsetSize: 1000, seed: 2020 } as const;

/** MT19937 as numpy's legacy RandomState seeds it from an integer (init_genrand). */
class Mt19937 {
  private readonly mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1]! ^ (this.mt[i - 1]! >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  nextUint32(): number {
    if (this.index >= 624) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < 624; i++) {
      const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % 624]! & 0x7fffffff);
      mt[i] = mt[(i + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  /** Uniform integer in [0, max] by masked rejection (numpy's legacy `random_interval`). */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= max) return v;
    }
  }
}

/** numpy's legacy `RandomState(seed)`: the parts KID sampling needs. */
export class LegacyRandomState {
  private readonly mt: Mt19937;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new UsageError(`KID: seed must be an integer in [0, 2^32 - 1], got ${seed}`);
    }
    this.mt = new Mt19937(seed);
  }

  /** `permutation(n)`: Fisher-Yates from the end, j = random_interval(i). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.mt.interval(i);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  /** `choice(n, m, replace=False)`: the first m entries of a permutation. */
  choice(n: number, m: number): Int32Array {
    return this.permutation(n).subarray(0, m);
  }
}

/** Rows `idx` of a [n, d] row-major array, gathered into a new float64 [idx.length, d]. */
function gatherRows(src: ArrayLike<number>, idx: Int32Array, d: number): Float64Array {
  const out = new Float64Array(idx.length * d);
  for (let r = 0; r < idx.length; r++) {
    const from = idx[r]! * d;
    for (let j = 0; j < d; j++) out[r * d + j] = src[from + j]!;
  }
  return out;
}

/**
 * Unbiased MMD^2 from the inner products of one subset pair (each m x m, row-major): gxx[a][b] = x_a.x_b,
 * gyy likewise, gxy[a][b] = x_a.y_b.
 */
function subsetMmd2(gxx: Float64Array, gyy: Float64Array, gxy: Float64Array, m: number, d: number): number {
  let kxx = 0;
  let kyy = 0;
  let kxy = 0;
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) {
      const i = a * m + b;
      if (a !== b) {
        const tx = gxx[i]! / d + 1;
        const ty = gyy[i]! / d + 1;
        kxx += tx * tx * tx;
        kyy += ty * ty * ty;
      }
      const t = gxy[i]! / d + 1;
      kxy += t * t * t;
    }
  }
  return (kxx + kyy) / (m * (m - 1)) - (2 * kxy) / (m * m);
}

/** Where the inner products come from: one Gram matrix of both sets, or fresh products per subset. */
export type KidMethod = 'full-gram' | 'per-subset';

/** Largest Gram matrix of both sets KID will hold in memory (bytes). */
const MAX_GRAM_BYTES = 2 ** 30;

function chooseMethod(n: number, subsets: number, m: number): KidMethod {
  if (n * n * 8 > MAX_GRAM_BYTES) return 'per-subset';
  // Dot products needed: all pairs once, or 2 m^2 per subset (half of xx, half of yy, all of xy).
  return (n * n) / 2 <= subsets * 2 * m * m ? 'full-gram' : 'per-subset';
}

/**
 * KID between feature sets x [n1, d] and y [n2, d] (row-major). Needs at least 2 rows per set.
 * Both methods give bit-identical results (the same dot products, summed in the same order); `auto`
 * (the default) picks the cheaper one that fits in memory.
 */
export function kernelInceptionDistance(
  x: Float32Array | Float64Array,
  y: Float32Array | Float64Array,
  d: number,
  opts: KidOptions = {},
): KidResult {
  if (!Number.isInteger(d) || d < 1) throw new UsageError(`KID: feature size must be a positive integer, got ${d}`);
  for (const [arr, label] of [[x, 'first'], [y, 'second']] as const) {
    if (arr.length % d !== 0) throw new UsageError(`KID: the ${label} set (${arr.length} values) is not a whole number of ${d}-d rows`);
  }
  const n1 = x.length / d;
  const n2 = y.length / d;
  const subsets = opts.subsets ?? KID_DEFAULTS.subsets;
  const requested = opts.subsetSize ?? KID_DEFAULTS.subsetSize;
  const seed = opts.seed ?? KID_DEFAULTS.seed;
  if (!Number.isInteger(subsets) || subsets < 1) throw new UsageError(`KID: subsets must be a positive integer, got ${subsets}`);
  if (!Number.isInteger(requested) || requested < 2) throw new UsageError(`KID: subset size must be an integer >= 2, got ${requested}`);
  if (Math.min(n1, n2) < 2) throw new UsageError(`KID: each set needs at least 2 feature vectors, got ${n1} and ${n2}`);
  const notes: string[] = [];
  const m = Math.min(requested, n1, n2);
  if (m < requested) {
    notes.push(`KID subset size clamped from ${requested} to ${m} (the smaller set has ${Math.min(n1, n2)} feature vectors)`);
  }
  const n = n1 + n2;
  const method = !opts.method || opts.method === 'auto' ? chooseMethod(n, subsets, m) : opts.method;
  const rng = new LegacyRandomState(seed);
  let full: Float64Array | null = null;
  if (method === 'full-gram') {
    const rows = new Float64Array(n * d);
    rows.set(x);
    rows.set(y, n1 * d);
    full = gramOfRows(rows, n, d);
  }
  const gxx = new Float64Array(m * m);
  const gyy = new Float64Array(m * m);
  const gxy = new Float64Array(m * m);
  const values = new Float64Array(subsets);
  for (let s = 0; s < subsets; s++) {
    const ix = rng.choice(n1, m);
    const iy = rng.choice(n2, m);
    if (full) {
      for (let a = 0; a < m; a++) {
        const rx = ix[a]! * n;
        const ry = (iy[a]! + n1) * n;
        for (let b = 0; b < m; b++) {
          gxx[a * m + b] = full[rx + ix[b]!]!;
          gyy[a * m + b] = full[ry + iy[b]! + n1]!;
          gxy[a * m + b] = full[rx + iy[b]! + n1]!;
        }
      }
    } else {
      const xs = gatherRows(x, ix, d);
      const ys = gatherRows(y, iy, d);
      gxx.set(gramOfRows(xs, m, d));
      gyy.set(gramOfRows(ys, m, d));
      gxy.set(multiplyABt(xs, m, ys, m, d));
    }
    values[s] = subsetMmd2(gxx, gyy, gxy, m, d);
  }
  let mean = 0;
  for (const v of values) mean += v;
  mean /= subsets;
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2;
  return { mean, std: Math.sqrt(variance / subsets), subsets, subsetSize: m, method, values, notes };
}

/** KID between two feature accumulators created with `{ keepFeatures: true }`. */
export function kernelInceptionDistanceOfSets(a: FeatureStatistics, b: FeatureStatistics, opts: KidOptions = {}): KidResult {
  if (a.dim !== b.dim) throw new UsageError(`KID: the sets have different feature sizes (${a.dim} and ${b.dim})`);
  for (const [s, label] of [[a, 'first'], [b, 'second']] as const) {
    if (!s.keepsFeatures) throw new UsageError(`KID: the ${label} set did not keep its raw features (create it with { keepFeatures: true })`);
  }
  return kernelInceptionDistance(a.features(), b.features(), a.dim, opts);
}
