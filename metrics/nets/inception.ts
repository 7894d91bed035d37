/**
 * pytorch-fid's Inception v3 feature extractor (the network behind FID and KID), inference only, NHWC.
 * It is torchvision's Inception3 layout with the FID variants of blocks A, C and E, which reproduce
 * TensorFlow's 2015 graph: their pool branches average with count_include_pad=False (tf 'same' avg pooling
 * excludes padding too), and the last block (E_2) max-pools instead. Every conv is BasicConv2d (bias-free conv,
 * BatchNorm eps 0.001, ReLU); BN is folded into the conv at load time.
 * Input: [N, H, W, 3] in [0, 1] → bilinear resize to 299x299 (align_corners=False, no antialias) → 2x − 1.
 * Output: the 2048-d global average pool after Mixed_7c.
 */
import * as tf from '@tensorflow/tfjs';
import { imagesToBatch, type RgbImage } from './images.ts';
import { convBiasRelu, convBnFolded, disposeConv, type ConvParams, type StateDict } from './torch-layout.ts';
import { readPth } from '../weights/pth.ts';
import { requireWeights, weightsDir as defaultWeightsDir, type WeightsPolicy } from '../weights/registry.ts';

export const FID_FEATURE_DIMS = 2048;
const INPUT_SIZE = 299;
const BN_EPS = 0.001;

type Conv = (x: tf.Tensor4D) => tf.Tensor4D;

/** Collects every conv so the model can free them; `conv` builds one BasicConv2d. */
class Builder {
  readonly params: ConvParams[] = [];
  constructor(
    private readonly sd: StateDict,
    private readonly label: string,
  ) {}

  /** k: square size or [kh, kw]; torch padding is (k−1)/2 ('same') or 0 ('valid'). */
  conv(name: string, cin: number, cout: number, k: number | [number, number], stride: 1 | 2 = 1, padding: 'same' | 'valid' = 'valid'): Conv {
    const [kh, kw] = typeof k === 'number' ? [k, k] : k;
    const p = convBnFolded(this.sd, name, [cout, cin, kh, kw], BN_EPS, this.label);
    this.params.push(p);
    return (x) => convBiasRelu(x, p, stride, padding);
  }
}

const avgPool3 = (x: tf.Tensor4D): tf.Tensor4D => tf.avgPool(x, 3, 1, 'same');
const maxPool3 = (x: tf.Tensor4D): tf.Tensor4D => tf.maxPool(x, 3, 1, 'same');
const maxPoolDown = (x: tf.Tensor4D): tf.Tensor4D => tf.maxPool(x, 3, 2, 'valid');
const chain =
  (...fs: Conv[]): Conv =>
  (x) =>
    fs.reduce((h, f) => f(h), x);
const concat = (parts: tf.Tensor4D[]): tf.Tensor4D => tf.concat(parts, 3);

/** FIDInceptionA: 1x1 | 1x1→5x5 | 1x1→3x3→3x3 | avgpool→1x1. */
function blockA(b: Builder, n: string, cin: number, poolFeatures: number): Conv {
  const b1 = b.conv(`${n}.branch1x1`, cin, 64, 1);
  const b5 = chain(b.conv(`${n}.branch5x5_1`, cin, 48, 1), b.conv(`${n}.branch5x5_2`, 48, 64, 5, 1, 'same'));
  const b3 = chain(
    b.conv(`${n}.branch3x3dbl_1`, cin, 64, 1),
    b.conv(`${n}.branch3x3dbl_2`, 64, 96, 3, 1, 'same'),
    b.conv(`${n}.branch3x3dbl_3`, 96, 96, 3, 1, 'same'),
  );
  const bp = b.conv(`${n}.branch_pool`, cin, poolFeatures, 1);
  return (x) => concat([b1(x), b5(x), b3(x), bp(avgPool3(x))]);
}

