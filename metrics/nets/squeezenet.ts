/**
 * torchvision SqueezeNet 1.1 `features` (LPIPS's 'squeeze' backbone), inference only, NHWC. Seven taps
 * (lpips slices features[0:2], [2:5], [5:8], [8:10], [10:11], [11:12], [12:13]): channels 64, 128, 256, 384,
 * 384, 512, 512. Its max pools use ceil_mode=True, which tfjs lacks: the input is zero-padded at the
 * bottom/right first, exact here because every pool follows a ReLU (values ≥ 0, each window keeps ≥ 1 real
 * element).
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureNet } from './alexnet.ts';
import { convBiasRelu, convWithBias, disposeConv, type ConvParams, type StateDict } from './torch-layout.ts';

/** [state_dict index, in, squeeze, expand (each of 1x1 and 3x3)] of the eight Fire modules. */
const FIRES: readonly [number, number, number, number][] = [
  [3, 64, 16, 64],
  [4, 128, 16, 64],
  [6, 128, 32, 128],
  [7, 256, 32, 128],
  [9, 256, 48, 192],
  [10, 384, 48, 192],
  [11, 384, 64, 256],
  [12, 512, 64, 256],
];

export const SQUEEZENET_TAP_CHANNELS: readonly number[] = [64, 128, 256, 384, 384, 512, 512];

const relu = (x: tf.Tensor4D, p: ConvParams, pad: 'same' | 'valid', stride = 1): tf.Tensor4D => convBiasRelu(x, p, stride, pad);

/** MaxPool2d(3, stride 2, ceil_mode=True) on non-negative input. */
function maxPoolCeil(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  const extra = (n: number): number => (Math.ceil((n - 3) / 2) * 2 + 3) - n;
  const padded = tf.pad(x, [
    [0, 0],
    [0, extra(h)],
    [0, extra(w)],
    [0, 0],
  ]);
  return tf.maxPool(padded, 3, 2, 'valid');
}

export function squeezeNetFeatures(sd: StateDict, label: string): FeatureNet {
  const conv0 = convWithBias(sd, 'features.0', [64, 3, 3, 3], label);
  const fires = FIRES.map(([idx, cin, sq, ex]) => ({
    squeeze: convWithBias(sd, `features.${idx}.squeeze`, [sq, cin, 1, 1], label),
    e1: convWithBias(sd, `features.${idx}.expand1x1`, [ex, sq, 1, 1], label),
    e3: convWithBias(sd, `features.${idx}.expand3x3`, [ex, sq, 3, 3], label),
  }));
  const fire = (x: tf.Tensor4D, i: number): tf.Tensor4D => {
    const f = fires[i]!;
    const s = relu(x, f.squeeze, 'valid');
    return tf.concat([relu(s, f.e1, 'valid'), relu(s, f.e3, 'same')], 3);
  };
  return {
    taps(x) {
      const t1 = relu(x, conv0, 'valid', 2);
      const t2 = fire(fire(maxPoolCeil(t1), 0), 1);
      const t3 = fire(fire(maxPoolCeil(t2), 2), 3);
      const t4 = fire(maxPoolCeil(t3), 4);
      const t5 = fire(t4, 5);
      const t6 = fire(t5, 6);
      const t7 = fire(t6, 7);
      return [t1, t2, t3, t4, t5, t6, t7];
    },
    dispose() {
      disposeConv(conv0);
      fires.forEach((f) => [f.squeeze, f.e1, f.e3].forEach(disposeConv));
    },
  };
}
