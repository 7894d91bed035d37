/**
 * DDPM ResBlock: GN → SiLU → conv3x3 → + dense(SiLU(temb)) → GN → SiLU → dropout → conv3x3 (zero
 * init) → + skip (1x1 conv when the width changes).
 */
import * as tf from '@tensorflow/tfjs';
import { addBroadcast, addSame, reshape, type ParamScope } from '../nn/index.ts';
import {
  applyConv,
  applyDense,
  applyNormSilu,
  createConv,
  createDense,
  createNorm,
  type ConvParams,
  type DenseParams,
  type NormParams,
} from './layers.ts';

export interface ResBlockParams {
  norm1: NormParams;
  conv1: ConvParams;
  temb: DenseParams;
  norm2: NormParams;
  conv2: ConvParams;
  skip: ConvParams | null;
}

export function createResBlock(scope: ParamScope, cin: number, cout: number, tembDim: number, groups: number): ResBlockParams {
  return {
    norm1: createNorm(scope.scope('norm1'), cin, groups),
    conv1: createConv(scope.scope('conv1'), 3, cin, cout),
    temb: createDense(scope.scope('temb'), tembDim, cout),
    norm2: createNorm(scope.scope('norm2'), cout, groups),
    conv2: createConv(scope.scope('conv2'), 3, cout, cout, true),
    skip: cin === cout ? null : createConv(scope.scope('skip'), 1, cin, cout),
  };
}

export interface Dropout {
  rate: number;
  /** Seed for this block's mask; absent at inference. */
  seed?: number;
}

/** x: [N,H,W,Ci], tembAct: SiLU(temb) [N, E] → [N,H,W,Co]. */
export function applyResBlock(p: ResBlockParams, x: tf.Tensor4D, tembAct: tf.Tensor2D, dropout?: Dropout): tf.Tensor4D {
  const [n, hgt, wid] = x.shape;
  const cout = p.conv1.w.shape[3]!;
  let h = applyConv(p.conv1, applyNormSilu(p.norm1, x));
  const t = applyDense(p.temb, tembAct);
  // Ops whose gradients save nothing they do not need (src/nn/elementwise.ts): tf.add would keep h alive.
  const ht = addBroadcast(reshape<tf.Rank.R4>(h, [n, 1, hgt * wid, cout]), reshape<tf.Rank.R4>(t, [n, 1, 1, cout]));
  h = reshape<tf.Rank.R4>(ht, [n, hgt, wid, cout]);
  h = applyNormSilu(p.norm2, h);
  if (dropout && dropout.seed !== undefined && dropout.rate > 0) h = tf.dropout(h, dropout.rate, undefined, dropout.seed) as tf.Tensor4D;
  h = applyConv(p.conv2, h);
  return addSame(p.skip ? applyConv(p.skip, x) : x, h);
}
