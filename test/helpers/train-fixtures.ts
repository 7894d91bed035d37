/** A tiny model, objective and in-memory batch source for training tests. */
import * as tf from '@tensorflow/tfjs';
import { Rng, type RngState } from '../../src/nn/index.ts';
import type { DivdModel } from '../../src/model/index.ts';
import { tinyModel as sharedTinyModel } from './model.ts';
import { makeSchedule, resolveDiffusionConfig } from '../../src/diffusion/index.ts';
import { DEFAULT_TRAIN_CONFIG, type BatchSource, type Objective, type TrainConfig } from '../../src/train/index.ts';

export const FRAMES = 4;

export function tinyModel(seed: number): DivdModel {
  return sharedTinyModel({ frames: FRAMES, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, windows: [2, 1], headChannels: 8, groups: 4 }, seed);
}

export function tinyObjective(): Objective {
  const d = resolveDiffusionConfig({ timesteps: 100 });
  return { schedule: makeSchedule(d), prediction: d.prediction };
}

export function tinyTrainConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return { ...DEFAULT_TRAIN_CONFIG, steps: 6, batch: 1, crop: 16, lr: 1e-3, warmupSteps: 2, ema: 0.9, checkpointEvery: 2, keepLast: 2, validateEvery: 3, logEvery: 1, seed: 3, ...overrides };
}

/** A smooth synthetic video (sharp) and a box-blurred copy (blurry), in [−1, 1]. */
function video(frames: number, size: number): { sharp: Float32Array; blurry: Float32Array } {
  const sharp = new Float32Array(frames * size * size * 3);
  for (let f = 0; f < frames; f++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < 3; c++) sharp[((f * size + y) * size + x) * 3 + c] = Math.sin(0.4 * (x + f) + 0.3 * y + c) * 0.8;
  const blurry = new Float32Array(sharp.length);
  for (let f = 0; f < frames; f++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let d = -2; d <= 2; d++) s += sharp[((f * size + y) * size + Math.min(size - 1, Math.max(0, x + d))) * 3 + c]!;
          blurry[((f * size + y) * size + x) * 3 + c] = s / 5;
        }
  return { sharp, blurry };
}

/** Random F-frame windows and crops from one video; its RNG state is the whole data order. */
export class ArraySource implements BatchSource {
  private rng: Rng;
  private readonly data = video(8, 24);
  poisonAt = -1;
  private calls = 0;

  constructor(
    seed: number,
    readonly crop = 16,
  ) {
    this.rng = new Rng(seed);
  }

  next(windows: number): { sharp: tf.Tensor4D; blurry: tf.Tensor4D } {
    this.calls += 1;
    const size = 24;
    const out = { sharp: new Float32Array(windows * FRAMES * this.crop * this.crop * 3), blurry: new Float32Array(windows * FRAMES * this.crop * this.crop * 3) };
    let o = 0;
    for (let w = 0; w < windows; w++) {
      const f0 = Math.floor(this.rng.next() * (8 - FRAMES + 1));
      const y0 = Math.floor(this.rng.next() * (size - this.crop + 1));
      const x0 = Math.floor(this.rng.next() * (size - this.crop + 1));
      for (let f = f0; f < f0 + FRAMES; f++)
        for (let y = y0; y < y0 + this.crop; y++)
          for (let x = x0; x < x0 + this.crop; x++)
            for (let c = 0; c < 3; c++, o++) {
              const i = ((f * size + y) * size + x) * 3 + c;
              out.sharp[o] = this.data.sharp[i]!;
              out.blurry[o] = this.calls === this.poisonAt ? NaN : this.data.blurry[i]!;
            }
    }
    const shape: [number, number, number, number] = [windows * FRAMES, this.crop, this.crop, 3];
    return { sharp: tf.tensor4d(out.sharp, shape), blurry: tf.tensor4d(out.blurry, shape) };
  }

  state(): unknown {
    return { rng: this.rng.save(), calls: this.calls };
  }

  restore(state: unknown): void {
    const s = state as { rng: RngState; calls: number };
    this.rng = Rng.restore(s.rng);
    this.calls = s.calls;
  }
}
