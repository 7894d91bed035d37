/**
 * `divd run <spec>`: plan the trials, hand the pending ones to a launcher (finished trials are cached by id
 * and never re-run; interrupted or failed ones resume from their checkpoints), log everything to the
 * tracker under one parent run per sweep, and write the report. The local launcher returns when the trials
 * have ended; the Slurm launcher returns after submitting, and `wait` (or `divd status --wait`) follows the
 * jobs and then finishes the sweep the same way.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateReport, type ReportResult } from '../report/index.ts';
import { loadSpec, selectTrials } from '../spec/index.ts';
import type { Plan, Trial } from '../spec/types.ts';
import { createTracker, resolveTracking, type ResolvedTracking, type Tracker, type TrackedRun, type TrackingConfig } from '../tracking/index.ts';
import { RunDir } from './run-dir.ts';
import { localLauncher, sweepStatus, waitForSlurm, type FollowOptions, type Launcher, type TrialOutcome } from './launchers/index.ts';

export type { TrialOutcome } from './launchers/index.ts';

export interface RunOptions {
  runsDir: string;
  /** Trial selectors (label, id or id prefix); all trials when empty. */
  only?: string[];
  report: boolean;
  reportDir?: string;
  quiet?: boolean;
  dataCacheDir?: string;
  weightsDir?: string;
  /** Re-run finished trials too (their run directories are started afresh). */
  force?: boolean;
  /** Where trials run (default: the local launcher, one trial at a time in this process). */
  launcher?: Launcher;
  /** Trials run at once by the default local launcher, each in its own `divd trial` process. */
  jobs?: number;
  /** Log trials as children of this existing run (what launchers pass to `divd trial`). */
  parentRunId?: string;
  /** Launchers that return before their trials end (Slurm): follow them, then write the report. */
  wait?: boolean;
  follow?: FollowOptions;
}

export interface RunResult {
  experiment: string;
  trials: TrialOutcome[];
  report?: ReportResult;
  tracking: ResolvedTracking;
  /** Set when trials were left running in Slurm: the jobs and a command to watch them. */
  detached?: { jobIds: string[]; hint: string };
}

/** The tracking section every trial of the plan shares (the spec's `base.tracking`). */
export function trackingOf(plan: Plan): TrackingConfig {
  const t = plan.trials[0]!.config.tracking;
  return { uri: t.uri || undefined, experiment: t.experiment || plan.name };
}

/** The sweep's parent run; `runs/<experiment>/tracking.json` makes every later call reattach to the same run. */
export async function startParent(tracker: Tracker, plan: Plan, runsDir: string): Promise<TrackedRun> {
  return tracker.startRun({ runName: plan.name, runDir: path.join(runsDir, plan.name), tags: { 'divd.spec': plan.file, 'divd.trials': String(plan.trials.length) } });
}

interface Launch {
  outcomes: TrialOutcome[];
  detached?: { jobIds: string[]; hint: string };
}

/**
 * Runs the trials with the launcher; `finish` runs before the sweep's parent run ends (the report, logged
 * with it). When the launcher leaves trials running elsewhere, the parent run stays open for whoever
 * follows them (`finishSweep`).
 */
