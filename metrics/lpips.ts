/**
 * LPIPS v0.1 (Zhang et al. 2018), as `lpips.LPIPS(net='alex' | 'vgg' | 'squeeze', version='0.1')` computes it:
 * [0,1] → [-1,1] → scaling layer (x − shift)/scale → backbone taps → per-position unit normalisation over
 * channels (f / (‖f‖ + 1e-10)) → squared difference → 1x1 linear layer (no bias) → spatial mean → sum.
 */
import * as tf from '@tensorflow/tfjs';
import { alexNetFeatures, ALEXNET_TAP_CHANNELS, type FeatureNet } from './nets/alexnet.ts';
import { squeezeNetFeatures, SQUEEZENET_TAP_CHANNELS } from './nets/squeezenet.ts';
import { vgg16Features, VGG16_TAP_CHANNELS } from './nets/vgg.ts';
import { imagesToBatch, type RgbImage } from './nets/images.ts';
import { expectTensor, readPth, type PthTensor } from './weights/pth.ts';
import { requireWeights, weightsDir as defaultWeightsDir, type WeightsId, type WeightsPolicy } from './weights/registry.ts';

export type LpipsNet = 'alex' | 'vgg' | 'squeeze';

const SHIFT = [-0.03, -0.088, -0.188];
const SCALE = [0.458, 0.448, 0.45];
const EPS = 1e-10;

interface Backbone {
  weights: WeightsId;
  lin: WeightsId;
  channels: readonly number[];
  build(sd: Map<string, PthTensor>, label: string): FeatureNet;
}

const BACKBONES: Record<LpipsNet, Backbone> = {
  alex: { weights: 'alexnet', lin: 'lpips-alex', channels: ALEXNET_TAP_CHANNELS, build: alexNetFeatures },
  vgg: { weights: 'vgg16', lin: 'lpips-vgg', channels: VGG16_TAP_CHANNELS, build: vgg16Features },
  squeeze: { weights: 'squeezenet1_1', lin: 'lpips-squeeze', channels: SQUEEZENET_TAP_CHANNELS, build: squeezeNetFeatures },
};

export interface LpipsModel {
  readonly net: LpipsNet;
  /** a, b: [N, H, W, 3] in [0, 1], same shape → one distance per image pair. */
  distance(a: tf.Tensor4D, b: tf.Tensor4D): Promise<Float32Array>;
  /** Frames (8-bit or [0,1] float), paired by index, each pair the same size. */
  distanceImages(a: readonly RgbImage[], b: readonly RgbImage[]): Promise<Float32Array>;
  dispose(): void;
}

/** Builds LPIPS from already-read state_dicts (backbone: torchvision keys; lin: `lin{k}.model.1.weight`). */
export function lpipsFromStateDicts(
  net: LpipsNet,
  backboneSd: Map<string, PthTensor>,
  linSd: Map<string, PthTensor>,
  labels: { backbone: string; lin: string } = { backbone: 'backbone', lin: 'lin' },
): LpipsModel {
  const spec = BACKBONES[net];
  const lins = spec.channels.map((c, k) => expectTensor(linSd, `lin${k}.model.1.weight`, [1, c, 1, 1], labels.lin));
  const backbone = spec.build(backboneSd, labels.backbone);
  const linWeights = lins.map((l) => tf.tensor1d(l.data));
  const shift = tf.tensor1d(SHIFT);
  const scale = tf.tensor1d(SCALE);

  const unitNormalise = (f: tf.Tensor4D): tf.Tensor4D => tf.div(f, tf.add(tf.sqrt(tf.sum(tf.square(f), -1, true)), EPS));

  const distance = async (a: tf.Tensor4D, b: tf.Tensor4D): Promise<Float32Array> => {
    if (a.shape.join() !== b.shape.join() || a.shape[3] !== 3) {
      throw new Error(`lpips: inputs must be two [N, H, W, 3] batches of one shape, got [${a.shape}] and [${b.shape}]`);
    }
    const n = a.shape[0];
    const total = tf.tidy(() => {
      // One backbone pass over both batches: the convolutions see 2N images at once.
      const x = tf.div(tf.sub(tf.sub(tf.mul(tf.concat([a, b], 0), 2), 1), shift), scale) as tf.Tensor4D;
      const taps = backbone.taps(x);
      let sum: tf.Tensor1D = tf.zeros([n]);
      taps.forEach((f, k) => {
        const f0 = unitNormalise(tf.slice(f, [0, 0, 0, 0], [n, -1, -1, -1]));
        const f1 = unitNormalise(tf.slice(f, [n, 0, 0, 0], [n, -1, -1, -1]));
        const weighted = tf.sum(tf.mul(tf.square(tf.sub(f0, f1)), linWeights[k]!), -1);
        sum = tf.add(sum, tf.mean(weighted, [1, 2]));
      });
      return sum;
    });
    const out = (await total.data()) as Float32Array;
    total.dispose();
    return out;
  };

  return {
    net,
    distance,
    async distanceImages(a, b) {
      if (a.length !== b.length) throw new Error(`lpips: ${a.length} images vs ${b.length}; they are compared in pairs`);
      const ta = imagesToBatch(a);
      const tb = imagesToBatch(b);
      try {
        return await distance(ta, tb);
      } finally {
        ta.dispose();
        tb.dispose();
      }
    },
    dispose() {
      backbone.dispose();
      linWeights.forEach((t) => t.dispose());
      shift.dispose();
      scale.dispose();
    },
  };
}

export interface LoadLpipsOptions {
  net?: LpipsNet;
  /** Folder holding the canonical weights files (default: DIVD_WEIGHTS_DIR or ~/.cache/divd/weights). */
  weightsDir?: string;
  /** Verify the files are the published ones (see WeightsPolicy); none: load whatever is there. */
  policy?: WeightsPolicy;
}

/** Reads the backbone and linear-layer files from the weights directory; WeightsMissingError when absent. */
export function loadLpips(opts: LoadLpipsOptions = {}): LpipsModel {
  const net = opts.net ?? 'alex';
  const dir = opts.weightsDir ?? defaultWeightsDir();
  const spec = BACKBONES[net];
  const backbonePath = requireWeights(spec.weights, dir, opts.policy);
  const linPath = requireWeights(spec.lin, dir, opts.policy);
  return lpipsFromStateDicts(net, readPth(backbonePath), readPth(linPath), { backbone: backbonePath, lin: linPath });
}
