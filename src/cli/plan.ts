/**
 * `divd plan <spec>`: the trials a spec expands to, with their ids, labels, swept values and state.
 * State comes from `runs/<experiment>/<id>/status.json` (written by the runner): its `stage`, or
 * `pending` when the trial has no run directory yet.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { loadSpec, type Plan, type Trial } from '../spec/index.ts';

export interface PlannedTrial {
  id: string;
  label: string;
  variant: string | null;
  swept: Record<string, unknown>;
  /** `pending`, or the `stage` recorded in status.json. */
  status: string;
  /** status.json as written by the runner, or null. */
  statusFile: Record<string, unknown> | null;
  runDir: string;
  trainSteps: number;
}

export interface PlanReport {
  spec: string;
  name: string;
  description: string;
  runsDir: string;
  trials: PlannedTrial[];
  /** Trials per status. */
  counts: Record<string, number>;
  /** Optimiser steps over all trials not yet finished (a rough measure of the work left). */
  pendingTrainSteps: number;
}

const FINISHED = new Set(['done', 'finished', 'cached']);

function readStatus(file: string): Record<string, unknown> | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through: a half-written or corrupt file reads as unknown rather than aborting the plan
  }
  return { stage: 'unreadable' };
}

function planTrial(trial: Trial, runsDir: string, experiment: string): PlannedTrial {
  const runDir = path.join(runsDir, experiment, trial.id);
  const statusFile = readStatus(path.join(runDir, 'status.json'));
  const stage = statusFile?.stage;
  return {
    id: trial.id,
    label: trial.label,
    variant: trial.variant,
    swept: trial.swept,
    status: statusFile === null ? 'pending' : typeof stage === 'string' ? stage : 'unknown',
    statusFile,
    runDir,
    trainSteps: trial.config.train.steps,
  };
}

export function planSpec(specFile: string, runsDir = 'runs'): PlanReport {
  const plan: Plan = loadSpec(specFile);
  const trials = plan.trials.map((t) => planTrial(t, runsDir, plan.name));
  const counts: Record<string, number> = {};
  for (const t of trials) counts[t.status] = (counts[t.status] ?? 0) + 1;
  const pendingTrainSteps = trials.filter((t) => !FINISHED.has(t.status)).reduce((sum, t) => sum + t.trainSteps, 0);
  return { spec: specFile, name: plan.name, description: plan.description, runsDir, trials, counts, pendingTrainSteps };
}

export function formatPlan(report: PlanReport): string {
  const n = report.trials.length;
  const counts = Object.entries(report.counts).map(([s, c]) => `${c} ${s}`).join(', ');
  const rows = report.trials.map((t) => [t.id, t.status, t.label, formatSwept(t.swept)]);
  const header = ['ID', 'STATUS', 'LABEL', 'SWEPT VALUES'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [
    `${report.name}: ${n} trial${n === 1 ? '' : 's'} (${counts}) from ${report.spec}`,
    ...(report.description ? [report.description] : []),
    `run directories: ${path.join(report.runsDir, report.name)}/<id>/; train steps left: ${report.pendingTrainSteps.toLocaleString('en-US')}`,
    '',
    line(header),
    ...rows.map(line),
  ].join('\n');
}

function formatSwept(swept: Record<string, unknown>): string {
  const entries = Object.entries(swept);
  return entries.length ? entries.map(([p, v]) => `${p}=${JSON.stringify(v)}`).join(' ') : '-';
}

export function runPlanCommand(specFile: string, opts: { json?: boolean; runs?: string }): void {
  if (!specFile) throw new UsageError('divd plan needs a spec file, e.g. experiments/smoke.yaml');
  const report = planSpec(specFile, opts.runs ?? 'runs');
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatPlan(report)}\n`);
}
