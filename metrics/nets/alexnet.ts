/**
 * torchvision AlexNet `features` (the LPIPS backbone), inference only, NHWC. The five taps are the ReLU
 * outputs after conv1..conv5 (channels 64, 192, 384, 256, 256), as lpips.pretrained_networks.alexnet slices
 * them: features[0:2], [2:5], [5:8], [8:10], [10:12].
 */
import * as tf from '@tensorflow/tfjs';
import { convBiasRelu, convWithBias, disposeConv, type ConvParams, type StateDict } from './torch-layout.ts';

/** [state_dict index, Co, Ci, k, stride, padding] for features.{0,3,6,8,10}. */
const CONVS: readonly [number, number, number, number, number, number][] = [
  [0, 64, 3, 11, 4, 2],
  [3, 192, 64, 5, 1, 2],
  [6, 384, 192, 3, 1, 1],
  [8, 256, 384, 3, 1, 1],
  [10, 256, 256, 3, 1, 1],
];

export const ALEXNET_TAP_CHANNELS: readonly number[] = [64, 192, 384, 256, 256];

export interface FeatureNet {
  /** x: [N, H, W, 3] (already scaled as the network expects) → one [N, h, w, C] tensor per tap. */
  taps(x: tf.Tensor4D): tf.Tensor4D[];
  dispose(): void;
}

export function alexNetFeatures(sd: StateDict, label: string): FeatureNet {
  const convs: ConvParams[] = CONVS.map(([idx, co, ci, k]) => convWithBias(sd, `features.${idx}`, [co, ci, k, k], label));
  const conv = (x: tf.Tensor4D, i: number): tf.Tensor4D => {
    const [, , , , stride, pad] = CONVS[i]!;
    return convBiasRelu(x, convs[i]!, stride, pad);
  };
  return {
    taps(x) {
      // features: conv,relu | maxpool,conv,relu | maxpool,conv,relu | conv,relu | conv,relu (torch pools floor).
      const t1 = conv(x, 0);
      const t2 = conv(tf.maxPool(t1, 3, 2, 'valid'), 1);
      const t3 = conv(tf.maxPool(t2, 3, 2, 'valid'), 2);
      const t4 = conv(t3, 3);
      const t5 = conv(t4, 4);
      return [t1, t2, t3, t4, t5];
    },
    dispose() {
      convs.forEach(disposeConv);
    },
  };
}
