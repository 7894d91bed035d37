/**
 * torchvision VGG16 `features` (LPIPS's 'vgg' backbone), inference only, NHWC. Thirteen 3x3 convs (padding 1)
 * with ReLU, 2x2 max pools between stages; the five taps are relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
 * (lpips slices features[0:4], [4:9], [9:16], [16:23], [23:30]).
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureNet } from './alexnet.ts';
import { convBiasRelu, convWithBias, disposeConv, type StateDict } from './torch-layout.ts';

/** Per stage: the state_dict indices of its convs and their output channels. */
const STAGES: readonly { indices: number[]; channels: number }[] = [
  { indices: [0, 2], channels: 64 },
  { indices: [5, 7], channels: 128 },
  { indices: [10, 12, 14], channels: 256 },
  { indices: [17, 19, 21], channels: 512 },
  { indices: [24, 26, 28], channels: 512 },
];

export const VGG16_TAP_CHANNELS: readonly number[] = STAGES.map((s) => s.channels);

export function vgg16Features(sd: StateDict, label: string): FeatureNet {
  let cin = 3;
  const stages = STAGES.map(({ indices, channels }) =>
    indices.map((idx) => {
      const p = convWithBias(sd, `features.${idx}`, [channels, cin, 3, 3], label);
      cin = channels;
      return p;
    }),
  );
  return {
    taps(x) {
      const out: tf.Tensor4D[] = [];
      let h = x;
      stages.forEach((convs, s) => {
        if (s > 0) h = tf.maxPool(h, 2, 2, 'valid');
        for (const p of convs) h = convBiasRelu(h, p, 1, 'same');
        out.push(h);
      });
      return out;
    },
    dispose() {
      stages.flat().forEach(disposeConv);
    },
  };
}
