/**
 * Where every trial of a sweep stands, from its run directory and, for trials submitted to Slurm, the
 * queue: finished, pending, queued (Slurm array task), running (step, ETA from log.jsonl), failed (the last
 * lines of its log). What `divd status` prints and `--wait` polls.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Plan } from '../../spec/types.ts';
import { RunDir, type TrialStatus } from '../run-dir.ts';
import { liveHolder, type LockHolder } from '../lock.ts';
import { taskPhase } from './slurm-commands.ts';
import { querySlurm, readSlurmState, type QueueReader, type TrialInSlurm } from './slurm-state.ts';

export const SWEEP_STATES = ['finished', 'running', 'queued', 'pending', 'failed'] as const;
export type SweepTrialState = (typeof SWEEP_STATES)[number];

export interface SweepTrialStatus {
  id: string;
  label: string;
  state: SweepTrialState;
  runDir: string;
  /** status.json's stage, step and steps, when the trial has started. */
  stage?: string;
  step?: number;
  steps?: number;
  /** Seconds left in training at the recent step rate (running trials in training only). */
  etaSeconds?: number;
  /** The process working in the run directory (its lock), while one does. */
  process?: { pid: number; host: string };
  /** The trial's latest Slurm array task (`<job>_<task>`), its state while slurmctld knows it, and why it waits. */
  slurm?: { task: string; state?: string; reason?: string };
  error?: string;
  /** The last lines of its log (slurm.log, else log.jsonl), for failed trials. */
  logTail?: string[];
}

export interface SweepStatus {
  experiment: string;
  experimentDir: string;
  trials: SweepTrialStatus[];
  counts: Partial<Record<SweepTrialState, number>>;
}


/** The last `maxLines` lines of a text file, reading only its end. */
export function tailLines(file: string, maxLines: number, maxBytes = 16_384): string[] {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    const lines = buf.toString('utf8').split('\n');
    if (start > 0) lines.shift(); // a partial first line
    return lines.filter((l) => l.trim() !== '').slice(-maxLines);
  } finally {
    fs.closeSync(fd);
  }
}

/** Training seconds left, from the step rate over the last logged loss records (log.jsonl `time` is Unix seconds). */
export function etaFromLog(logFile: string, steps: number): number | undefined {
  const recs = tailLines(logFile, 50)
    .map((l) => {
      try {
        return JSON.parse(l) as { step?: number; loss?: number; time?: number };
      } catch {
        return {};
      }
    })
    .filter((r): r is { step: number; loss: number; time: number } => typeof r.step === 'number' && typeof r.loss === 'number' && typeof r.time === 'number');
  // Only the records since the last (re)start: a resumed trial's log has a gap where it waited.
  let first = recs.length - 1;
  while (first > 0 && recs[first - 1]!.step < recs[first]!.step) first--;
  const a = recs[first];
  const b = recs[recs.length - 1];
  if (!a || !b || b.step <= a.step || b.time <= a.time) return undefined;
  const rate = (b.step - a.step) / (b.time - a.time);
  return Math.max(0, (steps - b.step) / rate);
}

function classify(done: boolean, status: TrialStatus | undefined, inSlurm: TrialInSlurm | undefined, holder: LockHolder | undefined): { state: SweepTrialState; error?: string } {
  if (done) return { state: 'finished' };
  if (inSlurm?.inFlight) return { state: taskPhase(inSlurm.state ?? 'PENDING') };
  if (holder) return { state: 'running' }; // a live process holds the run directory (lock.ts)
  if (status?.stage === 'failed') return { state: 'failed', error: status.error };
  if (inSlurm) return { state: 'failed', error: `Slurm task ${inSlurm.name} ended ${inSlurm.state ?? '(no longer known to squeue)'} before the trial finished` };
  // Started but nobody holds it: stopped (Ctrl-C, a crash) and picked up by the next run.
  return { state: 'pending' };
}

export interface SweepStatusOptions {
  /** Trials to report (default: all of the plan). */
  trialIds?: readonly string[];
  /** How the Slurm queue is read (default: squeue). */
  readQueue?: QueueReader;
}

export function sweepStatus(plan: Plan, runsDir: string, o: SweepStatusOptions = {}): SweepStatus {
  const experimentDir = path.join(runsDir, plan.name);
  const slurm = readSlurmState(experimentDir).submissions.length ? querySlurm(experimentDir, o.readQueue) : new Map<string, TrialInSlurm>();
  const wanted = o.trialIds ? new Set(o.trialIds) : undefined;
  const trials: SweepTrialStatus[] = [];
  for (const trial of plan.trials) {
    if (wanted && !wanted.has(trial.id)) continue;
    const runDir = path.join(experimentDir, trial.id);
    // RunDir creates the folder; a trial never started must not get one from a status query.
    const dir = fs.existsSync(runDir) ? new RunDir(runDir) : undefined;
    const status = dir?.status();
    const inSlurm = slurm.get(trial.id);
    const holder = dir ? liveHolder(dir.lockFile) : undefined;
    const { state, error } = classify(dir?.isDone() ?? false, status, inSlurm, holder);
    const row: SweepTrialStatus = { id: trial.id, label: trial.label, state, runDir };
    if (holder && state === 'running') row.process = { pid: holder.pid, host: holder.host };
    if (status) Object.assign(row, { stage: status.stage, ...(status.step !== undefined ? { step: status.step } : {}), ...(status.steps !== undefined ? { steps: status.steps } : {}) });
    if (inSlurm) row.slurm = { task: inSlurm.name, ...(inSlurm.state ? { state: inSlurm.state } : {}), ...(inSlurm.reason && inSlurm.reason !== 'None' ? { reason: inSlurm.reason } : {}) };
    if (state === 'running' && status?.stage === 'training' && status.steps) {
      const eta = etaFromLog(path.join(runDir, 'log.jsonl'), status.steps);
      if (eta !== undefined) row.etaSeconds = eta;
    }
    if (state === 'failed') {
      if (error) row.error = error;
      const slurmLog = tailLines(path.join(runDir, 'slurm.log'), 8);
      row.logTail = slurmLog.length ? slurmLog : tailLines(path.join(runDir, 'log.jsonl'), 3);
    }
    trials.push(row);
  }
  const counts: Partial<Record<SweepTrialState, number>> = {};
  for (const t of trials) counts[t.state] = (counts[t.state] ?? 0) + 1;
  return { experiment: plan.name, experimentDir, trials, counts };
}
