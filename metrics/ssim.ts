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
 * Both windows are separable, so the local moments are two 1-D passes over valid positions only.
 */
import { UsageError } from '../src/errors.ts';
import { resolveComparison, toPlanes } from './frame-input.ts';
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
 * Mean of the SSIM map of one plane pair over the valid region.
 *
 * Pass 1 (rows): the five local sums x, y, x^2, y^2, xy along each row, for valid columns only, in one
 * sweep that reads each pixel pair once. Pass 2 (columns): for each valid output row, a weighted sum of
 * K row buffers (contiguous axpy), then the map values of that row straight away — so the vertical
 * moments are never stored for the whole frame.
 */
function planeSsim(x: Float64Array, y: Float64Array, w: number, h: number, win: Window): number {
  const taps = win.taps;
  const k = taps.length;
  const wv = w - k + 1;
  const hv = h - k + 1;
  const hx = new Float64Array(h * wv);
  const hy = new Float64Array(h * wv);
  const hxx = new Float64Array(h * wv);
  const hyy = new Float64Array(h * wv);
  const hxy = new Float64Array(h * wv);
  for (let r = 0; r < h; r++) {
    const s = r * w;
    const d = r * wv;
    for (let c = 0; c < wv; c++) {
      let sx = 0;
      let sy = 0;
      let sxx = 0;
      let syy = 0;
      let sxy = 0;
      for (let t = 0; t < k; t++) {
        const wt = taps[t]!;
        const a = x[s + c + t]!;
        const b = y[s + c + t]!;
        const wa = wt * a;
        const wb = wt * b;
        sx += wa;
        sy += wb;
        sxx += wa * a;
        syy += wb * b;
        sxy += wa * b;
      }
      hx[d + c] = sx;
      hy[d + c] = sy;
      hxx[d + c] = sxx;
      hyy[d + c] = syy;
      hxy[d + c] = sxy;
    }
  }
  const mx = new Float64Array(wv);
  const my = new Float64Array(wv);
  const mxx = new Float64Array(wv);
  const myy = new Float64Array(wv);
  const mxy = new Float64Array(wv);
  const c1 = (K1 * L) ** 2;
  const c2 = (K2 * L) ** 2;
  const cn = win.covNorm;
  let sum = 0;
  for (let r = 0; r < hv; r++) {
    mx.fill(0);
    my.fill(0);
    mxx.fill(0);
    myy.fill(0);
    mxy.fill(0);
    for (let t = 0; t < k; t++) {
      const wt = taps[t]!;
      const s = (r + t) * wv;
      for (let c = 0; c < wv; c++) {
        mx[c]! += wt * hx[s + c]!;
        my[c]! += wt * hy[s + c]!;
        mxx[c]! += wt * hxx[s + c]!;
        myy[c]! += wt * hyy[s + c]!;
        mxy[c]! += wt * hxy[s + c]!;
      }
    }
    for (let c = 0; c < wv; c++) {
      const ux = mx[c]!;
      const uy = my[c]!;
      const vx = cn * (mxx[c]! - ux * ux);
      const vy = cn * (myy[c]! - uy * uy);
      const vxy = cn * (mxy[c]! - ux * uy);
      sum += ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
    }
  }
  return sum / (hv * wv);
}

/** SSIM of one frame: the mean over channels (or of the Y channel) of the mean valid-region SSIM map. */
export function ssim(pred: Frame, gt: Frame, opts: SsimOptions = {}, what = 'ssim'): number {
  const variant = opts.variant ?? 'ssim';
  if (!SSIM_VARIANTS.includes(variant)) {
    throw new UsageError(`${what}: unknown SSIM variant "${String(variant)}", expected one of ${SSIM_VARIANTS.join(', ')}`);
  }
  const win = windowFor(variant);
  const range = resolveComparison(pred, gt, opts, what);
  const a = toPlanes(pred, range, opts, what);
  const b = toPlanes(gt, range, opts, what);
  const k = win.taps.length;
  if (a.width < k || a.height < k) {
    throw new UsageError(
      `${what}: SSIM (${variant}) needs frames of at least ${k}x${k} pixels after cropping, got ${a.width}x${a.height}`,
    );
  }
  let sum = 0;
  for (let p = 0; p < a.planes.length; p++) sum += planeSsim(a.planes[p]!, b.planes[p]!, a.width, a.height, win);
  return sum / a.planes.length;
}
