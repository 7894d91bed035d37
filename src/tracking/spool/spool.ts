/**
 * The spool: an append-only JSONL log, in the trial's run directory, of tracking records the server
 * could not take. `divd sync` replays it; every replayed record is acknowledged in a second
 * append-only file, so a replay interrupted at any point resumes without sending a record twice.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { WireMetric } from '../rest/wire.ts';
import type { EndStatus, KeyValue } from '../types.ts';

export const SPOOL_FILE = 'tracking-spool.jsonl';
export const ACK_FILE = 'tracking-spool.acked.jsonl';
export const SPOOL_ARTIFACTS_DIR = 'tracking-spool-artifacts';
/** Prefix of run ids minted while the server was unreachable; replaced by the server's id on sync. */
export const LOCAL_RUN_PREFIX = 'local-';
/** Tag put on runs created by a replay, so a replay interrupted after the create finds the run again. */
export const SPOOL_RUN_TAG = 'divd.spoolRunId';

export const newLocalRunId = (): string => `${LOCAL_RUN_PREFIX}${randomUUID().replaceAll('-', '')}`;

interface RecordBase {
  v: 1;
  seq: number;
  /** Server URL the record belongs to. */
  url: string;
  /** Server run id, or a `local-…` id for a run created while offline. */
  run: string;
}

export type SpoolRecord = RecordBase &
  (
    | { op: 'create'; experimentName?: string; experimentId?: string; runName?: string; startTime: number; userId: string; tags: KeyValue[] }
    | { op: 'batch'; metrics: WireMetric[]; params: KeyValue[]; tags: KeyValue[] }
    | { op: 'update'; status: EndStatus | 'RUNNING'; endTime?: number }
    | { op: 'artifact'; files: { file: string; artifactPath: string }[] }
  );

type Body<R> = R extends unknown ? Omit<R, 'v' | 'seq'> : never;
export type SpoolRecordBody = Body<SpoolRecord>;

export interface Ack {
  seq: number;
  /** For a replayed `create`: the id the server gave the run. */
  runId?: string;
}

async function readLines(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: unknown[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // A line torn by a crash mid-append: its call never returned, so nothing relied on it.
    }
  }
  return out;
}

/** After a crash mid-append, end the torn line so the next record starts on a line of its own. */
async function terminateTornLine(file: string): Promise<void> {
  let handle;
  try {
    handle = await fs.open(file, 'r');
  } catch {
    return; // no spool yet
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    if (last[0] !== 0x0a) await fs.appendFile(file, '\n');
  } finally {
    await handle.close();
  }
}

export class Spool {
  private ackFileChecked = false;

  private constructor(
    readonly runDir: string,
    private nextSeq: number,
  ) {}

  static async open(runDir: string): Promise<Spool> {
    const file = path.join(runDir, SPOOL_FILE);
    await terminateTornLine(file);
    const records = (await readLines(file)) as SpoolRecord[];
    return new Spool(runDir, records.reduce((m, r) => Math.max(m, r.seq), 0) + 1);
  }

  get file(): string {
    return path.join(this.runDir, SPOOL_FILE);
  }

  async append(body: SpoolRecordBody): Promise<SpoolRecord> {
    const record = { v: 1, seq: this.nextSeq++, ...body } as SpoolRecord;
    await fs.mkdir(this.runDir, { recursive: true });
    await fs.appendFile(this.file, `${JSON.stringify(record)}\n`);
    return record;
  }

  /** Copies artifact files into the spool so later edits or deletions cannot lose them. */
  async stashArtifacts(files: { local: string; artifactPath: string }[]): Promise<{ file: string; artifactPath: string }[]> {
    const dir = path.join(SPOOL_ARTIFACTS_DIR, String(this.nextSeq));
    const out: { file: string; artifactPath: string }[] = [];
    for (const [i, f] of files.entries()) {
      const rel = path.join(dir, `${i}-${path.basename(f.local)}`);
      await fs.mkdir(path.join(this.runDir, dir), { recursive: true });
      await fs.copyFile(f.local, path.join(this.runDir, rel));
      out.push({ file: rel, artifactPath: f.artifactPath });
    }
    return out;
  }

  async records(): Promise<SpoolRecord[]> {
    return (await readLines(this.file)) as SpoolRecord[];
  }

  async acks(): Promise<Map<number, Ack>> {
    const acks = (await readLines(path.join(this.runDir, ACK_FILE))) as Ack[];
    return new Map(acks.map((a) => [a.seq, a]));
  }

  async ack(ack: Ack): Promise<void> {
    if (!this.ackFileChecked) await terminateTornLine(path.join(this.runDir, ACK_FILE));
    this.ackFileChecked = true;
    await fs.appendFile(path.join(this.runDir, ACK_FILE), `${JSON.stringify(ack)}\n`);
  }

  async pendingCount(): Promise<number> {
    const acks = await this.acks();
    return (await this.records()).filter((r) => !acks.has(r.seq)).length;
  }
}
