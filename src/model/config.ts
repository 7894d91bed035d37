/**
 * The model section of a trial config (CONFIG-SHAPES.md): defaults, and validation that names the
 * offending field. Every ablation of the paper (window sizes, frame count, MRPE parts, attention kind,
 * widths) is a value here, never a code fork.
 */
import { UsageError } from '../errors.ts';

export type AttentionKind = 'wtsa' | 'spatial' | 'none';
export const ATTENTION_KINDS: readonly AttentionKind[] = ['wtsa', 'spatial', 'none'];

/** Multi-frame relative positional encoding: which of its two parts are on. */
export interface MrpeConfig {
  /** A learnable vector per frame index, added to the tokens before q/k/v. */
  framePE: boolean;
  /** A Swin-style (2M−1)² × heads table indexed by the spatial offset inside the window. */
  relBias: boolean;
  /**
   * The bias table's starting slope α ≥ 0: every entry starts at −α · (the offset's Euclidean length in
   * tokens) plus Swin's N(0, 0.02²), so attention starts out local and widens as the table learns. 0 (default)
   * is Swin's plain random start. Has no effect when relBias is off.
   */
  locality: number;
}

export interface ModelConfig {
  /** F: frames of one window, processed in parallel as a batch of images. */
  frames: number;
  baseChannels: number;
  /** One entry per UNet level, finest first. */
  channelMults: number[];
  /** ResBlocks per level (the decoder has one more per level, for the extra skip). */
  resBlocks: number;
  /** Attention window size M per level, finest first; the middle block uses the last entry. */
  windows: number[];
  attention: AttentionKind;
  /** heads = channels / headChannels (one head when channels < headChannels). */
  headChannels: number;
  /** GroupNorm groups, clamped to the largest divisor of the channel count that is ≤ this. */
  groups: number;
  dropout: number;
  mrpe: MrpeConfig;
}

/** The paper-scale defaults of paper.md ("Open — our defaults"). */
export const DEFAULT_MODEL_CONFIG: ModelConfig = {
  frames: 4,
  baseChannels: 64,
  channelMults: [1, 2, 4, 8],
  resBlocks: 2,
  windows: [4, 3, 2, 1],
  attention: 'wtsa',
  headChannels: 32,
  groups: 32,
  dropout: 0,
  mrpe: { framePE: true, relBias: true, locality: 0 },
};

const MODEL_KEYS = Object.keys(DEFAULT_MODEL_CONFIG);
const MRPE_KEYS = ['framePE', 'relBias', 'locality'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(path: string, expected: string, got: unknown): never {
  throw new UsageError(`${path}: expected ${expected}, got ${JSON.stringify(got)}`);
}

function positiveInt(path: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(path, 'a positive integer', v);
  return v;
}

function positiveIntList(path: string, v: unknown): number[] {
  if (!Array.isArray(v) || v.length === 0) fail(path, 'a non-empty list of positive integers', v);
  return v.map((x, i) => positiveInt(`${path}[${i}]`, x));
}

function rejectUnknown(path: string, obj: Record<string, unknown>, known: string[]): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) throw new UsageError(`${path}.${key}: unknown key (known: ${known.join(', ')})`);
  }
}

/**
 * Applies defaults to a (possibly partial) `model` object from a spec and validates every field.
 * `path` prefixes error messages, e.g. "experiments/smoke.yaml: base.model".
 */
export function resolveModelConfig(input: unknown = {}, path = 'model'): ModelConfig {
  if (!isRecord(input)) fail(path, 'an object', input);
  rejectUnknown(path, input, MODEL_KEYS);
  const mrpeIn = input.mrpe ?? {};
  if (!isRecord(mrpeIn)) fail(`${path}.mrpe`, 'an object { framePE, relBias, locality }', mrpeIn);
  rejectUnknown(`${path}.mrpe`, mrpeIn, MRPE_KEYS);
  const merged = {
    ...DEFAULT_MODEL_CONFIG,
    ...input,
    mrpe: { ...DEFAULT_MODEL_CONFIG.mrpe, ...mrpeIn },
  } as Record<string, unknown> & { mrpe: Record<string, unknown> };
  return validateModelConfig(merged, path);
}

/** Checks a complete model config; returns it typed. Throws UsageError naming the field. */
export function validateModelConfig(c: Record<string, unknown> & { mrpe: Record<string, unknown> }, path = 'model'): ModelConfig {
  const frames = positiveInt(`${path}.frames`, c.frames);
  const baseChannels = positiveInt(`${path}.baseChannels`, c.baseChannels);
  const channelMults = positiveIntList(`${path}.channelMults`, c.channelMults);
  const resBlocks = positiveInt(`${path}.resBlocks`, c.resBlocks);
  const windows = positiveIntList(`${path}.windows`, c.windows);
  if (windows.length !== channelMults.length) {
    throw new UsageError(
      `${path}.windows: has ${windows.length} entries but ${path}.channelMults has ${channelMults.length}; give one window size per UNet level`,
    );
  }
  const attention = c.attention;
  if (typeof attention !== 'string' || !(ATTENTION_KINDS as readonly string[]).includes(attention)) {
    fail(`${path}.attention`, `one of ${ATTENTION_KINDS.join(', ')}`, attention);
  }
  const headChannels = positiveInt(`${path}.headChannels`, c.headChannels);
  for (const [i, m] of channelMults.entries()) {
    const ch = baseChannels * m;
    if (ch > headChannels && ch % headChannels !== 0) {
      throw new UsageError(
        `${path}.headChannels: level ${i} has ${ch} channels, which is not a multiple of headChannels ${headChannels}`,
      );
    }
  }
  const groups = positiveInt(`${path}.groups`, c.groups);
  const dropout = c.dropout;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) fail(`${path}.dropout`, 'a number in [0, 1)', dropout);
  const { framePE, relBias } = c.mrpe;
  if (typeof framePE !== 'boolean') fail(`${path}.mrpe.framePE`, 'true or false', framePE);
  if (typeof relBias !== 'boolean') fail(`${path}.mrpe.relBias`, 'true or false', relBias);
  // Absent in config.json files written before the field existed: those trials started at 0.
  const locality = c.mrpe.locality ?? 0;
  if (typeof locality !== 'number' || !Number.isFinite(locality) || locality < 0) {
    fail(`${path}.mrpe.locality`, 'a number ≥ 0', locality);
  }
  return {
    frames,
    baseChannels,
    channelMults,
    resBlocks,
    windows,
    attention: attention as AttentionKind,
    headChannels,
    groups,
    dropout,
    mrpe: { framePE, relBias, locality },
  };
}

/** The largest divisor of `channels` that is ≤ `groups` (GroupNorm needs groups | channels). */
export function groupsFor(channels: number, groups: number): number {
  for (let g = Math.min(groups, channels); g > 1; g--) if (channels % g === 0) return g;
  return 1;
}

/** Attention heads for a width: channels / headChannels, at least one. */
export function headsFor(channels: number, headChannels: number): number {
  return Math.max(1, Math.floor(channels / headChannels));
}

/** How many times the UNet halves the resolution; inputs must be divisible by 2^this. */
export function downsamplings(c: ModelConfig): number {
  return c.channelMults.length - 1;
}
