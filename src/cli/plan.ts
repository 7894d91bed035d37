/**
 * `divd plan <spec>`: the trials a spec expands to, with their ids, labels, swept values and state, and
 * the work left: training steps, sampling forward passes, their FLOPs and a time estimate.
 * State comes from `runs/<experiment>/<id>/status.json` (written by the runner): its `stage`, or
 * `pending` when the trial has no run directory yet. The time comes from step rates the experiment's
 * run directories logged, or with `--measure` from training steps timed on this machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { initBackend, silenceCpuBanner } from '../backend/index.ts';
import { UsageError } from '../errors.ts';
import { createModel, disposeModel, type DivdModel } from '../model/index.ts';
import { canonicalJson, loadSpec, type Plan, type Trial, type TrialConfig } from '../spec/index.ts';
import {
  estimateTime,
  loggedStepRates,
  measureStepSeconds,
  shapeKey,
  testSplitSize,
  trialWork,
  type StepRate,
  type TestSplitSize,
  type TimeEstimate,
  type TrialWork,
} from '../runner/estimate.ts';
import { twinToAdopt } from '../runner/reuse.ts';

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
  /**
   * The run directory of a finished twin (same id in another experiment under the same runs root) whose
   * checkpoints `divd run` will take instead of training (runner/reuse.ts); absent when it will train.
   */
  reusesTraining?: string;
  /** Counts and FLOPs of the whole trial. */
  work: TrialWork;
  /** Time of what is left of it; null when finished or when no step rate is known. */
  estimate: TimeEstimate | null;
}

export interface WorkLeft {
  trainSteps: number;
  trainFlops: number;
  forwardPasses: number;
  forwardFlops: number;
  /** False when some trial's test split could not be counted (its forward passes are missing). */
  complete: boolean;
  /** Null when no trial left has an estimate. */
  seconds: { train: number; sample: number; total: number } | null;
  /** Where the step rates come from (one line per basis used). */
  basis: string[];
  note?: string;
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
  workLeft: WorkLeft;
}

