/**
 * The DIVD conditional UNet: F frames of a window run through the network as a batch of images
 * ([S·F, H, W, C], the frames of one sequence contiguous), conditioned on the blurry frames by
 * channel concatenation, with WTSA + MRPE where the config puts attention (layout.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { ParamStore, concatChannels, silu, type ParamInfo } from '../nn/index.ts';
import type { ModelConfig } from './config.ts';
import { downsamplings } from './config.ts';
import { applyConv, applyNormSilu, applyUpsampleConv, createConv, createNorm, type ConvParams, type NormParams } from './layers.ts';
import { OUT_CHANNELS, unetLayout, type Block } from './layout.ts';
import { applyResBlock, createResBlock, type ResBlockParams } from './resblock.ts';
import { applyTimeEmbedding, createTimeEmbedding, type TimeEmbeddingParams } from './timestep.ts';
import { applyAttention, createAttention, type AttentionParams } from './wtsa.ts';

type BlockParams =
  | { kind: 'convIn' | 'down' | 'up'; conv: ConvParams }
  | { kind: 'res'; res: ResBlockParams; concatSkip: number }
  | { kind: 'attn'; attn: AttentionParams }
  | { kind: 'push' }
  | { kind: 'out'; norm: NormParams; conv: ConvParams };

export interface DivdModel {
  readonly config: ModelConfig;
  /** Every weight, by checkpoint name. */
  readonly params: ParamStore;
  readonly layout: readonly Block[];
  readonly time: TimeEmbeddingParams;
  readonly blocks: readonly BlockParams[];
}

/** Time-embedding width: 4 · base (DDPM). */
export function timeEmbeddingDim(c: ModelConfig): number {
  return 4 * c.baseChannels;
}

/** Builds every parameter now (deterministic in `seed` and the parameter names). */
export function createModel(config: ModelConfig, seed = 0): DivdModel {
  const params = new ParamStore(seed);
  const layout = unetLayout(config);
  const temb = timeEmbeddingDim(config);
  const time = createTimeEmbedding(params.scope('temb'), config.baseChannels, temb);
  const blocks = layout.map((b): BlockParams => {
    switch (b.kind) {
      case 'convIn':
        return { kind: b.kind, conv: createConv(params.scope(b.name), 3, b.cin, b.cout) };
      case 'down':
        return { kind: b.kind, conv: createConv(params.scope(b.name), 3, b.channels, b.channels) };
      case 'up':
        return { kind: b.kind, conv: createConv(params.scope(b.name), 3, b.channels, b.channels) };
      case 'res':
        return { kind: 'res', res: createResBlock(params.scope(b.name), b.cin, b.cout, temb, config.groups), concatSkip: b.concatSkip };
      case 'attn':
        return { kind: 'attn', attn: createAttention(params.scope(b.name), b.channels, b.window, config) };
      case 'push':
        return { kind: 'push' };
      case 'out':
        return {
          kind: 'out',
          norm: createNorm(params.scope(`${b.name}.norm`), b.cin, config.groups),
          conv: createConv(params.scope(`${b.name}.conv`), 3, b.cin, b.cout, true),
        };
    }
  });
  return { config, params, layout, time, blocks };
}

export function parameterCount(model: DivdModel): number {
  return model.params.count();
}

export function parameterInfo(model: DivdModel): ParamInfo[] {
  return model.params.info();
}

export function disposeModel(model: DivdModel): void {
  model.params.dispose();
}

export interface ForwardOptions {
  /** Seed for dropout masks (training only); without it dropout is off. */
  dropoutSeed?: number;
}

/**
 * The size the UNet can take: H and W must be divisible by 2^(levels−1) (the down-sampling convs
 * need even sizes). Throws naming the offending size.
 */
export function checkInputSize(c: ModelConfig, height: number, width: number): void {
  const k = 2 ** downsamplings(c);
  if (height % k !== 0 || width % k !== 0) {
    throw new Error(`model input ${height}x${width} must be divisible by ${k} (2^(levels−1)); pad or crop the frames`);
  }
}

/** One timestep per image: t has S entries (one per sequence, repeated over its F frames) or S·F. */
function perImageTimesteps(t: ArrayLike<number>, images: number, frames: number): ArrayLike<number> {
  if (t.length === images) return t;
  if (t.length * frames !== images) {
    throw new Error(`model: ${t.length} timesteps for ${images} images; give one per sequence (${images / frames}) or per image`);
  }
  const out = new Float64Array(images);
  for (let i = 0; i < images; i++) out[i] = t[Math.floor(i / frames)]!;
  return out;
}

/**
 * The network's prediction (ε, x0 or v, as the diffusion config trains it).
 * xNoisy, blurry: [S·F, H, W, 3] with the F frames of a sequence contiguous; t: timesteps → [S·F, H, W, 3].
 */
export function predict(
  model: DivdModel,
  xNoisy: tf.Tensor4D,
  blurry: tf.Tensor4D,
  t: ArrayLike<number>,
  opts: ForwardOptions = {},
): tf.Tensor4D {
  const c = model.config;
  const [n, h, w, ch] = xNoisy.shape;
  if (ch !== OUT_CHANNELS || blurry.shape.join() !== xNoisy.shape.join()) {
    throw new Error(`model: xNoisy [${xNoisy.shape}] and blurry [${blurry.shape}] must both be [S·F, H, W, 3]`);
  }
  if (n % c.frames !== 0) throw new Error(`model: ${n} images are not a whole number of ${c.frames}-frame sequences`);
  checkInputSize(c, h, w);
  const tembAct = silu(applyTimeEmbedding(model.time, perImageTimesteps(t, n, c.frames)));
  const skips: tf.Tensor4D[] = [];
  let x: tf.Tensor4D = tf.concat([xNoisy, blurry], 3);
  let dropoutIndex = 0;
  // Each block in its own tidy, and a block's input disposed once no later block reads it: inside
  // tf.variableGrads the forward is one big scope that would otherwise hold every intermediate of every
  // block until the loss is computed. The gradient tape keeps its own handles on what it saved.
  const apply = (f: (input: tf.Tensor4D) => tf.Tensor4D): void => {
    const input = x;
    x = tf.tidy(() => f(input));
    if (!skips.includes(input)) input.dispose();
  };
  for (const b of model.blocks) {
    switch (b.kind) {
      case 'convIn':
        apply((h) => applyConv(b.conv, h));
        break;
      case 'push':
        skips.push(x);
        break;
      case 'res': {
        const skip = b.concatSkip > 0 ? skips.pop()! : null;
        const seed = opts.dropoutSeed === undefined ? undefined : opts.dropoutSeed * 7919 + dropoutIndex++;
        apply((h) => applyResBlock(b.res, skip ? concatChannels([h, skip]) : h, tembAct, { rate: c.dropout, seed }));
        if (skip && !skips.includes(skip)) skip.dispose();
        break;
      }
      case 'attn':
        apply((h) => applyAttention(b.attn, h));
        break;
      case 'down':
        apply((h) => applyConv(b.conv, h, 2));
        break;
      case 'up':
        apply((h) => applyUpsampleConv(b.conv, h));
        break;
      case 'out':
        apply((h) => applyConv(b.conv, applyNormSilu(b.norm, h)));
        break;
    }
  }
  tembAct.dispose();
  return x;
}
