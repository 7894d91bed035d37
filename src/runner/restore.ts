/**
 * Restores whole test sequences with a trained model: windows of F frames as `sample.window` says —
 * non-overlapping blocks, every output kept (the last block padded as the data config says, paper.md), or
 * one window per frame centred on it, only its centre output kept — each frame padded by edge replication
 * to a size the UNet takes, sampled with the trial's scheduler (DDPM or DDIM), cropped back and written as
 * PNG per frame. Every window has its own seed (sample.seed and the window's index in the whole run).
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readImageFloat, restoreWindows, writePng, type FrameF32, type PaddingPolicy } from '../../datasets/index.ts';
import { UsageError } from '../errors.ts';
import { createScheduler, restoredFrames, runSampler, type DiffusionConfig, type SampleConfig } from '../diffusion/index.ts';
import { predict, type DivdModel } from '../model/index.ts';
import { tiledDenoiser } from './tiles.ts';

/**
 * Frames to restore, in temporal order: a test sequence of a dataset (sharp frames present) or a user's
 * footage (`divd deblur`, blurry only). A sequence named '' writes its frames directly into `samplesDir`.
 */
export interface RestoreSequence {
  name: string;
  frames: readonly { name: string; blurry: string; sharp?: string }[];
}

export interface RestoreOptions {
  diffusion: DiffusionConfig;
  sample: SampleConfig;
  padding: PaddingPolicy;
  /** samples/<seq>/<frame>.png go here. */
  samplesDir: string;
  /** When set, blurry inputs and ground truth of the first `referenceFrames` frames go to inputs/ and gt/ (for the report). */
  referenceDir?: string;
  referenceFrames?: number;
  onWindow?(done: number, total: number): void;
}

/** The multiple H and W must have: 2^(levels−1) for the down-sampling convs. */
function sizeMultiple(model: DivdModel): number {
  return 2 ** (model.config.channelMults.length - 1);
}

/** [F, H, W, 3] in [−1, 1], padded at the bottom/right by edge replication to multiples of `k`. */
function framesToTensor(frames: FrameF32[], k: number): tf.Tensor4D {
  const { width, height } = frames[0]!;
  const hp = Math.ceil(height / k) * k;
  const wp = Math.ceil(width / k) * k;
  return tf.tidy(() => {
    const data = new Float32Array(frames.length * height * width * 3);
    frames.forEach((f, i) => data.set(f.data, i * height * width * 3));
    const x = tf.sub(tf.mul(tf.tensor4d(data, [frames.length, height, width, 3]), 2), 1) as tf.Tensor4D;
    if (hp === height && wp === width) return x;
    // Edge replication, as a concatenation of repeated last rows/columns (mirrorPad has no 'edge' mode).
    const rows = hp > height ? tf.concat([x, tf.tile(tf.slice(x, [0, height - 1, 0, 0], [-1, 1, -1, -1]), [1, hp - height, 1, 1])], 1) : x;
    return (wp > width ? tf.concat([rows, tf.tile(tf.slice(rows, [0, 0, width - 1, 0], [-1, -1, 1, -1]), [1, 1, wp - width, 1])], 2) : rows) as tf.Tensor4D;
  });
}

function windowSeed(seed: number, index: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) + index) >>> 0;
}

/** Restores every sequence; returns the number of frames written. */
export async function restoreSequences(model: DivdModel, sequences: readonly RestoreSequence[], o: RestoreOptions): Promise<number> {
  const F = model.config.frames;
  const k = sizeMultiple(model);
  // A config.json written before sample.window existed has none; those trials restored in blocks.
  const mode = o.sample.window ?? 'blocks';
  const plans = sequences.map((s) => restoreWindows(s.frames.length, F, o.padding, mode));
  const total = plans.reduce((a, p) => a + p.length, 0);
  let done = 0;
  let written = 0;
  for (const [si, seq] of sequences.entries()) {
    // Sliding windows share F − 1 frames with the previous one: keep those decoded, drop the rest.
    let decoded = new Map<number, Promise<FrameF32>>();
    for (const win of plans[si]!) {
      const next = new Map(win.indices.map((i) => [i, decoded.get(i) ?? readImageFloat(seq.frames[i]!.blurry)]));
      decoded = next;
      const blurry = await Promise.all(win.indices.map((i) => next.get(i)!));
      const { width, height } = blurry[0]!;
      blurry.forEach((b, i) => {
        if (b.width !== width || b.height !== height) {
          const at = (k: number) => seq.frames[win.indices[k]!]!.blurry;
          throw new UsageError(`frames of one sequence must have one size: ${at(i)} is ${b.width}x${b.height}, ${at(0)} is ${width}x${height}`);
        }
      });
      const cond = framesToTensor(blurry, k);
      const scheduler = createScheduler(o.diffusion, { ...o.sample, seed: windowSeed(o.sample.seed, done) });
      const tiled = o.sample.tile > 0 && (cond.shape[1] > o.sample.tile || cond.shape[2] > o.sample.tile);
      const denoise = tiled
        ? tiledDenoiser((xt, c, t) => predict(model, xt, c, [t]), cond, { size: o.sample.tile, overlap: o.sample.tileOverlap, align: k })
        : (xt: tf.Tensor4D, t: ArrayLike<number>) => predict(model, xt, cond, [t[0]!]);
      const sample = runSampler(scheduler, denoise, cond.shape as [number, number, number, number]);
      const x = restoredFrames(o.diffusion.residual, sample, cond);
      sample.dispose();
      const out = tf.tidy(() => tf.clipByValue(tf.div(tf.add(tf.slice(x, [0, 0, 0, 0], [-1, height, width, 3]), 1), 2), 0, 1));
      const data = out.dataSync() as Float32Array;
      tf.dispose([cond, x, out]);
      for (const { position, frame: index } of win.keep) {
        const pair = seq.frames[index]!;
        const name = pair.name.replace(/\.[^.]+$/, '');
        const frame = { width, height, data: data.slice(position * height * width * 3, (position + 1) * height * width * 3) };
        await writePng(path.join(o.samplesDir, seq.name, `${name}.png`), frame);
        written += 1;
        if (o.referenceDir && pair.sharp && index < (o.referenceFrames ?? 8)) {
          await writePng(path.join(o.referenceDir, 'inputs', seq.name, `${name}.png`), blurry[position]!);
          await writePng(path.join(o.referenceDir, 'gt', seq.name, `${name}.png`), await readImageFloat(pair.sharp));
        }
      }
      done += 1;
      o.onWindow?.(done, total);
    }
  }
  return written;
}