export async function executeTrials(plan: Plan, trials: Trial[], o: RunOptions, finish?: (parent: TrackedRun | undefined) => Promise<void>): Promise<Launch> {
  const tracker = createTracker(trackingOf(plan));
  let parent: TrackedRun | undefined;
  const parentRunId = async () => o.parentRunId ?? (parent ??= await startParent(tracker, plan, o.runsDir)).runId;
  const outcomes = new Array<TrialOutcome>(trials.length);
  const pending: Trial[] = [];
  // --force means compute again: the trials it starts must not take a twin's training (reuse.ts).
  if (o.force) process.env.DIVD_REUSE_TRAINING = '0';
  for (const [i, trial] of trials.entries()) {
    const dir = new RunDir(path.join(o.runsDir, plan.name, trial.id));
    if (dir.isDone() && o.force) fs.rmSync(dir.dir, { recursive: true, force: true });
    if (dir.isDone()) {
      outcomes[i] = { id: trial.id, label: trial.label, state: 'cached', runDir: dir.dir };
      if (!o.quiet) process.stderr.write(`[${i + 1}/${trials.length} ${trial.label} ${trial.id}] cached (finished earlier)\n`);
    } else pending.push(trial);
  }
  const launcher = o.launcher ?? localLauncher({ jobs: o.jobs });
  try {
    const launched = pending.length
      ? await launcher.launch({
          plan,
          trials: pending,
          runsDir: o.runsDir,
          tracker,
          parentRunId,
          quiet: o.quiet,
          dataCacheDir: o.dataCacheDir,
          weightsDir: o.weightsDir,
          indexOf: (t) => trials.indexOf(t),
          total: trials.length,
        })
      : { outcomes: [] };
    for (const outcome of launched.outcomes) outcomes[trials.findIndex((t) => t.id === outcome.id)] = outcome;
    if (!launched.detached) {
      await finish?.(parent);
      await parent?.end(outcomes.some((x) => x.state === 'failed') ? 'FAILED' : 'FINISHED');
    }
    return { outcomes, ...(launched.detached ? { detached: launched.detached } : {}) };
  } catch (e) {
    // A sweep run opened just now for trials that never started (bad input, sbatch refusing) ends FAILED
    // rather than staying RUNNING; a reattached one may still have trials queued elsewhere.
    if (parent && !parent.resumed) await parent.end('FAILED');
    throw e;
  } finally {
    await tracker.close();
  }
}

/** Outcomes once nothing is queued or running any more: done, or failed with the reason status found. */
export function endedOutcomes(plan: Plan, runsDir: string, trials: readonly TrialOutcome[]): TrialOutcome[] {
  const status = new Map(sweepStatus(plan, runsDir, { trialIds: trials.map((t) => t.id) }).trials.map((s) => [s.id, s]));
  return trials.map((t) => {
    if (t.state === 'cached') return t;
    const s = status.get(t.id)!;
    const { slurmTask: _, ...rest } = t;
    return s.state === 'finished'
      ? { ...rest, state: 'done' as const }
      : { ...rest, state: 'failed' as const, error: s.error ?? `ended ${s.state} (see ${path.join(t.runDir, 'slurm.log')})` };
  });
}

export interface FinishOptions {
  runsDir: string;
  report: boolean;
  reportDir?: string;
}

/**
 * After trials ran elsewhere (Slurm): the report, logged to the sweep's parent run, which then ends
 * FINISHED or FAILED. What `divd run --wait` and `divd status --wait` do once the jobs have ended.
 */
export async function finishSweep(plan: Plan, outcomes: readonly TrialOutcome[], o: FinishOptions): Promise<ReportResult | undefined> {
  const tracker = createTracker(trackingOf(plan));
  try {
    const parent = await startParent(tracker, plan, o.runsDir);
    let report: ReportResult | undefined;
    if (o.report && plan.trials[0]!.config.report.enabled) {
      report = await generateReport({ runsDir: path.join(o.runsDir, plan.name), outDir: o.reportDir });
      await parent.logArtifact(report.outDir, 'report');
    }
    await parent.end(outcomes.some((x) => x.state === 'failed') ? 'FAILED' : 'FINISHED');
    return report;
  } finally {
    await tracker.close();
  }
}

export async function runSpec(specFile: string, o: RunOptions): Promise<RunResult> {
  const plan = loadSpec(specFile);
  const trials = o.only?.length ? selectTrials(plan, o.only) : plan.trials;
  let report: ReportResult | undefined;
  const writeReport = async (parent: TrackedRun | undefined) => {
    if (!o.report || !plan.trials[0]!.config.report.enabled) return;
    report = await generateReport({ runsDir: path.join(o.runsDir, plan.name), outDir: o.reportDir });
    await parent?.logArtifact(report.outDir, 'report');
  };
  const launched = await executeTrials(plan, trials, o, writeReport);
  let outcomes = launched.outcomes;
  const tracking = resolveTracking(trackingOf(plan));
  if (launched.detached && o.wait) {
    await waitForSlurm(path.join(o.runsDir, plan.name), o.follow);
    outcomes = endedOutcomes(plan, o.runsDir, outcomes);
    report = await finishSweep(plan, outcomes, o);
    return { experiment: plan.name, trials: outcomes, tracking, ...(report ? { report } : {}) };
  }
  return { experiment: plan.name, trials: outcomes, tracking, ...(report ? { report } : {}), ...(launched.detached ? { detached: launched.detached } : {}) };
}
