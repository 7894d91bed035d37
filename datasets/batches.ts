/**
 * Training batches: windows drawn by a `WindowSampler`, decoded, cropped, flipped and packed as
 * Float32Array [B, F, h, w, 3] in [0, 1]. Decoding runs ahead (`prefetch` batches) so it overlaps
 * training; each batch carries the sampler state after it, which is what a checkpoint stores.
 */
import { imageSize, readImageRegion, toFloat, type FrameF32 } from './io/index.ts';
import type { Sequence } from './sources/index.ts';
import { WindowSampler, type Crop, type SamplerState, type SequenceShape, type WindowSample } from './windows.ts';

/** Length and frame size of each sequence (size from the first frame's header). */
export async function sequenceShapes(sequences: readonly Sequence[]): Promise<SequenceShape[]> {
  return Promise.all(
    sequences.map(async (s) => {
      if (s.frames.length === 0) throw new Error(`sequence ${s.name} has no frames`);
      const { width, height } = await imageSize(s.frames[0]!.blurry);
      return { name: s.name, length: s.frames.length, width, height };
    }),
  );
}

/**
 * The crop of an HWC RGB frame, mirrored left-right (`flipH`) and/or top-bottom (`flipV`), written into
 * `out` at `offset` (HWC, crop.width × crop.height × 3 values).
 */
export function cropAndFlip(frame: FrameF32, crop: Crop, flipH: boolean, flipV: boolean, out: Float32Array, offset = 0): void {
  if (crop.x < 0 || crop.y < 0 || crop.x + crop.width > frame.width || crop.y + crop.height > frame.height) {
    throw new Error(`crop ${crop.width}x${crop.height}+${crop.x}+${crop.y} outside a ${frame.width}x${frame.height} frame`);
  }
  for (let y = 0; y < crop.height; y++) {
    const sy = crop.y + (flipV ? crop.height - 1 - y : y);
    for (let x = 0; x < crop.width; x++) {
      const sx = crop.x + (flipH ? crop.width - 1 - x : x);
      const s = (sy * frame.width + sx) * 3;
      const d = offset + (y * crop.width + x) * 3;
      out[d] = frame.data[s]!;
      out[d + 1] = frame.data[s + 1]!;
      out[d + 2] = frame.data[s + 2]!;
    }
  }
}

export interface WindowData {
  blurry: Float32Array; // [F, h, w, 3]
  sharp: Float32Array; // [F, h, w, 3]
}

/** Decodes the frames of one sampled window into `out` tensors at `offset` (or fresh arrays). */
export async function loadWindow(sequence: Sequence, sample: WindowSample, out?: WindowData, offset = 0): Promise<WindowData> {
  const { crop } = sample;
  const frameSize = crop.width * crop.height * 3;
  const dest = out ?? { blurry: new Float32Array(sample.indices.length * frameSize), sharp: new Float32Array(sample.indices.length * frameSize) };
  await Promise.all(
    sample.indices.flatMap((index, f) => {
      const pair = sequence.frames[index];
      if (!pair) throw new Error(`sequence ${sequence.name} has no frame ${index}`);
      return (['blurry', 'sharp'] as const).map(async (side) => {
        // Decode only the crop, then mirror it in place into the batch.
        const region = toFloat(await readImageRegion(pair[side], crop));
        cropAndFlip(region, { x: 0, y: 0, width: crop.width, height: crop.height }, sample.flipH, sample.flipV, dest[side], offset + f * frameSize);
      });
    }),
  );
  return dest;
}

export interface Batch extends WindowData {
  /** Shape of blurry and sharp: [batch, frames, height, width, 3]. */
  shape: [number, number, number, number, 3];
  samples: WindowSample[];
  /** Sampler state after this batch: resume from it to continue with the next batch. */
  state: SamplerState;
}

export class WindowBatches {
  private readonly queue: Promise<Batch>[] = [];

  constructor(
    private readonly sequences: readonly Sequence[],
    private readonly sampler: WindowSampler,
    private readonly batchSize: number,
    private readonly prefetch = 2,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  }

  private load(): Promise<Batch> {
    // Samples are drawn now, in order, so the state recorded with each batch is exact even while
    // later batches are already decoding.
    const samples = Array.from({ length: this.batchSize }, () => this.sampler.next());
    const state = this.sampler.state();
    const { width, height } = samples[0]!.crop;
    const frames = samples[0]!.indices.length;
    const windowSize = frames * height * width * 3;
    const data: WindowData = { blurry: new Float32Array(this.batchSize * windowSize), sharp: new Float32Array(this.batchSize * windowSize) };
    return Promise.all(samples.map((s, b) => loadWindow(this.sequences[s.sequence]!, s, data, b * windowSize))).then(() => ({
      ...data,
      shape: [this.batchSize, frames, height, width, 3],
      samples,
      state,
    }));
  }

  next(): Promise<Batch> {
    while (this.queue.length < this.prefetch + 1) {
      const batch = this.load();
      // A prefetched batch that fails is reported when it is consumed, not as an unhandled rejection.
      batch.catch(() => undefined);
      this.queue.push(batch);
    }
    return this.queue.shift()!;
  }
}
