/**
 * The checkpoint directory of one trial: numbered files written atomically, the last K kept plus the best
 * by validation loss, and a resume that never trusts a file it cannot verify.
 *
 * Each file is a small container around an opaque payload (the trainer's tensors and state):
 *   "DIVDCKPT" | u32 version | u32 crc32(payload) | u64 payload length | 32-byte config hash (ascii) | payload
 * The file appears under its final name only by rename after a complete write, so a process killed at any
 * instant leaves either the previous set of checkpoints or the new one (plus a temp file removed on the next
 * open); the CRC also catches a file damaged later (disk, copy), which resume skips with a warning.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { writeFileAtomicSync } from '../atomic-write.ts';

const MAGIC = Buffer.from('DIVDCKPT', 'ascii');
const VERSION = 1;
const HASH_BYTES = 32;
const HEADER_BYTES = MAGIC.length + 4 + 4 + 8 + HASH_BYTES;
/** A checkpoint file's name, its step in group 1. */
export const CHECKPOINT_FILE_RE = /^step-(\d{9})\.ckpt$/;
const INDEX = 'index.json';

export interface CheckpointOptions {
  /** How many of the most recent checkpoints to keep (the best one is kept in addition). */
  keepLast: number;
  /** Hash of the trial config; a checkpoint written under another config is refused. */
  configHash: string;
}

export interface CheckpointEntry {
  step: number;
  file: string;
  valLoss?: number;
}

export interface LoadedCheckpoint extends CheckpointEntry {
  payload: Buffer;
}

/** Thrown when a checkpoint belongs to a different config: resuming it would silently mix two trials. */
export class CheckpointConfigMismatch extends Error {
  constructor(file: string, found: string, expected: string) {
    super(
      `checkpoint ${file} was written for config ${found}, but this trial's config is ${expected}; ` +
        'the trial config changed since it was trained — use a new run directory or delete its checkpoints/',
    );
  }
}

export function checkpointFileName(step: number): string {
  if (!Number.isInteger(step) || step < 0 || step > 999_999_999) throw new Error(`checkpoint step out of range: ${step}`);
  return `step-${String(step).padStart(9, '0')}.ckpt`;
}

function padHash(hash: string): Buffer {
  if (hash.length > HASH_BYTES || !/^[0-9a-zA-Z_-]*$/.test(hash)) {
    throw new Error(`config hash must be at most ${HASH_BYTES} ascii letters, digits, '-' or '_', got ${JSON.stringify(hash)}`);
  }
  return Buffer.from(hash.padEnd(HASH_BYTES, ' '), 'ascii');
}

export function wrapCheckpoint(payload: Uint8Array, configHash: string): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(VERSION, 8);
  header.writeUInt32LE(crc32(payload), 12);
  header.writeBigUInt64LE(BigInt(payload.length), 16);
  padHash(configHash).copy(header, 24);
  return Buffer.concat([header, payload]);
}

/** Verifies and unwraps a checkpoint file's bytes; errors say what is wrong with which file. */
export function unwrapCheckpoint(bytes: Buffer, file: string): { payload: Buffer; configHash: string } {
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, 8).equals(MAGIC)) {
    throw new Error(`${file}: not a divd checkpoint (bad magic or truncated header)`);
  }
  const version = bytes.readUInt32LE(8);
  if (version !== VERSION) throw new Error(`${file}: checkpoint version ${version}, this divd reads version ${VERSION}`);
  const length = Number(bytes.readBigUInt64LE(16));
  if (bytes.length !== HEADER_BYTES + length) {
    throw new Error(`${file}: truncated (${bytes.length - HEADER_BYTES} payload bytes, header says ${length})`);
  }
  const payload = bytes.subarray(HEADER_BYTES);
  if (crc32(payload) !== bytes.readUInt32LE(12)) throw new Error(`${file}: checksum mismatch (the file is damaged)`);
  return { payload, configHash: bytes.toString('ascii', 24, 24 + HASH_BYTES).trimEnd() };
}


