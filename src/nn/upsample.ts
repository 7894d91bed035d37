/**
 * Nearest-neighbour 2x up-sampling. Forward: the resize kernel; backward: the sum of each 2x2 block
 * as 4·avgPool (0.7 ms against 19 ms for ResizeNearestNeighborGrad on wasm, wasm-perf.md).
 */
import * as tf from '@tensorflow/tfjs';
import { withGrad } from './custom.ts';

const upsampleOp = withGrad<[tf.Tensor4D], tf.Tensor4D>(
  ([x]) => tf.image.resizeNearestNeighbor(x, [x.shape[1] * 2, x.shape[2] * 2], false, false),
  (dy) => [tf.mul(tf.avgPool(dy, 2, 2, 'valid'), 4)],
);

/** x: [N,H,W,C] → [N,2H,2W,C], each pixel repeated in a 2x2 block. */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  return upsampleOp(x);
}
