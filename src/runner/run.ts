/**
 * `divd run <spec>`: plan the trials, run the pending ones (finished trials are cached by id and never
 * re-run; interrupted ones resume from their checkpoints), log everything to the tracker under one parent
 * run per sweep, and write the report.
 */
import path from 'node:path';
import { generateReport, type ReportResult } from '../report/index.ts';
import { loadSpec, selectTrials } from '../spec/index.ts';
import type { Plan, Trial } from '../spec/types.ts';
import { createTracker, type Tracker, type TrackedRun } from '../tracking/index.ts';
import { UsageError } from '../errors.ts';
import { RunDir } from './run-dir.ts';
import { createProgress } from './progress.ts';
import { runTrial } from './trial.ts';

export interface RunOptions {
  runsDir: string;
  /** Trial selectors (label, id or id prefix); all trials when empty. */
  only?: string[];
  report: boolean;
  reportDir?: string;
  quiet?: boolean;
  dataCacheDir?: string;
  weightsDir?: string;
}

export interface TrialOutcome {
  id: string;
  label: string;
  state: 'cached' | 'done' | 'failed';
  error?: string;
  runDir: string;
}

export interface RunResult {
  experiment: string;
  trials: TrialOutcome[];
  report?: ReportResult;
}

function trackingOf(plan: Plan) {
  const t = plan.trials[0]!.config.tracking;
  return { uri: t.uri || undefined, experiment: t.experiment || plan.name };
}

async function startParent(tracker: Tracker, plan: Plan, runsDir: string): Promise<TrackedRun> {
  return tracker.startRun({ runName: plan.name, runDir: path.join(runsDir, plan.name), tags: { 'divd.spec': plan.file, 'divd.trials': String(plan.trials.length) } });
}

/** Runs the trials in order; `finish` runs before the sweep's parent run ends (the report, logged with it). */
export async function executeTrials(
  plan: Plan,
  trials: Trial[],
  o: RunOptions,
  finish?: (parent: TrackedRun | undefined) => Promise<void>,
): Promise<TrialOutcome[]> {
  const tracker = createTracker(trackingOf(plan));
  const specDir = path.dirname(path.resolve(plan.file));
  const outcomes: TrialOutcome[] = [];
  let parent: TrackedRun | undefined;
  try {
    for (const [i, trial] of trials.entries()) {
      const dir = new RunDir(path.join(o.runsDir, plan.name, trial.id));
      const label = `${i + 1}/${trials.length} ${trial.label} ${trial.id}`;
      if (dir.isDone()) {
        outcomes.push({ id: trial.id, label: trial.label, state: 'cached', runDir: dir.dir });
        if (!o.quiet) process.stderr.write(`[${label}] cached (finished earlier)\n`);
        continue;
      }
      parent ??= await startParent(tracker, plan, o.runsDir);
      const run = await tracker.startRun({ runName: trial.label, parentRunId: parent.runId, runDir: dir.dir, tags: { 'divd.trialId': trial.id } });
      const progress = createProgress(label, { quiet: o.quiet });
      try {
        await runTrial(trial, specDir, { experiment: plan.name, runsDir: o.runsDir, run, progress, dataCacheDir: o.dataCacheDir, weightsDir: o.weightsDir });
        progress.done();
        outcomes.push({ id: trial.id, label: trial.label, state: 'done', runDir: dir.dir });
      } catch (e) {
        // A bad spec or path stops the sweep (every trial would fail the same way); anything else is this
        // trial's failure, recorded in its status.json, and the sweep goes on.
        if (e instanceof UsageError) throw e;
        progress.note(`failed: ${(e as Error).message}`);
        outcomes.push({ id: trial.id, label: trial.label, state: 'failed', error: (e as Error).message, runDir: dir.dir });
      }
    }
    await finish?.(parent);
    await parent?.end(outcomes.some((x) => x.state === 'failed') ? 'FAILED' : 'FINISHED');
  } finally {
    await tracker.close();
  }
  return outcomes;
}

export async function runSpec(specFile: string, o: RunOptions): Promise<RunResult> {
  const plan = loadSpec(specFile);
  const trials = o.only?.length ? selectTrials(plan, o.only) : plan.trials;
  let report: ReportResult | undefined;
  const outcomes = await executeTrials(plan, trials, o, async (parent) => {
    if (!o.report || !plan.trials[0]!.config.report.enabled) return;
    report = await generateReport({ runsDir: path.join(o.runsDir, plan.name), outDir: o.reportDir });
    await parent?.logArtifact(report.outDir, 'report');
  });
  return { experiment: plan.name, trials: outcomes, ...(report ? { report } : {}) };
}
