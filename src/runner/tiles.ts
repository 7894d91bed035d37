/**
 * Denoising frames larger than memory allows: at every sampling step the model runs on overlapping tiles
 * of x_t (and of the blurry frames), and the tile predictions are blended with weights that ramp linearly
 * across each overlap (flat at the frame border), so the sum of weights is positive everywhere and no seam
 * shows. Blending the model output per step (not whole sampled tiles) keeps one noise stream for the whole
 * frame, so a tile that covers the frame gives exactly the untiled result.
 */
import * as tf from '@tensorflow/tfjs';

/** Start offsets of tiles of `size` covering `length` with at least `overlap` shared pixels, multiples of `align`. */
export function tileStarts(length: number, size: number, overlap: number, align: number): number[] {
  if (size >= length) return [0];
  if (overlap >= size) throw new Error(`tile overlap ${overlap} must be smaller than the tile size ${size}`);
  const last = length - size;
  const count = Math.ceil(last / (size - overlap)) + 1;
  const starts: number[] = [];
  for (let i = 0; i < count; i++) {
    // Evenly spread, snapped down to the alignment; the last tile ends exactly at the border.
    const s = i === count - 1 ? last : Math.floor((i * last) / (count - 1) / align) * align;
    if (starts.at(-1) !== s) starts.push(s);
  }
  return starts;
}

/** 1-D blend weights of a tile at `start` of `size` in a frame of `length`: ramps only toward other tiles. */
export function rampWeights(start: number, size: number, length: number, overlap: number): Float32Array {
  const w = new Float32Array(size).fill(1);
  if (overlap <= 0) return w;
  for (let i = 0; i < size; i++) {
    const fromLeft = start > 0 ? (i + 0.5) / overlap : Infinity;
    const fromRight = start + size < length ? (size - i - 0.5) / overlap : Infinity;
    w[i] = Math.min(1, fromLeft, fromRight);
  }
  return w;
}

export interface TileOptions {
  /** Tile edge in pixels (rounded down to the model's size multiple). */
  size: number;
  overlap: number;
  /** H and W of tiles must be multiples of this (2^(levels−1)). */
  align: number;
}

/** The model on one tile: x_t and blurry crops [F, h, w, 3] at timestep t → prediction [F, h, w, 3]. */
export type TilePredictor = (x: tf.Tensor4D, cond: tf.Tensor4D, t: number) => tf.Tensor4D;

/** A denoiser for `runSampler` that predicts the whole frame from tiles. cond: [F, H, W, 3]. */
export function tiledDenoiser(predictTile: TilePredictor, cond: tf.Tensor4D, o: TileOptions): (x: tf.Tensor4D, t: ArrayLike<number>) => tf.Tensor4D {
  const [, height, width] = cond.shape;
  const size = Math.max(o.align, Math.floor(o.size / o.align) * o.align);
  const th = Math.min(size, height);
  const tw = Math.min(size, width);
  const ys = tileStarts(height, th, o.overlap, o.align);
  const xs = tileStarts(width, tw, o.overlap, o.align);
  return (x, t) =>
    tf.tidy(() => {
      let sum: tf.Tensor4D | null = null;
      let weight: tf.Tensor4D | null = null;
      for (const y of ys) {
        for (const x0 of xs) {
          const wy = rampWeights(y, th, height, o.overlap);
          const wx = rampWeights(x0, tw, width, o.overlap);
          const w2 = new Float32Array(th * tw);
          for (let i = 0; i < th; i++) for (let j = 0; j < tw; j++) w2[i * tw + j] = wy[i]! * wx[j]!;
          const wt = tf.tensor4d(w2, [1, th, tw, 1]);
          const crop = (z: tf.Tensor4D) => tf.slice(z, [0, y, x0, 0], [-1, th, tw, -1]);
          const pred = tf.mul(predictTile(crop(x), crop(cond), t[0]!), wt);
          const pads: [number, number][] = [[0, 0], [y, height - y - th], [x0, width - x0 - tw], [0, 0]];
          const placed = tf.pad(pred, pads) as tf.Tensor4D;
          const wPlaced = tf.pad(wt, pads) as tf.Tensor4D;
          sum = sum ? (tf.add(sum, placed) as tf.Tensor4D) : placed;
          weight = weight ? (tf.add(weight, wPlaced) as tf.Tensor4D) : wPlaced;
        }
      }
      return tf.div(sum!, weight!) as tf.Tensor4D;
    });
}
