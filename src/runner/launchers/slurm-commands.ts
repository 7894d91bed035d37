/**
 * The Slurm client commands divd uses: `sbatch` (submit), `squeue` (what is queued or running; sacct
 * would need slurmdbd, which many clusters and our tests do not run) and `scancel`. Each missing command or
 * refused request becomes a UsageError (exit 2) that shows Slurm's own message.
 */
import { spawnSync } from 'node:child_process';
import { UsageError } from '../../errors.ts';

function run(cmd: string, args: readonly string[], what: string): { stdout: string; stderr: string; status: number } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError(
        `${cmd} not found: ${what} needs the Slurm client commands on PATH (run divd on a Slurm login node, or ` +
          '`apt-get install slurm-client` / your site\'s module); without Slurm use --launcher local, the default',
      );
    }
    throw new UsageError(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  }
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? 1 };
}

/** Throws the "not found" UsageError when `cmd` is not on PATH. */
export function requireCommand(cmd: string, what: string): void {
  run(cmd, ['--version'], what);
}

/** Submits a batch script; returns the job id. */
export function sbatch(args: readonly string[]): string {
  const r = run('sbatch', args, '--launcher slurm');
  if (r.status !== 0) throw new UsageError(`sbatch refused the job (exit ${r.status}):\n${r.stderr.trim() || r.stdout.trim()}`);
  // --parsable prints "<job id>" or "<job id>;<cluster>".
  const id = r.stdout.trim().split('\n').pop()?.split(';')[0] ?? '';
  if (!/^\d+$/.test(id)) throw new UsageError(`sbatch printed no job id: ${JSON.stringify(r.stdout.trim())}`);
  return id;
}

export interface QueuedTask {
  jobId: string;
  task: number;
  /** Slurm's job state: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, … */
  state: string;
  reason: string;
}

/** States after which a task will not run again without a new submission. */
const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED', 'SPECIAL_EXIT', 'REVOKED']);

/** States of a task that waits to start (first time, or again after a requeue). */
const WAITING = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'SUSPENDED']);

export function taskInFlight(state: string): boolean {
  return !ENDED.has(state);
}

/** A task in flight is queued while it waits, running otherwise (configuring, running, completing). */
export function taskPhase(state: string): 'queued' | 'running' {
  return WAITING.has(state) ? 'queued' : 'running';
}

/** Parses `squeue --array --format=%F|%K|%T|%r` lines (array job id | task id | state | reason). */
export function parseSqueue(text: string): QueuedTask[] {
  const tasks: QueuedTask[] = [];
  for (const line of text.split('\n')) {
    const [jobId, task, state, reason] = line.trim().split('|');
    if (!jobId || !state || !/^\d+$/.test(task ?? '')) continue; // not an array task (N/A), or blank
    tasks.push({ jobId, task: Number(task), state, reason: reason ?? '' });
  }
  return tasks;
}

/** Every array task of these jobs that slurmctld still knows (finished ones stay for MinJobAge, 5 min by default). */
export function squeue(jobIds: readonly string[]): QueuedTask[] {
  if (jobIds.length === 0) return [];
  const r = run('squeue', ['--noheader', '--array', '--states=all', '--format=%F|%K|%T|%r', `--jobs=${jobIds.join(',')}`], 'following Slurm jobs');
  // All ids purged from slurmctld's memory: squeue says "Invalid job id specified" and exits 1.
  if (r.status !== 0) {
    if (/invalid job id/i.test(r.stderr)) return [];
    throw new UsageError(`squeue failed (exit ${r.status}): ${r.stderr.trim()}`);
  }
  return parseSqueue(r.stdout);
}

export function scancel(jobIds: readonly string[]): void {
  if (jobIds.length === 0) return;
  const r = run('scancel', jobIds, 'divd cancel');
  if (r.status !== 0) throw new UsageError(`scancel ${jobIds.join(' ')} failed (exit ${r.status}): ${r.stderr.trim()}`);
}
