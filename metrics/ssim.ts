/**
 * SSIM of one frame (Wang et al. 2004).
 *
 * - `ssim` (default): the BasicSR / MATLAB convention deblurring papers report — 11x11 Gaussian window
 *   (sigma 1.5), population covariance, K1 = 0.01, K2 = 0.03 on the [0, 255] scale, the map averaged over
 *   the valid region only (the window inside the frame), then the mean over channels. Equal to
 *   scikit-image's `structural_similarity(..., data_range=255, gaussian_weights=True, sigma=1.5,
 *   use_sample_covariance=False)`.
 * - `ssim-skimage-default`: scikit-image's defaults — 7x7 uniform window, sample covariance (N/(N-1)),
 *   same constants, valid region. Different numbers; offered for comparison with papers that used it.
 *
 * Both windows are separable, so the local moments are two 1-D passes over valid positions only. The
 * default path runs them as a generated WebAssembly SIMD kernel (ssim-kernel.ts, ~5x the scalar code);
 * the scalar code below is the fallback where WebAssembly SIMD is missing and the oracle the tests hold
 * the kernel to.
 */
import { UsageError } from '../src/errors.ts';
import { isIntegerPixelArray, resolveComparison, toPlanes } from './frame-input.ts';
import { createSsimKernel } from './ssim-kernel.ts';
import type { SsimKernel } from './ssim-kernel.ts';
import type { Frame, FrameCompareOptions } from './frame-input.ts';

export const SSIM_VARIANTS = ['ssim', 'ssim-skimage-default'] as const;
export type SsimVariant = (typeof SSIM_VARIANTS)[number];

export interface SsimOptions extends FrameCompareOptions {
  /** Which convention; default `ssim` (BasicSR / MATLAB). */
  variant?: SsimVariant;
}

const K1 = 0.01;
const K2 = 0.03;
const L = 255;

interface Window {
  /** Normalised 1-D weights; the 2-D window is their outer product. */
  taps: Float64Array;
  /** Factor applied to the variances and covariance: 1 (population) or N/(N-1) (sample). */
  covNorm: number;
}

const C1 = (K1 * L) ** 2;
const C2 = (K2 * L) ** 2;

/** Normalised Gaussian taps `exp(-(i-r)^2 / (2 sigma^2))`, i = 0..2r. */
export function gaussianTaps(radius: number, sigma: number): Float64Array {
  const taps = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = 0; i < taps.length; i++) {
    taps[i] = Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma));
    sum += taps[i]!;
  }
  for (let i = 0; i < taps.length; i++) taps[i]! /= sum;
  return taps;
}

function windowFor(variant: SsimVariant): Window {
  switch (variant) {
    case 'ssim':
      return { taps: gaussianTaps(5, 1.5), covNorm: 1 };
    case 'ssim-skimage-default': {
      const n = 7;
      return { taps: new Float64Array(n).fill(1 / n), covNorm: (n * n) / (n * n - 1) };
    }
  }
}

/**
 * out[c] = sum_t taps[t] src[off + c + t * stride] for c in [0, count): one 1-D pass of a symmetric window,
 * folding mirrored taps first (K = 2r+1 taps cost r+1 multiplies).
 */
function symmetricPass(
  src: Float64Array,
  off: number,
  stride: number,
  count: number,
  taps: Float64Array,
  out: Float64Array,
  outOff: number,
): void {
  const k = taps.length;
  const r = (k - 1) >> 1;
  const centre = taps[r]!;
  if (k === 11) {
    // The default window, unrolled: several times faster than the loop over taps in V8.
    const [t0, t1, t2, t3, t4] = [taps[0]!, taps[1]!, taps[2]!, taps[3]!, taps[4]!];
    const s1 = stride;
    for (let c = 0; c < count; c++) {
      const b = off + c;
      out[outOff + c] =
        centre * src[b + 5 * s1]! +
        t0 * (src[b]! + src[b + 10 * s1]!) +
        t1 * (src[b + s1]! + src[b + 9 * s1]!) +
        t2 * (src[b + 2 * s1]! + src[b + 8 * s1]!) +
        t3 * (src[b + 3 * s1]! + src[b + 7 * s1]!) +
        t4 * (src[b + 4 * s1]! + src[b + 6 * s1]!);
    }
    return;
  }
  for (let c = 0; c < count; c++) {
    const base = off + c;
    let acc = centre * src[base + r * stride]!;
    for (let t = 0; t < r; t++) acc += taps[t]! * (src[base + t * stride]! + src[base + (k - 1 - t) * stride]!);
    out[outOff + c] = acc;
  }
}

/**
 * Mean of the SSIM map of one plane pair over the valid region.
 *
 * Only four local moments are needed: E[x], E[y], E[x^2 + y^2] (the variances appear only as their sum)
 * and E[xy]. Pass 1 filters each row at the valid columns; pass 2 filters the columns of those rows at the
 * valid rows, one output row at a time, and turns it into map values straight away.
 */