export interface PlanOptions {
  /** Time two training steps of each model/crop/batch left to run on the current backend. */
  measure?: boolean;
  onMeasure?(what: string): void;
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

function planTrial(trial: Trial, runsDir: string, experiment: string): Omit<PlannedTrial, 'work' | 'estimate'> {
  const runDir = path.join(runsDir, experiment, trial.id);
  const statusFile = readStatus(path.join(runDir, 'status.json'));
  const stage = statusFile?.stage;
  const status = statusFile === null ? 'pending' : typeof stage === 'string' ? stage : 'unknown';
  // What `divd run` would do: a trial that has not started training adopts a trained twin.
  const twin = FINISHED.has(status) ? undefined : twinToAdopt(runsDir, experiment, trial.id, trial.config.train.steps, path.join(runDir, 'checkpoints'));
  return {
    id: trial.id,
    label: trial.label,
    variant: trial.variant,
    swept: trial.swept,
    status,
    statusFile,
    runDir,
    trainSteps: trial.config.train.steps,
    ...(twin ? { reusesTraining: twin } : {}),
  };
}

/** Models by config, built once (only their shapes are read) and disposed by the caller. */
class ModelCache {
  private models = new Map<string, DivdModel>();
  get(c: TrialConfig['model']): DivdModel {
    const key = canonicalJson(c);
    let m = this.models.get(key);
    if (!m) this.models.set(key, (m = createModel(c, 0)));
    return m;
  }
  dispose(): void {
    for (const m of this.models.values()) disposeModel(m);
  }
}

/** Training steps a trial still has to run: none when finished, the rest after its last logged step. */
function stepsLeft(t: Omit<PlannedTrial, 'work' | 'estimate'>): number {
  if (FINISHED.has(t.status) || t.reusesTraining) return 0;
  const done = t.statusFile?.step;
  return Math.max(0, t.trainSteps - (typeof done === 'number' ? done : 0));
}

/** Needs a tfjs backend (shapes only; `measure` times steps on it). */
export async function planSpec(specFile: string, runsDir = 'runs', o: PlanOptions = {}): Promise<PlanReport> {
  const plan: Plan = loadSpec(specFile);
  const base = plan.trials.map((t) => planTrial(t, runsDir, plan.name));
  const counts: Record<string, number> = {};
  for (const t of base) counts[t.status] = (counts[t.status] ?? 0) + 1;
  const pendingTrainSteps = base.filter((t) => !FINISHED.has(t.status) && !t.reusesTraining).reduce((sum, t) => sum + t.trainSteps, 0);

  const models = new ModelCache();
  try {
    const splits = new Map<string, TestSplitSize | Error>();
    const splitOf = async (c: TrialConfig) => {
      const key = canonicalJson(c.data);
      if (!splits.has(key)) splits.set(key, await testSplitSize(c).catch((e: Error) => e));
      return splits.get(key)!;
    };
    const works: TrialWork[] = [];
    for (const t of plan.trials) works.push(trialWork(t.config, models.get(t.config.model), await splitOf(t.config)));

    const rates: StepRate[] = [];
    if (o.measure) {
      for (const [i, t] of plan.trials.entries()) {
        if (FINISHED.has(base[i]!.status)) continue;
        const key = shapeKey(t.config);
        if (rates.some((r) => r.key === key)) continue;
        o.onMeasure?.(`timing training steps of ${t.label} (${t.id})`);
        rates.push({ key, secondsPerStep: measureStepSeconds(t.config), trainStepFlops: works[i]!.trainStepFlops, source: 'measured' });
      }
    }
    for (const r of loggedStepRates(path.join(runsDir, plan.name))) {
      const work = trialWork(r.config, models.get(r.config.model), new Error('not needed'));
      rates.push({ key: shapeKey(r.config), secondsPerStep: r.secondsPerStep, trainStepFlops: work.trainStepFlops, source: r.id });
    }

    const trials: PlannedTrial[] = base.map((t, i) => {
      const left = stepsLeft(t);
      const finished = FINISHED.has(t.status);
      return { ...t, work: works[i]!, estimate: finished ? null : estimateTime(plan.trials[i]!.config, works[i]!, left, rates) };
    });
    return { spec: specFile, name: plan.name, description: plan.description, runsDir, trials, counts, pendingTrainSteps, workLeft: workLeft(trials, rates.length > 0) };
  } finally {
    models.dispose();
  }
}

function workLeft(trials: PlannedTrial[], haveRates: boolean): WorkLeft {
  const open = trials.filter((t) => !FINISHED.has(t.status));
  const w: WorkLeft = { trainSteps: 0, trainFlops: 0, forwardPasses: 0, forwardFlops: 0, complete: true, seconds: null, basis: [] };
  let train = 0;
  let sample = 0;
  let timed = 0;
  for (const t of open) {
    const steps = stepsLeft(t);
    w.trainSteps += steps;
    w.trainFlops += steps * t.work.trainStepFlops;
    if (t.work.forwardPasses === null || t.work.forwardPassFlops === null) w.complete = false;
    else (w.forwardPasses += t.work.forwardPasses), (w.forwardFlops += t.work.forwardPasses * t.work.forwardPassFlops);
    if (t.estimate) {
      timed += 1;
      train += t.estimate.trainSeconds;
      sample += t.estimate.sampleSeconds ?? 0;
      const line = `${t.estimate.basis}: ${t.estimate.source}`;
      if (!w.basis.includes(line)) w.basis.push(line);
    }
  }
  if (timed > 0) w.seconds = { train, sample, total: train + sample };
  if (open.length > 0 && !haveRates) w.note = 'no trial of this experiment has logged a step rate yet; `divd plan --measure` times two training steps per model here';
  const missing = open.find((t) => t.work.note);
  if (missing) w.note = [w.note, `test split not counted: ${missing.work.note!.replace(/:$/, '')}`].filter(Boolean).join('; ');
  return w;
}

export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)}h`;
  return `${(seconds / 86400).toFixed(1)}d`;
}

function flops(n: number): string {
  const units: [number, string][] = [[1e18, 'EFLOP'], [1e15, 'PFLOP'], [1e12, 'TFLOP'], [1e9, 'GFLOP'], [1e6, 'MFLOP']];
  const [scale, unit] = units.find(([u]) => n >= u) ?? [1, 'FLOP'];
  return `${(n / scale).toFixed(n / scale >= 100 ? 0 : 1)} ${unit}`;
}

/** One line per trial that will take a twin's training (and a blank line after), or nothing. */
function reuseLines(report: PlanReport): string[] {
  const lines = report.trials
    .filter((t) => t.reusesTraining)
    .map((t) => `${t.id} takes its training from ${t.reusesTraining} (the same config, trained); only sampling and scoring run`);
  return lines.length > 0 ? [...lines, '(`divd run --force` or DIVD_REUSE_TRAINING=0 retrains instead)', ''] : [];
}

export function formatPlan(report: PlanReport): string {
  const n = report.trials.length;
  const counts = Object.entries(report.counts).map(([s, c]) => `${c} ${s}`).join(', ');
  const table = (header: string[], rows: string[][]) => {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
    return [line(header), ...rows.map(line)];
  };
  const trials = table(['ID', 'STATUS', 'LABEL', 'SWEPT VALUES'], report.trials.map((t) => [t.id, t.status, t.label, formatSwept(t.swept)]));
  const work = table(
    ['ID', 'TRAIN STEPS', 'STEP FLOPS', 'FORWARD PASSES', 'PASS FLOPS', 'TIME LEFT'],
    report.trials.map((t) => [
      t.id,
      t.trainSteps.toLocaleString('en-US'),
      flops(t.work.trainStepFlops),
      t.work.forwardPasses === null ? '?' : `${t.work.forwardPasses.toLocaleString('en-US')} (${t.work.testWindows} windows x ${t.work.samplerSteps} steps x ${t.work.tilesPerWindow} tiles)`,
      t.work.forwardPassFlops === null ? '?' : flops(t.work.forwardPassFlops),
      t.estimate ? formatDuration(t.estimate.trainSeconds + (t.estimate.sampleSeconds ?? 0)) : FINISHED.has(t.status) ? '-' : '?',
    ]),
  );
  const w = report.workLeft;
  const fwd = w.complete
    ? `${w.forwardPasses.toLocaleString('en-US')} sampling forward passes (${flops(w.forwardFlops)})`
    : w.forwardPasses === 0
      ? 'sampling forward passes not counted (test split not readable here)'
      : `${w.forwardPasses.toLocaleString('en-US')}+ sampling forward passes (${flops(w.forwardFlops)}; some test splits not readable here)`;
  const time = w.seconds
    ? `estimate: ${formatDuration(w.seconds.total)} (training ${formatDuration(w.seconds.train)}, sampling ${formatDuration(w.seconds.sample)}) from ${w.basis.join('; ')}`
    : 'estimate: unknown';
  return [
    `${report.name}: ${n} trial${n === 1 ? '' : 's'} (${counts}) from ${report.spec}`,
    ...(report.description ? [report.description] : []),
    `run directories: ${path.join(report.runsDir, report.name)}/<id>/; train steps left: ${report.pendingTrainSteps.toLocaleString('en-US')}`,
    '',
    ...trials,
    '',
    ...work,
    '',
    ...reuseLines(report),
    `work left: ${w.trainSteps.toLocaleString('en-US')} training steps (${flops(w.trainFlops)}), ${fwd}`,
    time,
    ...(w.note ? [`note: ${w.note}`] : []),
  ].join('\n');
}

function formatSwept(swept: Record<string, unknown>): string {
  const entries = Object.entries(swept);
  return entries.length ? entries.map(([p, v]) => `${p}=${JSON.stringify(v)}`).join(' ') : '-';
}

export interface PlanFlags {
  json?: boolean;
  runs?: string;
  measure?: boolean;
  backend?: string;
  threads?: number;
}

export async function runPlanCommand(specFile: string, opts: PlanFlags): Promise<void> {
  if (!specFile) throw new UsageError('divd plan needs a spec file, e.g. experiments/smoke.yaml');
  loadSpec(specFile); // a bad spec is reported before any backend starts
  if (opts.measure) {
    const info = await initBackend({ requested: opts.backend, threads: opts.threads });
    if (!opts.json) process.stderr.write(`measuring on backend ${info.name}${info.name === 'wasm' ? ` (${info.threads} threads)` : ''}\n`);
  } else {
    // Counting FLOPs needs only shapes: the plain cpu backend holds the models.
    await initBackend({ requested: 'cpu' });
    silenceCpuBanner();
  }
  const report = await planSpec(specFile, opts.runs ?? 'runs', { measure: opts.measure, onMeasure: (m) => !opts.json && process.stderr.write(`${m}\n`) });
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatPlan(report)}\n`);
}
