/**
 * Window partition and merge for WTSA. Images are laid out [S·F, H, W, C] with the F frames of one
 * sequence contiguous (image = s·F + f). A window gathers the tokens of one M×M window position of
 * all F frames, ordered (f, y, x): [S·nh·nw, F·M·M, C]. Sizes that M does not divide are zero-padded
 * at the bottom/right; `windowKeyMask` keeps the padding out of the attention.
 *
 * Every step is a reshape or a rank-4 transpose (rank > 4 transposes take a slow generic path on
 * wasm, wasm-perf.md §4). Partition and merge are each other's gradient, run as one custom op each, so
 * the backward keeps none of the transposed copies and frees each gradient as soon as it is used.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeGradients, withGrad } from '../nn/index.ts';

export interface WindowGeometry {
  /** Sequences S (images / frames). */
  seqs: number;
  frames: number;
  height: number;
  width: number;
  channels: number;
  /** Window size M. */
  window: number;
  /** Windows per column and per row after padding. */
  rows: number;
  cols: number;
}

export function windowGeometry(shape: readonly number[], frames: number, window: number): WindowGeometry {
  const [images, height, width, channels] = shape as [number, number, number, number];
  if (images % frames !== 0) {
    throw new Error(`window partition: ${images} images are not a whole number of ${frames}-frame sequences`);
  }
  return {
    seqs: images / frames,
    frames,
    height,
    width,
    channels,
    window,
    rows: Math.ceil(height / window),
    cols: Math.ceil(width / window),
  };
}

/** Tokens per window: F·M². */
export function tokensPerWindow(g: WindowGeometry): number {
  return g.frames * g.window * g.window;
}

/** Windows in the batch: S·nh·nw. */
export function windowCount(g: WindowGeometry): number {
  return g.seqs * g.rows * g.cols;
}

function padded(g: WindowGeometry): boolean {
  return g.rows * g.window !== g.height || g.cols * g.window !== g.width;
}

/** x: [S·F, H, W, C] → [S·nh·nw, F·M·M, C]. */
function partitionPlain(x: tf.Tensor4D, g: WindowGeometry): tf.Tensor3D {
  const { seqs: s, frames: f, window: m, rows: nh, cols: nw, channels: c } = g;
  const hp = nh * m;
  const wp = nw * m;
  const xp = padded(g)
    ? tf.pad(x, [
        [0, 0],
        [0, hp - g.height],
        [0, wp - g.width],
        [0, 0],
      ])
    : x;
  // [S·F·nh, M, nw, M·C] → [S·F·nh, nw, M, M·C]: images of windows, frame-major inside each sequence.
  const perFrame = tf.transpose(tf.reshape(xp, [s * f * nh, m, nw, m * c]), [0, 2, 1, 3]);
  if (f === 1) return tf.reshape(perFrame, [s * nh * nw, m * m, c]);
  // [S, F, nh·nw, M·M·C] → [S, nh·nw, F, M·M·C]: the same window of all F frames side by side.
  const grouped = tf.transpose(tf.reshape(perFrame, [s, f, nh * nw, m * m * c]), [0, 2, 1, 3]);
  return tf.reshape(grouped, [s * nh * nw, f * m * m, c]);
}

/** The exact inverse of partitionPlain: [S·nh·nw, F·M·M, C] → [S·F, H, W, C] (padding dropped). */
function mergePlain(tokens: tf.Tensor3D, g: WindowGeometry): tf.Tensor4D {
  const { seqs: s, frames: f, window: m, rows: nh, cols: nw, channels: c } = g;
  let perFrame: tf.Tensor4D;
  if (f === 1) {
    perFrame = tf.reshape(tokens, [s * nh, nw, m, m * c]);
  } else {
    const split = tf.transpose(tf.reshape(tokens, [s, nh * nw, f, m * m * c]), [0, 2, 1, 3]);
    perFrame = tf.reshape(split, [s * f * nh, nw, m, m * c]);
  }
  const images: tf.Tensor4D = tf.reshape(tf.transpose(perFrame, [0, 2, 1, 3]), [s * f, nh * m, nw * m, c]);
  return padded(g) ? tf.slice(images, [0, 0, 0, 0], [s * f, g.height, g.width, c]) : images;
}

function geometryKey(g: WindowGeometry): string {
  return [g.seqs, g.frames, g.height, g.width, g.channels, g.window].join(',');
}

// The gradient of a partition is the merge of the gradient (padding positions get none), and vice versa.
const partitionOps = new Map<string, (x: tf.Tensor4D) => tf.Tensor3D>();
const mergeOps = new Map<string, (tokens: tf.Tensor3D) => tf.Tensor4D>();

/** x: [S·F, H, W, C] → [S·nh·nw, F·M·M, C], zero-padding H and W up to multiples of M. */
export function partitionWindows(x: tf.Tensor4D, g: WindowGeometry): tf.Tensor3D {
  if (nativeGradients()) return partitionPlain(x, g);
  const key = geometryKey(g);
  let op = partitionOps.get(key);
  if (!op) {
    op = withGrad<[tf.Tensor4D], tf.Tensor3D>(
      ([xi]) => partitionPlain(xi, g),
      (dy) => [mergePlain(dy, g)],
    );
    partitionOps.set(key, op);
  }
  return op(x);
}

/** The exact inverse of partitionWindows: [S·nh·nw, F·M·M, C] → [S·F, H, W, C] (padding dropped). */
export function mergeWindows(tokens: tf.Tensor3D, g: WindowGeometry): tf.Tensor4D {
  if (nativeGradients()) return mergePlain(tokens, g);
  const key = geometryKey(g);
  let op = mergeOps.get(key);
  if (!op) {
    op = withGrad<[tf.Tensor3D], tf.Tensor4D>(
      ([ti]) => mergePlain(ti, g),
      (dy) => [partitionPlain(dy, g)],
    );
    mergeOps.set(key, op);
  }
  return op(tokens);
}

/** Logit offset for masked keys; large enough that exp underflows to 0, small enough to stay finite. */
export const MASKED = -1e9;

/**
 * [S·nh·nw, F·M·M] additive key mask: 0 for real pixels, MASKED for padding; null when nothing is padded.
 */
export function windowKeyMask(g: WindowGeometry): Float32Array | null {
  if (!padded(g)) return null;
  const key = `${g.seqs},${g.frames},${g.height},${g.width},${g.window}`;
  const hit = maskCache.get(key);
  if (hit) return hit;
  const mask = buildKeyMask(g);
  maskCache.set(key, mask);
  return mask;
}

// Masks depend only on the geometry; a training run sees a handful, so they are built once each.
const maskCache = new Map<string, Float32Array>();

function buildKeyMask(g: WindowGeometry): Float32Array {
  const { seqs, frames, window: m, rows, cols } = g;
  const t = frames * m * m;
  const perSeq = new Float32Array(rows * cols * t);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const base = (i * cols + j) * t;
      for (let f = 0; f < frames; f++) {
        for (let y = 0; y < m; y++) {
          for (let x = 0; x < m; x++) {
            if (i * m + y >= g.height || j * m + x >= g.width) perSeq[base + (f * m + y) * m + x] = MASKED;
          }
        }
      }
    }
  }
  const out = new Float32Array(seqs * perSeq.length);
  for (let s = 0; s < seqs; s++) out.set(perSeq, s * perSeq.length);
  return out;
}