export class CheckpointDir {
  constructor(
    readonly dir: string,
    readonly options: CheckpointOptions,
  ) {
    padHash(options.configHash);
    if (!Number.isInteger(options.keepLast) || options.keepLast < 1) {
      throw new Error(`checkpoint keepLast must be an integer >= 1, got ${options.keepLast}`);
    }
    fs.mkdirSync(dir, { recursive: true });
    // Temp files are what a kill during a write leaves behind; no reader ever looks at them.
    for (const name of fs.readdirSync(dir)) if (name.startsWith('.') && name.endsWith('.tmp')) fs.rmSync(path.join(dir, name), { force: true });
  }

  /** Checkpoints present on disk, oldest first, with validation losses from the index. */
  list(): CheckpointEntry[] {
    const losses = this.readIndex();
    const out: CheckpointEntry[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const m = CHECKPOINT_FILE_RE.exec(name);
      if (!m) continue;
      const step = Number(m[1]);
      const valLoss = losses[String(step)];
      out.push({ step, file: path.join(this.dir, name), ...(valLoss === undefined ? {} : { valLoss }) });
    }
    return out.sort((a, b) => a.step - b.step);
  }

  /** The entry with the lowest validation loss (earliest on ties), if any has one. */
  best(): CheckpointEntry | undefined {
    let best: CheckpointEntry | undefined;
    for (const e of this.list()) if (e.valLoss !== undefined && (best === undefined || e.valLoss < best.valLoss!)) best = e;
    return best;
  }

  save(step: number, payload: Uint8Array, valLoss?: number): CheckpointEntry {
    const file = path.join(this.dir, checkpointFileName(step));
    writeFileAtomicSync(file, wrapCheckpoint(payload, this.options.configHash), { durable: true });
    if (valLoss !== undefined) {
      const index = this.readIndex();
      index[String(step)] = valLoss;
      writeFileAtomicSync(path.join(this.dir, INDEX), Buffer.from(`${JSON.stringify(index, null, 1)}\n`), { durable: true });
    }
    this.prune();
    return { step, file, ...(valLoss === undefined ? {} : { valLoss }) };
  }

  /**
   * The newest checkpoint that verifies, newest first; damaged files are reported through `warn` and
   * skipped. A checkpoint of another config throws CheckpointConfigMismatch instead of being skipped.
   */
  loadLatest(warn: (message: string) => void = () => {}): LoadedCheckpoint | undefined {
    for (const entry of this.list().reverse()) {
      let decoded: { payload: Buffer; configHash: string };
      try {
        decoded = unwrapCheckpoint(fs.readFileSync(entry.file), entry.file);
      } catch (e) {
        warn(`skipping ${(e as Error).message}`);
        continue;
      }
      if (decoded.configHash !== this.options.configHash) {
        throw new CheckpointConfigMismatch(entry.file, decoded.configHash, this.options.configHash);
      }
      return { ...entry, payload: decoded.payload };
    }
    return undefined;
  }

  private readIndex(): Record<string, number> {
    const file = path.join(this.dir, INDEX);
    if (!fs.existsSync(file)) return {};
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, number>;
    } catch (e) {
      throw new Error(`${file}: unreadable checkpoint index (${(e as Error).message}); delete it to rebuild without best-by-loss`);
    }
  }

  /** Keeps the last K checkpoints and the best one; removes index entries of files that are gone. */
  private prune(): void {
    const entries = this.list();
    const keep = new Set(entries.slice(-this.options.keepLast).map((e) => e.step));
    const best = this.best();
    if (best) keep.add(best.step);
    for (const e of entries) if (!keep.has(e.step)) fs.rmSync(e.file, { force: true });
    const index = this.readIndex();
    const kept = Object.fromEntries(Object.entries(index).filter(([s]) => keep.has(Number(s))));
    if (Object.keys(kept).length !== Object.keys(index).length) {
      writeFileAtomicSync(path.join(this.dir, INDEX), Buffer.from(`${JSON.stringify(kept, null, 1)}\n`), { durable: true });
    }
  }
}
