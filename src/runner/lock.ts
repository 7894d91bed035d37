/**
 * Advisory lock files for work that must not run twice at once: one trial's run directory (two `divd run`
 * of the same spec, or a stage command beside a running sweep, would otherwise write the same checkpoints)
 * and a Slurm submission (two submitters would both see a trial as not queued and both submit it).
 *
 * A lock is a file created with O_EXCL holding who holds it. It is released on exit; one left behind by a
 * crash is recognised as stale: on the same host when its process no longer exists, on another host (a
 * shared file system under Slurm) when its heartbeat — the file's mtime, touched while held — is older than
 * `staleAfterMs`. A holder on another host that still beats is waited for up to `waitMs`, so a requeued Slurm
 * task whose previous node died picks its trial up once the old lock goes stale.
 */
import fs from 'node:fs';
import os from 'node:os';
import { UsageError } from '../errors.ts';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  /** What the holder is doing, for the message a second process gets. */
  purpose: string;
}

export interface LockOptions {
  /** A lock whose holder on another host has not beaten for this long is stale (default 3 minutes). */
  staleAfterMs?: number;
  /** How often the holder touches the file (default 30 s). */
  heartbeatMs?: number;
  /** How long to wait for a live holder on another host before giving up (default 0: fail at once). */
  waitMs?: number;
}

export type ReleaseLock = () => void;

/** The lock is held by a live process: bad timing rather than a bug, told to the user with exit code 2. */
export class LockHeldError extends UsageError {
  constructor(
    message: string,
    readonly holder: LockHolder,
  ) {
    super(message);
    this.name = 'LockHeldError';
  }
}

const DEFAULT_STALE_MS = 180_000;
const DEFAULT_HEARTBEAT_MS = 30_000;

function readHolder(file: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return undefined;
    return { pid: parsed.pid, host: parsed.host, startedAt: String(parsed.startedAt ?? '?'), purpose: String(parsed.purpose ?? '?') };
  } catch {
    return undefined; // vanished, or a half-written file from a crash: treated as stale below
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

const UNREADABLE_GRACE_MS = 5000;

/** Milliseconds since the file was last touched (Infinity once it is gone). */
function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return Infinity;
  }
}

/** Why the current lock file does not block us, or undefined when its holder is alive. */
function staleness(file: string, holder: LockHolder | undefined, staleAfterMs: number): string | undefined {
  if (!holder) return ageMs(file) > UNREADABLE_GRACE_MS ? 'unreadable' : undefined; // young: its creator may still be writing it
  if (holder.pid === process.pid && holder.host === os.hostname()) return undefined; // never steal our own lock
  if (holder.host === os.hostname()) return processExists(holder.pid) ? undefined : `process ${holder.pid} has ended`;
  const age = ageMs(file);
  return age > staleAfterMs ? `no heartbeat from ${holder.host} for ${Math.round(age / 1000)} s` : undefined;
}

/** Who holds the lock now, or undefined when it is free or its holder is gone (a stale lock). */
export function liveHolder(file: string, o: Pick<LockOptions, 'staleAfterMs'> = {}): LockHolder | undefined {
  if (!fs.existsSync(file)) return undefined;
  const holder = readHolder(file);
  if (!holder) return undefined;
  if (holder.pid === process.pid && holder.host === os.hostname()) return holder;
  return staleness(file, holder, o.staleAfterMs ?? DEFAULT_STALE_MS) ? undefined : holder;
}

/**
 * Moves a stale lock aside rather than deleting it: rename is atomic, so of two processes that both judged
 * the same file stale only one moves it; the other finds the name free or taken by the winner's new lock.
 */
function clearStale(file: string, seen: LockHolder | undefined): void {
  const aside = `${file}.stale-${process.pid}-${Date.now()}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return;
  }
  const moved = readHolder(aside);
  if (seen && moved && (moved.pid !== seen.pid || moved.host !== seen.host || moved.startedAt !== seen.startedAt)) {
    // Someone took the lock between our read and our rename: give it back.
    try {
      fs.linkSync(aside, file);
    } catch {
      /* the name was taken again meanwhile; the newest holder keeps it */
    }
  }
  fs.rmSync(aside, { force: true });
}

function holderMessage(file: string, holder: LockHolder): string {
  return `${holder.purpose} is already running (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}); lock ${file}. ` +
    'Wait for it to finish, or stop it first; if that process is gone, delete the lock file.';
}

function tryCreate(file: string, holder: LockHolder): boolean {
  try {
    const fd = fs.openSync(file, 'wx');
    try {
      fs.writeSync(fd, JSON.stringify(holder) + '\n');
    } finally {
      fs.closeSync(fd);
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes the lock or throws a UsageError naming who holds it. The returned function releases it (also done
 * on process exit); releasing twice is harmless.
 */
export async function acquireLock(file: string, purpose: string, o: LockOptions = {}): Promise<ReleaseLock> {
  const staleAfterMs = o.staleAfterMs ?? DEFAULT_STALE_MS;
  const holder: LockHolder = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), purpose };
  const deadline = Date.now() + (o.waitMs ?? 0);
  for (;;) {
    if (tryCreate(file, holder)) break;
    const current = readHolder(file);
    if (current && current.pid === process.pid && current.host === holder.host) {
      throw new Error(`lock ${file} is already held by this process (${current.purpose})`);
    }
    const stale = staleness(file, current, staleAfterMs);
    if (stale) {
      clearStale(file, current);
      continue;
    }
    if (!current) {
      await sleep(100); // being written by its creator
      continue;
    }
    if (current.host !== holder.host && Date.now() < deadline) {
      await sleep(Math.min(2000, Math.max(50, deadline - Date.now())));
      continue;
    }
    throw new LockHeldError(holderMessage(file, current), current);
  }
  const beat = setInterval(() => {
    const now = new Date();
    try {
      fs.utimesSync(file, now, now);
    } catch {
      /* released or moved: nothing to keep alive */
    }
  }, o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
  beat.unref();
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    clearInterval(beat);
    process.removeListener('exit', release);
    const current = readHolder(file);
    if (current?.pid === holder.pid && current.host === holder.host && current.startedAt === holder.startedAt) fs.rmSync(file, { force: true });
  };
  process.on('exit', release);
  return release;
}

/** Runs `work` holding the lock. */
export async function withLock<T>(file: string, purpose: string, work: () => Promise<T>, o: LockOptions = {}): Promise<T> {
  const release = await acquireLock(file, purpose, o);
  try {
    return await work();
  } finally {
    release();
  }
}
