/**
 * Frame windows: which frames of a sequence a model with F input frames sees.
 * - Border padding policies of video restoration (BasicSR's `generate_frame_indices`, generalised to any F
 *   and any window start): replicate, reflection, reflection_circle, circle.
 * - Test time: non-overlapping windows of F covering a sequence, the last one padded (paper: replication),
 *   or one window per frame centred on it (`restoreWindows`).
 * - Training: `WindowSampler`, a seeded order of (sequence, window start) with an aligned random crop,
 *   flips and temporal reversal per window; its state is two integers, so a checkpoint can resume the
 *   exact data order.
 */
import { SeededRandom } from './random.ts';

export type PaddingPolicy = 'replicate' | 'reflection' | 'reflection_circle' | 'circle';
export const PADDING_POLICIES: readonly PaddingPolicy[] = ['replicate', 'reflection', 'reflection_circle', 'circle'];

/**
 * Frame indices of the window [start, start + frames) in a sequence of `length` frames, positions outside
 * [0, length) filled by `padding`. With start = centre − ⌊F/2⌋ and odd F this is BasicSR's
 * generate_frame_indices: for centre 0, F = 5: replicate [0,0,0,1,2], reflection [2,1,0,1,2],
 * reflection_circle [4,3,0,1,2], circle [3,4,0,1,2].
 */
export function windowIndices(start: number, length: number, frames: number, padding: PaddingPolicy): number[] {
  if (!Number.isInteger(length) || length < 1) throw new Error(`sequence length must be a positive integer, got ${length}`);
  if (!Number.isInteger(frames) || frames < 1) throw new Error(`window frames must be a positive integer, got ${frames}`);
  const last = length - 1;
  const end = start + frames - 1;
  const out: number[] = [];
  for (let i = start; i <= end; i++) {
    let j = i;
    if (i < 0) {
      j = padding === 'replicate' ? 0 : padding === 'reflection' ? -i : padding === 'reflection_circle' ? end - i : frames + i;
    } else if (i > last) {
      j = padding === 'replicate' ? last : padding === 'reflection' ? 2 * last - i : padding === 'reflection_circle' ? start - (i - last) : i - frames;
    }
    if (j < 0 || j > last) {
      throw new Error(`a sequence of ${length} frames is too short for ${padding} padding of a ${frames}-frame window at ${start}; use replicate`);
    }
    out.push(j);
  }
  return out;
}

/** The window of F frames around `centre` (BasicSR's convention: ⌊F/2⌋ frames before it). */
export function centredWindow(centre: number, length: number, frames: number, padding: PaddingPolicy): number[] {
  return windowIndices(centre - Math.floor(frames / 2), length, frames, padding);
}

export interface TestWindow {
  /** Frame indices fed to the model, in order. */
  indices: number[];
  /** The first `valid` outputs are real frames (start … start+valid−1); the rest are padding to discard. */
  start: number;
  valid: number;
}

/** Non-overlapping windows of F covering every frame once; the last window is padded by `padding`. */
export function testWindows(length: number, frames: number, padding: PaddingPolicy = 'replicate'): TestWindow[] {
  const out: TestWindow[] = [];
  for (let start = 0; start < length; start += frames) {
    out.push({ start, valid: Math.min(frames, length - start), indices: windowIndices(start, length, frames, padding) });
  }
  return out;
}

/**
 * How a restored sequence is cut into model inputs (the trial's `sample.window`):
 * - `blocks`: non-overlapping windows of F (`testWindows`); every output of a window is kept — the paper's
 *   choice, one forward pass per F frames.
 * - `centre`: a sliding window, one per frame, placed by `centredWindow` (⌊F/2⌋ frames before it, so the
 *   frame is at position ⌊F/2⌋ counted from 0: the middle of 3 or 5, the third of 4); only that output is
 *   kept. Every frame then sees neighbours on both sides, the borders filled by the padding policy (the
 *   BasicSR test convention); F times the forward passes of `blocks`.
 */
export type RestoreWindowMode = 'blocks' | 'centre';
export const RESTORE_WINDOW_MODES: readonly RestoreWindowMode[] = ['blocks', 'centre'];

export interface RestoreWindow {
  /** Frame indices fed to the model, in order. */
  indices: number[];
  /** The outputs to keep: output `position` of the window restores frame `frame` of the sequence. */
  keep: { position: number; frame: number }[];
}

/** The windows restoring a sequence of `length` frames: every frame is kept exactly once, in order. */
export function restoreWindows(length: number, frames: number, padding: PaddingPolicy, mode: RestoreWindowMode): RestoreWindow[] {
  if (mode === 'blocks') {
    return testWindows(length, frames, padding).map((w) => ({
      indices: w.indices,
      keep: Array.from({ length: w.valid }, (_, position) => ({ position, frame: w.start + position })),
    }));
  }
  const position = Math.floor(frames / 2);
  return Array.from({ length }, (_, frame) => ({ indices: centredWindow(frame, length, frames, padding), keep: [{ position, frame }] }));
}