/** InceptionB (Mixed_6a, grid reduction): 3x3/2 | 1x1→3x3→3x3/2 | maxpool/2. */
function blockB(b: Builder, n: string, cin: number): Conv {
  const b3 = b.conv(`${n}.branch3x3`, cin, 384, 3, 2);
  const bd = chain(
    b.conv(`${n}.branch3x3dbl_1`, cin, 64, 1),
    b.conv(`${n}.branch3x3dbl_2`, 64, 96, 3, 1, 'same'),
    b.conv(`${n}.branch3x3dbl_3`, 96, 96, 3, 2),
  );
  return (x) => concat([b3(x), bd(x), maxPoolDown(x)]);
}

/** FIDInceptionC: 1x1 | 1x1→1x7→7x1 | 1x1→7x1→1x7→7x1→1x7 | avgpool→1x1. */
function blockC(b: Builder, n: string, cin: number, c7: number): Conv {
  const b1 = b.conv(`${n}.branch1x1`, cin, 192, 1);
  const b7 = chain(
    b.conv(`${n}.branch7x7_1`, cin, c7, 1),
    b.conv(`${n}.branch7x7_2`, c7, c7, [1, 7], 1, 'same'),
    b.conv(`${n}.branch7x7_3`, c7, 192, [7, 1], 1, 'same'),
  );
  const bd = chain(
    b.conv(`${n}.branch7x7dbl_1`, cin, c7, 1),
    b.conv(`${n}.branch7x7dbl_2`, c7, c7, [7, 1], 1, 'same'),
    b.conv(`${n}.branch7x7dbl_3`, c7, c7, [1, 7], 1, 'same'),
    b.conv(`${n}.branch7x7dbl_4`, c7, c7, [7, 1], 1, 'same'),
    b.conv(`${n}.branch7x7dbl_5`, c7, 192, [1, 7], 1, 'same'),
  );
  const bp = b.conv(`${n}.branch_pool`, cin, 192, 1);
  return (x) => concat([b1(x), b7(x), bd(x), bp(avgPool3(x))]);
}

/** InceptionD (Mixed_7a, grid reduction): 1x1→3x3/2 | 1x1→1x7→7x1→3x3/2 | maxpool/2. */
function blockD(b: Builder, n: string, cin: number): Conv {
  const b3 = chain(b.conv(`${n}.branch3x3_1`, cin, 192, 1), b.conv(`${n}.branch3x3_2`, 192, 320, 3, 2));
  const b7 = chain(
    b.conv(`${n}.branch7x7x3_1`, cin, 192, 1),
    b.conv(`${n}.branch7x7x3_2`, 192, 192, [1, 7], 1, 'same'),
    b.conv(`${n}.branch7x7x3_3`, 192, 192, [7, 1], 1, 'same'),
    b.conv(`${n}.branch7x7x3_4`, 192, 192, 3, 2),
  );
  return (x) => concat([b3(x), b7(x), maxPoolDown(x)]);
}

/** FIDInceptionE_1 (avg pool) / E_2 (max pool): 1x1 | 1x1→(1x3, 3x1) | 1x1→3x3→(1x3, 3x1) | pool→1x1. */
function blockE(b: Builder, n: string, cin: number, pool: 'avg' | 'max'): Conv {
  const b1 = b.conv(`${n}.branch1x1`, cin, 320, 1);
  const b3 = b.conv(`${n}.branch3x3_1`, cin, 384, 1);
  const b3a = b.conv(`${n}.branch3x3_2a`, 384, 384, [1, 3], 1, 'same');
  const b3b = b.conv(`${n}.branch3x3_2b`, 384, 384, [3, 1], 1, 'same');
  const bd = chain(b.conv(`${n}.branch3x3dbl_1`, cin, 448, 1), b.conv(`${n}.branch3x3dbl_2`, 448, 384, 3, 1, 'same'));
  const bda = b.conv(`${n}.branch3x3dbl_3a`, 384, 384, [1, 3], 1, 'same');
  const bdb = b.conv(`${n}.branch3x3dbl_3b`, 384, 384, [3, 1], 1, 'same');
  const bp = b.conv(`${n}.branch_pool`, cin, 192, 1);
  const poolFn = pool === 'avg' ? avgPool3 : maxPool3;
  return (x) => {
    const t = b3(x);
    const d = bd(x);
    return concat([b1(x), b3a(t), b3b(t), bda(d), bdb(d), bp(poolFn(x))]);
  };
}

