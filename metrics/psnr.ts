/**
 * PSNR of one frame: `10 log10(R^2 / MSE)` over all pixels and channels, in float64.
 * Identical frames give +Infinity (not an error): callers report it as such.
 */
import { resolveComparison, toPlanes } from './frame-input.ts';
import type { Frame, FrameCompareOptions } from './frame-input.ts';

export type PsnrOptions = FrameCompareOptions;

/** Mean squared error on the [0, 255] scale (after the Y-channel and crop options). */
export function meanSquaredError(pred: Frame, gt: Frame, opts: PsnrOptions = {}, what = 'psnr'): number {
  const range = resolveComparison(pred, gt, opts, what);
  const a = toPlanes(pred, range, opts, what);
  const b = toPlanes(gt, range, opts, what);
  let sum = 0;
  for (let p = 0; p < a.planes.length; p++) {
    const x = a.planes[p]!;
    const y = b.planes[p]!;
    for (let i = 0; i < x.length; i++) {
      const d = x[i]! - y[i]!;
      sum += d * d;
    }
  }
  return sum / (a.planes.length * a.width * a.height);
}

/** PSNR in dB; +Infinity when the frames are identical. `what` names the frame in error messages. */
export function psnr(pred: Frame, gt: Frame, opts: PsnrOptions = {}, what = 'psnr'): number {
  const mse = meanSquaredError(pred, gt, opts, what);
  // The planes are on the 8-bit scale whatever the input's data range, so the peak is 255.
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