/** How many windows `restoreWindows` makes (forward passes per sampler step), without building them. */
export function restoreWindowCount(length: number, frames: number, mode: RestoreWindowMode): number {
  return mode === 'blocks' ? Math.ceil(length / frames) : length;
}

export interface SequenceShape {
  name: string;
  length: number;
  width: number;
  height: number;
}

export interface WindowSamplerOptions {
  frames: number;
  /** Crop size (square when a number); the paper trains on 144² crops. */
  crop: number | { width: number; height: number };
  padding?: PaddingPolicy;
  /**
   * Which windows an epoch holds: `inside` (default) every window lying fully inside its sequence;
   * `centred` one window per frame, centred on it (⌊F/2⌋ frames before), borders filled by `padding` —
   * BasicSR's convention, so border frames are seen as often as the others.
   */
  placement?: 'inside' | 'centred';
  flips?: boolean; // random horizontal and vertical flips (default true)
  reverse?: boolean; // random temporal reversal (default true)
  seed: number;
}

export interface Crop {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowSample {
  sequence: number; // index into the sampler's sequences
  name: string;
  indices: number[]; // frame indices, already reversed when `reversed`
  crop: Crop;
  flipH: boolean;
  flipV: boolean;
  reversed: boolean;
}

/** Where the sampler is: the sample drawn next is number `position` of epoch `epoch`. JSON-safe. */
export interface SamplerState {
  seed: number;
  epoch: number;
  position: number;
}

/**
 * An endless seeded stream of training windows. Each epoch visits every (sequence, start) once, in an
 * order shuffled per epoch: start ∈ [0, length − F] for `inside` placement (a sequence shorter than F
 * contributes one padded window), start = frame − ⌊F/2⌋ for every frame with `centred` placement. Everything about sample (epoch, p) is a function of (seed, epoch, p) alone, so
 * restoring a state continues the identical stream.
 */
export class WindowSampler {
  private readonly starts: { sequence: number; start: number }[] = [];
  private readonly cropSize: { width: number; height: number };
  private epoch = 0;
  private position = 0;
  private order: Uint32Array | null = null;

  constructor(
    private readonly sequences: readonly SequenceShape[],
    private readonly opts: WindowSamplerOptions,
    state?: SamplerState,
  ) {
    this.cropSize = typeof opts.crop === 'number' ? { width: opts.crop, height: opts.crop } : opts.crop;
    if (sequences.length === 0) throw new Error('WindowSampler needs at least one sequence (is the training split empty?)');
    for (const [i, s] of sequences.entries()) {
      if (s.width < this.cropSize.width || s.height < this.cropSize.height) {
        throw new Error(`sequence ${s.name} is ${s.width}x${s.height}, smaller than the ${this.cropSize.width}x${this.cropSize.height} crop`);
      }
      if (opts.placement === 'centred') {
        for (let centre = 0; centre < s.length; centre++) this.starts.push({ sequence: i, start: centre - Math.floor(opts.frames / 2) });
      } else {
        for (let start = 0; start <= Math.max(0, s.length - opts.frames); start++) this.starts.push({ sequence: i, start });
      }
    }
    if (state) this.restore(state);
  }

  get windowsPerEpoch(): number {
    return this.starts.length;
  }

  state(): SamplerState {
    return { seed: this.opts.seed, epoch: this.epoch, position: this.position };
  }

  restore(state: SamplerState): void {
    if (state.seed !== this.opts.seed) throw new Error(`sampler state has seed ${state.seed}, this sampler ${this.opts.seed}`);
    if (!Number.isInteger(state.epoch) || !Number.isInteger(state.position) || state.position < 0 || state.position > this.starts.length) {
      throw new Error(`invalid sampler state ${JSON.stringify(state)} for ${this.starts.length} windows per epoch`);
    }
    this.epoch = state.epoch;
    this.position = state.position;
    this.order = null;
  }

  private epochOrder(): Uint32Array {
    if (!this.order) {
      // Fisher-Yates with the epoch's own stream.
      const rng = new SeededRandom(this.opts.seed).fork(`epoch-${this.epoch}`);
      const order = new Uint32Array(this.starts.length).map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      this.order = order;
    }
    return this.order;
  }

  next(): WindowSample {
    if (this.position >= this.starts.length) {
      this.epoch += 1;
      this.position = 0;
      this.order = null;
    }
    const pick = this.starts[this.epochOrder()[this.position]!]!;
    const rng = new SeededRandom(this.opts.seed).fork(`sample-${this.epoch}-${this.position}`);
    this.position += 1;
    const seq = this.sequences[pick.sequence]!;
    const { width, height } = this.cropSize;
    const indices = windowIndices(pick.start, seq.length, this.opts.frames, this.opts.padding ?? 'replicate');
    const flips = this.opts.flips ?? true;
    const reversed = (this.opts.reverse ?? true) && rng.next() < 0.5;
    return {
      sequence: pick.sequence,
      name: seq.name,
      indices: reversed ? indices.reverse() : indices,
      crop: { x: rng.int(0, seq.width - width), y: rng.int(0, seq.height - height), width, height },
      flipH: flips && rng.next() < 0.5,
      flipV: flips && rng.next() < 0.5,
      reversed,
    };
  }
}
