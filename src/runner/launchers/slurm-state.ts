/**
 * `<runs>/<experiment>/slurm/state.json`: every Slurm submission of the experiment (job id, array task →
 * trial id, the sweep's tracker run), so `divd status`, `divd cancel` and the next `divd run` know which
 * trials Slurm already holds. Replaced atomically; a submission is recorded right after sbatch accepts it.
 */
import path from 'node:path';
import { writeJsonAtomicSync } from '../../atomic-write.ts';
import { UsageError } from '../../errors.ts';
import { readJson } from '../run-dir.ts';
import { squeue, taskInFlight, type QueuedTask } from './slurm-commands.ts';

export interface SlurmSubmission {
  jobId: string;
  submittedAt: string;
  /** The submission's folder, relative to the experiment's runs directory (`slurm/<stamp>`). */
  dir: string;
  /** Trial ids; index = array task id. */
  trials: string[];
  parentRunId: string | null;
}

export interface SlurmState {
  version: 1;
  submissions: SlurmSubmission[];
}

export function slurmDir(experimentDir: string): string {
  return path.join(experimentDir, 'slurm');
}

function stateFile(experimentDir: string): string {
  return path.join(slurmDir(experimentDir), 'state.json');
}

export function readSlurmState(experimentDir: string): SlurmState {
  const file = stateFile(experimentDir);
  const state = readJson<SlurmState>(file);
  if (state === undefined) return { version: 1, submissions: [] };
  const ok =
    state.version === 1 &&
    Array.isArray(state.submissions) &&
    state.submissions.every((s) => typeof s.jobId === 'string' && Array.isArray(s.trials) && s.trials.every((t) => typeof t === 'string'));
  if (!ok) throw new UsageError(`${file}: expected {version: 1, submissions: [{jobId, trials: [...]}]}; fix or delete it (Slurm jobs it names are then forgotten)`);
  return state;
}

export function recordSubmission(experimentDir: string, submission: SlurmSubmission): void {
  const state = readSlurmState(experimentDir);
  writeJsonAtomicSync(stateFile(experimentDir), { ...state, submissions: [...state.submissions, submission] });
}

/** Where Slurm has a trial: its latest array task, and that task's state while slurmctld still knows it. */
export interface TrialInSlurm {
  jobId: string;
  task: number;
  /** `<job>_<task>`, as squeue and scontrol name it. */
  name: string;
  /** Slurm state, or undefined when slurmctld has forgotten the job (ended a while ago). */
  state?: string;
  reason?: string;
  inFlight: boolean;
  parentRunId: string | null;
}

/**
 * The latest submission of each trial, joined with the queue. Earlier submissions of a trial that was
 * resubmitted after failing are superseded by the later one.
 */
export function trialsInSlurm(state: SlurmState, queue: readonly QueuedTask[]): Map<string, TrialInSlurm> {
  const byTask = new Map(queue.map((t) => [`${t.jobId}_${t.task}`, t]));
  const out = new Map<string, TrialInSlurm>();
  for (const s of state.submissions) {
    s.trials.forEach((trial, task) => {
      const name = `${s.jobId}_${task}`;
      const q = byTask.get(name);
      out.set(trial, { jobId: s.jobId, task, name, state: q?.state, reason: q?.reason, inFlight: q ? taskInFlight(q.state) : false, parentRunId: s.parentRunId });
    });
  }
  return out;
}

/** Lists the array tasks slurmctld knows of these jobs (squeue; replaceable to read a recorded listing). */
export type QueueReader = (jobIds: readonly string[]) => QueuedTask[];

/** trialsInSlurm with the queue read from squeue (nothing is asked when no job was ever submitted). */
export function querySlurm(experimentDir: string, readQueue: QueueReader = squeue): Map<string, TrialInSlurm> {
  const state = readSlurmState(experimentDir);
  const ids = [...new Set(state.submissions.map((s) => s.jobId))];
  return trialsInSlurm(state, ids.length ? readQueue(ids) : []);
}
