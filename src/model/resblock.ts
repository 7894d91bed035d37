/**
 * DDPM ResBlock: GN → SiLU → conv3x3 → + dense(SiLU(temb)) → GN → SiLU → dropout → conv3x3 (zero
 * init) → + skip (1x1 conv when the width changes).
 */
import * as tf from '@tensorflow/tfjs';
import { silu, type ParamScope } from '../nn/index.ts';
import {
  applyConv,
  applyDense,
  applyNorm,
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
  const [n] = x.shape;
  let h = applyConv(p.conv1, silu(applyNorm(p.norm1, x)));
  const t = applyDense(p.temb, tembAct);
  h = tf.add(h, tf.reshape(t, [n, 1, 1, t.shape[1]]));
  h = silu(applyNorm(p.norm2, h));
  if (dropout && dropout.seed !== undefined && dropout.rate > 0) h = tf.dropout(h, dropout.rate, undefined, dropout.seed) as tf.Tensor4D;
  h = applyConv(p.conv2, h);
  return tf.add(p.skip ? applyConv(p.skip, x) : x, h);
}
