/**
 * Training windows for the trainer: datasets' seeded WindowSampler + prefetching WindowBatches, turned into
 * [B·F, h, w, 3] tensors in [−1, 1]. The state saved in checkpoints is the sampler state after the last batch
 * the trainer consumed (prefetched batches are simply drawn again after a resume).
 */
import * as tf from '@tensorflow/tfjs';
import { WindowBatches, WindowSampler, sequenceShapes, type SamplerState, type Sequence, type PaddingPolicy } from '../../datasets/index.ts';
import type { BatchSource, TrainBatch } from '../train/index.ts';

export interface WindowSourceOptions {
  frames: number;
  crop: number;
  batch: number;
  padding: PaddingPolicy;
  augment: boolean;
  seed: number;
}

function toSigned(x: Float32Array, shape: [number, number, number, number]): tf.Tensor4D {
  return tf.tidy(() => tf.sub(tf.mul(tf.tensor4d(x, shape), 2), 1));
}

export class WindowSource implements BatchSource {
  private batches: WindowBatches;
  private sampler: WindowSampler;
  private last: SamplerState;

  private constructor(
    private readonly sequences: readonly Sequence[],
    private readonly shapes: Awaited<ReturnType<typeof sequenceShapes>>,
    private readonly o: WindowSourceOptions,
  ) {
    this.sampler = this.makeSampler();
    this.last = this.sampler.state();
    this.batches = new WindowBatches(sequences, this.sampler, o.batch);
  }

  static async open(sequences: readonly Sequence[], o: WindowSourceOptions): Promise<WindowSource> {
    return new WindowSource(sequences, await sequenceShapes(sequences), o);
  }

  private makeSampler(state?: SamplerState): WindowSampler {
    const { frames, crop, padding, augment, seed } = this.o;
    return new WindowSampler(this.shapes, { frames, crop, padding, flips: augment, reverse: augment, seed }, state);
  }

  async next(windows: number): Promise<TrainBatch> {
    if (windows !== this.o.batch) throw new Error(`WindowSource was opened for batches of ${this.o.batch}, asked for ${windows}`);
    const b = await this.batches.next();
    this.last = b.state;
    const [bs, f, h, w] = b.shape;
    const shape: [number, number, number, number] = [bs * f, h, w, 3];
    return { sharp: toSigned(b.sharp, shape), blurry: toSigned(b.blurry, shape) };
  }

  state(): unknown {
    return this.last;
  }

  restore(state: unknown): void {
    this.sampler = this.makeSampler(state as SamplerState);
    this.last = this.sampler.state();
    this.batches = new WindowBatches(this.sequences, this.sampler, this.o.batch);
  }
}