function planeSsimScalar(x: Float64Array, y: Float64Array, w: number, h: number, win: Window): number {
  const taps = win.taps;
  const k = taps.length;
  const wv = w - k + 1;
  const hv = h - k + 1;
  const sq = new Float64Array(w);
  const xy = new Float64Array(w);
  const hx = new Float64Array(h * wv);
  const hy = new Float64Array(h * wv);
  const hsq = new Float64Array(h * wv);
  const hxy = new Float64Array(h * wv);
  for (let r = 0; r < h; r++) {
    const s = r * w;
    for (let c = 0; c < w; c++) {
      const a = x[s + c]!;
      const b = y[s + c]!;
      sq[c] = a * a + b * b;
      xy[c] = a * b;
    }
    symmetricPass(x, s, 1, wv, taps, hx, r * wv);
    symmetricPass(y, s, 1, wv, taps, hy, r * wv);
    symmetricPass(sq, 0, 1, wv, taps, hsq, r * wv);
    symmetricPass(xy, 0, 1, wv, taps, hxy, r * wv);
  }
  const mx = new Float64Array(wv);
  const my = new Float64Array(wv);
  const msq = new Float64Array(wv);
  const mxy = new Float64Array(wv);
  const c1 = C1;
  const c2 = C2;
  const cn = win.covNorm;
  let sum = 0;
  for (let r = 0; r < hv; r++) {
    symmetricPass(hx, r * wv, wv, wv, taps, mx, 0);
    symmetricPass(hy, r * wv, wv, wv, taps, my, 0);
    symmetricPass(hsq, r * wv, wv, wv, taps, msq, 0);
    symmetricPass(hxy, r * wv, wv, wv, taps, mxy, 0);
    for (let c = 0; c < wv; c++) {
      const ux = mx[c]!;
      const uy = my[c]!;
      const uxx = ux * ux;
      const uyy = uy * uy;
      const uxy = ux * uy;
      const vsum = cn * (msq[c]! - uxx - uyy);
      const vxy = cn * (mxy[c]! - uxy);
      sum += ((2 * uxy + c1) * (2 * vxy + c2)) / ((uxx + uyy + c1) * (vsum + c2));
    }
  }
  return sum / (hv * wv);
}

/** One kernel per variant, built on first use; null where WebAssembly SIMD is unavailable. */
const kernels = new Map<SsimVariant, SsimKernel | null>();

function kernelFor(variant: SsimVariant): SsimKernel | null {
  if (!kernels.has(variant)) kernels.set(variant, createSsimKernel(windowFor(variant), { c1: C1, c2: C2 }));
  return kernels.get(variant)!;
}

/** Which implementation computes SSIM: `auto` (the SIMD kernel where available) or `scalar` (plain JS). */
export type SsimEngine = 'auto' | 'scalar';

/** SSIM of one frame: the mean over channels (or of the Y channel) of the mean valid-region SSIM map. */
export function ssim(pred: Frame, gt: Frame, opts: SsimOptions = {}, what = 'ssim', engine: SsimEngine = 'auto'): number {
  const variant = opts.variant ?? 'ssim';
  if (!SSIM_VARIANTS.includes(variant)) {
    throw new UsageError(`${what}: unknown SSIM variant "${String(variant)}", expected one of ${SSIM_VARIANTS.join(', ')}`);
  }
  const win = windowFor(variant);
  const range = resolveComparison(pred, gt, opts, what);
  const crop = opts.crop ?? 0;
  const k = win.taps.length;
  const kernel = engine === 'auto' ? kernelFor(variant) : null;
  // 8-bit frames on their own scale go straight into the kernel, one channel at a time (no float planes).
  // Anything else (float data, another data range, the Y channel, an invalid crop) goes through toPlanes,
  // which also reports bad options.
  const direct =
    kernel !== null &&
    range === 255 &&
    !opts.yChannel &&
    isIntegerPixelArray(pred.data) &&
    isIntegerPixelArray(gt.data) &&
    Number.isInteger(crop) &&
    crop >= 0 &&
    Math.min(pred.width, pred.height) - 2 * crop >= k;
  if (direct) {
    const means = kernel.channelsU8(pred.data as Uint8Array, gt.data as Uint8Array, pred.width, pred.height, pred.channels, crop);
    return means.reduce((s, m) => s + m, 0) / means.length;
  }
  const a = toPlanes(pred, range, opts, what);
  const b = toPlanes(gt, range, opts, what);
  if (a.width < k || a.height < k) {
    throw new UsageError(
      `${what}: SSIM (${variant}) needs frames of at least ${k}x${k} pixels after cropping, got ${a.width}x${a.height}`,
    );
  }
  const plane = kernel
    ? (x: Float64Array, y: Float64Array) => kernel.plane(x, y, a.width, a.height)
    : (x: Float64Array, y: Float64Array) => planeSsimScalar(x, y, a.width, a.height, win);
  let sum = 0;
  for (let p = 0; p < a.planes.length; p++) sum += plane(a.planes[p]!, b.planes[p]!);
  return sum / a.planes.length;
}