export interface FidInception {
  readonly dims: number;
  /** x: [N, H, W, 3] in [0, 1], any H and W → [N·2048] features, row-major. Runs in batches. */
  features(x: tf.Tensor4D): Promise<Float32Array>;
  /** Same, from frames (8-bit or [0,1] float) of one size. */
  featuresImages(images: readonly RgbImage[]): Promise<Float32Array>;
  dispose(): void;
}

export interface FidInceptionOptions {
  /** Images per forward pass (memory vs. speed); default 8. */
  batchSize?: number;
}

/** Builds the network from a state_dict with torchvision Inception3 key names (fc.* and AuxLogits.* unused). */
export function fidInceptionFromStateDict(sd: StateDict, label: string, opts: FidInceptionOptions = {}): FidInception {
  const batchSize = opts.batchSize ?? 8;
  const b = new Builder(sd, label);
  const stem = chain(
    b.conv('Conv2d_1a_3x3', 3, 32, 3, 2),
    b.conv('Conv2d_2a_3x3', 32, 32, 3),
    b.conv('Conv2d_2b_3x3', 32, 64, 3, 1, 'same'),
    maxPoolDown,
    b.conv('Conv2d_3b_1x1', 64, 80, 1),
    b.conv('Conv2d_4a_3x3', 80, 192, 3),
    maxPoolDown,
  );
  const body = chain(
    blockA(b, 'Mixed_5b', 192, 32),
    blockA(b, 'Mixed_5c', 256, 64),
    blockA(b, 'Mixed_5d', 288, 64),
    blockB(b, 'Mixed_6a', 288),
    blockC(b, 'Mixed_6b', 768, 128),
    blockC(b, 'Mixed_6c', 768, 160),
    blockC(b, 'Mixed_6d', 768, 160),
    blockC(b, 'Mixed_6e', 768, 192),
    blockD(b, 'Mixed_7a', 768),
    blockE(b, 'Mixed_7b', 1280, 'avg'),
    blockE(b, 'Mixed_7c', 2048, 'max'),
  );

  const forward = (x: tf.Tensor4D): tf.Tensor2D =>
    tf.tidy(() => {
      const resized = tf.image.resizeBilinear(x, [INPUT_SIZE, INPUT_SIZE], false, true);
      const h = body(stem(tf.sub(tf.mul(resized, 2), 1)));
      return tf.mean(h, [1, 2]) as tf.Tensor2D;
    });

  const features = async (x: tf.Tensor4D): Promise<Float32Array> => {
    if (x.shape[3] !== 3) throw new Error(`fid inception: input must be [N, H, W, 3], got [${x.shape}]`);
    const n = x.shape[0];
    const out = new Float32Array(n * FID_FEATURE_DIMS);
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      const f = tf.tidy(() => forward(size === n ? x : tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1])));
      out.set((await f.data()) as Float32Array, start * FID_FEATURE_DIMS);
      f.dispose();
    }
    return out;
  };

  return {
    dims: FID_FEATURE_DIMS,
    features,
    async featuresImages(images) {
      const x = imagesToBatch(images);
      try {
        return await features(x);
      } finally {
        x.dispose();
      }
    },
    dispose() {
      b.params.forEach(disposeConv);
    },
  };
}

export interface LoadFidInceptionOptions extends FidInceptionOptions {
  /** Folder holding pt_inception-2015-12-05-6726825d.pth (default: DIVD_WEIGHTS_DIR or ~/.cache/divd/weights). */
  weightsDir?: string;
  /** Verify the file is the published one (see WeightsPolicy); none: load whatever is there. */
  policy?: WeightsPolicy;
}

/** Reads pytorch-fid's weights from the weights directory; WeightsMissingError when absent. */
export function loadFidInception(opts: LoadFidInceptionOptions = {}): FidInception {
  const file = requireWeights('inception-fid', opts.weightsDir ?? defaultWeightsDir(), opts.policy);
  return fidInceptionFromStateDict(readPth(file), file, opts);
}
