/**
 * The image batches the feature networks take: NHWC float32 in [0, 1]. Frames arrive as 8-bit (0..255) or
 * float ([0, 1]) interleaved RGB; this is the one place that converts them.
 */
import * as tf from '@tensorflow/tfjs';

/** One RGB frame, rows of interleaved R, G, B. Uint8Array: 0..255; Float32Array: 0..1. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array | Float32Array;
}

/** Stacks same-sized frames into [N, H, W, 3] in [0, 1]. */
export function imagesToBatch(images: readonly RgbImage[]): tf.Tensor4D {
  if (images.length === 0) throw new Error('imagesToBatch: no images');
  const { width, height } = images[0]!;
  const px = width * height * 3;
  const out = new Float32Array(images.length * px);
  images.forEach((im, n) => {
    if (im.width !== width || im.height !== height) {
      throw new Error(`imagesToBatch: image ${n} is ${im.width}x${im.height}, image 0 is ${width}x${height}`);
    }
    if (im.data.length !== px) throw new Error(`imagesToBatch: image ${n} has ${im.data.length} values, expected ${px} (${width}x${height}x3)`);
    if (im.data instanceof Uint8Array) for (let i = 0; i < px; i++) out[n * px + i] = im.data[i]! / 255;
    else out.set(im.data, n * px);
  });
  return tf.tensor4d(out, [images.length, height, width, 3]);
}
