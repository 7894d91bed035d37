/**
 * Which checkpoint a sampling stage restores with (the last, the best by validation loss, or a given step)
 * and loading its EMA weights as a model — from a trial's checkpoints/ or from any checkpoint file.
 */
import fs from 'node:fs';
import { decodeCheckpoint, modelFromCheckpoint, type DivdModel } from '../model/index.ts';
import { CheckpointDir, unwrapCheckpoint, type CheckpointEntry } from '../train/index.ts';
import { UsageError } from '../errors.ts';
import type { RunDir } from './run-dir.ts';

export type CheckpointChoice = 'last' | 'best' | number;

/** `last`, `best` or a step number, as the `--checkpoint` flag takes it. */
export function parseCheckpointChoice(value: string): CheckpointChoice {
  if (value === 'last' || value === 'best') return value;
  if (/^\d+$/.test(value)) return Number(value);
  throw new UsageError(`--checkpoint must be last, best or a step number, got ${JSON.stringify(value)}`);
}

/** The chosen checkpoint of a trial; exit 2 when there is none, naming what is there instead. */
export function selectCheckpoint(dir: RunDir, trialId: string, choice: CheckpointChoice): CheckpointEntry {
  const ckDir = dir.file('checkpoints');
  const checkpoints = fs.existsSync(ckDir) ? new CheckpointDir(ckDir, { keepLast: 1_000_000, configHash: trialId }) : undefined;
  const entries = checkpoints?.list() ?? [];
  if (entries.length === 0) throw new UsageError(`${dir.dir} has no checkpoint in checkpoints/; train it first (divd train --trial ${dir.dir})`);
  let entry: CheckpointEntry | undefined;
  if (choice === 'last') entry = entries.at(-1);
  else if (choice === 'best') {
    entry = checkpoints!.best();
    if (!entry) throw new UsageError(`${ckDir}: no checkpoint has a validation loss (train.validateEvery was 0?); use --checkpoint last or a step`);
  } else {
    entry = entries.find((e) => e.step === choice);
    if (!entry) throw new UsageError(`${ckDir} has no checkpoint of step ${choice}; steps present: ${entries.map((e) => e.step).join(', ')}`);
  }
  const { configHash } = unwrapCheckpoint(fs.readFileSync(entry!.file), entry!.file);
  if (configHash !== trialId) {
    throw new UsageError(`${entry!.file} was written for trial ${configHash}, not ${trialId} (the run directory's config.json changed since training)`);
  }
  return entry!;
}

const CONTAINER_MAGIC = Buffer.from('DIVDCKPT', 'ascii');

/**
 * A model with the EMA weights of a checkpoint file: a training checkpoint (CRC container) or a bare
 * safetensors model file. Exit 2 for a file that is not a checkpoint or holds no `ema/` weights.
 */
export function loadEmaModel(file: string): { model: DivdModel; step: number } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`checkpoint ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let payload: Buffer;
  try {
    payload = bytes.subarray(0, 8).equals(CONTAINER_MAGIC) ? unwrapCheckpoint(bytes, file).payload : bytes;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const ck = decodeCheckpoint(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), file);
  if (![...ck.tensors.keys()].some((n) => n.startsWith('ema/'))) {
    throw new UsageError(`checkpoint ${file} has no EMA weights (no "ema/" tensors); divd samples only with a training checkpoint's EMA weights`);
  }
  return { model: modelFromCheckpoint(ck, file, 'ema'), step: ck.step };
}
