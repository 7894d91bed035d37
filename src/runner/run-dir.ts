/**
 * One trial's run directory (design.md): config.json, trial.json, status.json, log.jsonl, checkpoints/,
 * samples/, inputs/, gt/, metrics.json. JSON files are replaced atomically so a reader (divd plan, the
 * report, a second process) never sees half a file; the log is append-only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeJsonAtomicSync } from '../atomic-write.ts';

/** `trained` and `sampled`: left by `divd train|sample --trial` between stages. */
export type Stage = 'pending' | 'training' | 'trained' | 'sampling' | 'sampled' | 'evaluating' | 'done' | 'failed';

export interface TrialStatus {
  stage: Stage;
  step?: number;
  steps?: number;
  error?: string;
  startedAt?: string;
  endedAt?: string;
  updatedAt?: string;
}


export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: unreadable (${(e as Error).message})`);
  }
}

export class RunDir {
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** Held (lock.ts) by the process working in this directory, so two never write it at once. */
  get lockFile(): string {
    return this.file('.lock');
  }

  status(): TrialStatus | undefined {
    return readJson<TrialStatus>(this.file('status.json'));
  }

  /** Merges `patch` into status.json (stage changes keep startedAt). */
  setStatus(patch: TrialStatus): void {
    const prev = this.status() ?? { stage: 'pending' as Stage };
    writeJsonAtomicSync(this.file('status.json'), { ...prev, ...patch, updatedAt: new Date().toISOString() });
  }

  appendLog(record: Record<string, unknown>): void {
    fs.appendFileSync(this.file('log.jsonl'), `${JSON.stringify({ ...record, time: Date.now() / 1000 })}\n`);
  }

  /** A finished trial: done with its metrics on disk. Cached trials are never run again. */
  isDone(): boolean {
    return this.status()?.stage === 'done' && fs.existsSync(this.file('metrics.json'));
  }
}
