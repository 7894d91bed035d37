/**
 * Frames as the full-reference metrics (PSNR, SSIM) take them, and their conversion to float64 planes.
 *
 * A frame is interleaved HWC pixel data: uint8 (data range 255) or float (data range 1, i.e. [0, 1]).
 * Every metric here works on float64 planes in the 8-bit scale [0, 255] — BasicSR's convention — so the
 * SSIM constants C1 = (0.01*255)^2 and C2 = (0.03*255)^2 apply unchanged whatever the input type.
 */
import { UsageError } from '../src/errors.ts';

export type PixelArray = Uint8Array | Uint8ClampedArray | Float32Array | Float64Array;

/** One frame, interleaved HWC: `data[(y * width + x) * channels + c]`. */
export interface Frame {
  data: PixelArray;
  width: number;
  height: number;
  channels: number;
}

/** Options shared by PSNR and SSIM. */
export interface FrameCompareOptions {
  /** Peak value of the input data: default 255 for uint8 data, 1 for float data. */
  dataRange?: number;
  /** Compare only the luma Y of ITU-R BT.601 (BasicSR's `test_y_channel`); needs 3 channels (RGB). */
  yChannel?: boolean;
  /** Drop this many pixels at each border before comparing (BasicSR's `crop_border`). Default 0. */
  crop?: number;
}

/** Float64 planes on the [0, 255] scale, cropped, one per compared channel. */
export interface Planes {
  planes: Float64Array[];
  width: number;
  height: number;
}

export function isIntegerPixelArray(data: PixelArray): boolean {
  return data instanceof Uint8Array || data instanceof Uint8ClampedArray;
}

/** 255 for 8-bit data, 1 for float data in [0, 1]. */
export function defaultDataRange(frame: Frame): number {
  return isIntegerPixelArray(frame.data) ? 255 : 1;
}

function checkFrame(frame: Frame, label: string): void {
  const { width, height, channels, data } = frame;
  for (const [name, v] of [['width', width], ['height', height], ['channels', channels]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`${label}: ${name} must be a positive integer, got ${v}`);
  }
  if (data.length !== width * height * channels) {
    throw new UsageError(
      `${label}: data has ${data.length} values, expected width*height*channels = ${width}*${height}*${channels} = ${width * height * channels}`,
    );
  }
}

/**
 * Checks that both frames are well formed and comparable, and resolves the data range.
 * Throws UsageError naming `what` (e.g. the frame's path) when they are not.
 */
export function resolveComparison(pred: Frame, gt: Frame, opts: FrameCompareOptions, what: string): number {
  checkFrame(pred, `${what}: prediction`);
  checkFrame(gt, `${what}: ground truth`);
  if (pred.width !== gt.width || pred.height !== gt.height || pred.channels !== gt.channels) {
    throw new UsageError(
      `${what}: size mismatch, prediction is ${pred.width}x${pred.height}x${pred.channels}, ground truth is ${gt.width}x${gt.height}x${gt.channels}`,
    );
  }
  if (opts.dataRange !== undefined) {
    if (!(opts.dataRange > 0) || !Number.isFinite(opts.dataRange)) {
      throw new UsageError(`${what}: dataRange must be a positive number, got ${opts.dataRange}`);
    }
    return opts.dataRange;
  }
  const range = defaultDataRange(pred);
  if (range !== defaultDataRange(gt)) {
    throw new UsageError(
      `${what}: one frame is 8-bit and the other float; convert them to one type or pass dataRange explicitly`,
    );
  }
  return range;
}

/**
 * The planes a metric compares: each channel (or the BT.601 luma) as float64 on the [0, 255] scale,
 * with `crop` pixels removed at every border.
 */
export function toPlanes(frame: Frame, dataRange: number, opts: FrameCompareOptions, what: string): Planes {
  const crop = opts.crop ?? 0;
  if (!Number.isInteger(crop) || crop < 0) throw new UsageError(`${what}: crop must be a non-negative integer, got ${crop}`);
  const { width, height, channels, data } = frame;
  const w = width - 2 * crop;
  const h = height - 2 * crop;
  if (w < 1 || h < 1) throw new UsageError(`${what}: crop ${crop} leaves nothing of a ${width}x${height} frame`);
  const scale = 255 / dataRange;
  if (opts.yChannel) {
    if (channels !== 3) throw new UsageError(`${what}: the Y channel needs RGB frames (3 channels), got ${channels}`);
    // BasicSR rgb2ycbcr (y_only): Y = 16 + 65.481 R + 128.553 G + 24.966 B with RGB in [0, 1], on the 0..255 scale.
    const y = new Float64Array(w * h);
    const k = scale / 255;
    for (let r = 0; r < h; r++) {
      let src = ((r + crop) * width + crop) * 3;
      const dst = r * w;
      for (let c = 0; c < w; c++, src += 3) {
        y[dst + c] = 16 + 65.481 * (data[src]! * k) + 128.553 * (data[src + 1]! * k) + 24.966 * (data[src + 2]! * k);
      }
    }
    return { planes: [y], width: w, height: h };
  }
  const planes: Float64Array[] = [];
  for (let ch = 0; ch < channels; ch++) planes.push(new Float64Array(w * h));
  if (channels === 3) {
    // The common case in one sweep over the interleaved data.
    const [p0, p1, p2] = planes as [Float64Array, Float64Array, Float64Array];
    for (let r = 0; r < h; r++) {
      let src = ((r + crop) * width + crop) * 3;
      const end = r * w + w;
      for (let dst = r * w; dst < end; dst++, src += 3) {
        p0[dst] = data[src]! * scale;
        p1[dst] = data[src + 1]! * scale;
        p2[dst] = data[src + 2]! * scale;
      }
    }
    return { planes, width: w, height: h };
  }
  for (let ch = 0; ch < channels; ch++) {
    const p = planes[ch]!;
    for (let r = 0; r < h; r++) {
      let src = ((r + crop) * width + crop) * channels + ch;
      const dst = r * w;
      for (let c = 0; c < w; c++, src += channels) p[dst + c] = data[src]! * scale;
    }
  }
  return { planes, width: w, height: h };
}
