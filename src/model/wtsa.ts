/**
 * WTSA, window-based temporal self-attention, with MRPE (paper.md):
 *   h = GroupNorm(x) (+ frame PE, one learnable C-vector per frame index)
 *   tokens = the M×M window at one position in all F frames ((f, y, x) order; F = 1 for 'spatial')
 *   q, k, v = dense(tokens); multi-head softmax attention with a Swin relative bias over the spatial
 *   offset (shared by all frame pairs) and a key mask for padding
 *   x + merge(dense_out(attention)), with dense_out zero-initialised so the block starts as the identity.
 */
import * as tf from '@tensorflow/tfjs';
import { addBroadcast, addSame, gatherRelativeBias, reshape, windowAttention, type ParamScope } from '../nn/index.ts';
import type { AttentionKind, ModelConfig } from './config.ts';
import { headsFor } from './config.ts';
import { applyDense, applyNorm, createDense, createNorm, type DenseParams, type NormParams } from './layers.ts';
import { frameWindowRelativeIndex, localityBias, relativeTableSize } from './relative-index.ts';
import { mergeWindows, partitionWindows, windowGeometry, windowKeyMask, type WindowGeometry } from './windows.ts';

export interface AttentionParams {
  kind: Exclude<AttentionKind, 'none'>;
  window: number;
  frames: number;
  heads: number;
  norm: NormParams;
  q: DenseParams;
  k: DenseParams;
  v: DenseParams;
  out: DenseParams;
  /** [F, C], or null when mrpe.framePE is off. */
  framePE: tf.Variable | null;
  /** [(2M−1)², heads], or null when mrpe.relBias is off or M = 1 (a single offset is a constant logit shift,
   * which softmax ignores, so the table could never learn). */
  relTable: tf.Variable | null;
}

export function createAttention(scope: ParamScope, channels: number, window: number, c: ModelConfig): AttentionParams {
  if (c.attention === 'none') throw new Error('createAttention: attention is none');
  const heads = headsFor(channels, c.headChannels);
  return {
    kind: c.attention,
    window,
    frames: c.frames,
    heads,
    norm: createNorm(scope.scope('norm'), channels, c.groups),
    q: createDense(scope.scope('q'), channels, channels),
    // No key bias: it adds q·b to every logit of a row, which softmax cancels, so it could never learn.
    k: createDense(scope.scope('k'), channels, channels, { bias: false }),
    v: createDense(scope.scope('v'), channels, channels),
    out: createDense(scope.scope('out'), channels, channels, { zero: true }),
    // Small random start (ViT/Swin use trunc-normal 0.02) so frames are distinguishable from step one.
    framePE: c.mrpe.framePE ? scope.get('framePE', [c.frames, channels], { kind: 'normal', std: 0.02 }) : null,
    // Swin's N(0, 0.02²), around −locality·distance when mrpe.locality > 0: a wide window then starts out
    // attending near the same position (in every frame), as a narrow one does, and widens as it learns.
    relTable:
      c.mrpe.relBias && window > 1
        ? scope.get('relTable', [relativeTableSize(window), heads], {
            kind: 'normal',
            std: 0.02,
            ...(c.mrpe.locality > 0 ? { mean: localityBias(window, heads, c.mrpe.locality) } : {}),
          })
        : null,
  };
}

/** Frames that attend together: all F for WTSA, one for per-frame spatial attention. */
export function attentionGeometry(p: AttentionParams, shape: readonly number[]): WindowGeometry {
  return windowGeometry(shape, p.kind === 'wtsa' ? p.frames : 1, p.window);
}

/** x: [S·F, H, W, C] → same shape. */
export function applyAttention(p: AttentionParams, x: tf.Tensor4D): tf.Tensor4D {
  const [n, hgt, wid, c] = x.shape;
  let h = applyNorm(p.norm, x);
  if (p.framePE) {
    const f = p.frames;
    const pe = reshape<tf.Rank.R4>(p.framePE, [1, f, 1, c]);
    h = reshape<tf.Rank.R4>(addBroadcast(reshape<tf.Rank.R4>(h, [n / f, f, hgt * wid, c]), pe), [n, hgt, wid, c]);
  }
  const g = attentionGeometry(p, x.shape);
  const tokens = partitionWindows(h, g); // [Wn, T, C]
  const [wn, t] = tokens.shape;
  const d = c / p.heads;
  const split = (y: tf.Tensor3D): tf.Tensor4D => reshape<tf.Rank.R4>(y, [wn, t, p.heads, d]);
  const q = split(applyDense(p.q, tokens));
  const k = split(applyDense(p.k, tokens));
  const v = split(applyDense(p.v, tokens));
  const bias = p.relTable ? gatherRelativeBias(p.relTable as tf.Tensor2D, frameWindowRelativeIndex(p.window, g.frames)) : undefined;
  const mask = windowKeyMask(g);
  const o = windowAttention(q, k, v, { bias, keyMask: mask ? tf.tensor2d(mask, [wn, t]) : undefined });
  const projected = applyDense(p.out, reshape<tf.Rank.R3>(o, [wn, t, c]));
  return addSame(x, mergeWindows(projected, g));
}
