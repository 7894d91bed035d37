/**
 * `divd run <spec>`: plan the trials, run the pending ones (finished trials are cached by id and never
 * re-run; interrupted ones resume from their checkpoints), log everything to the tracker under one parent
 * run per sweep, and write the report.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareDataset } from '../../datasets/index.ts';
import { generateReport, type ReportResult } from '../report/index.ts';
import { loadSpec, selectTrials } from '../spec/index.ts';
import type { Plan, Trial } from '../spec/types.ts';
import { createTracker, resolveTracking, type ResolvedTracking, type Tracker, type TrackedRun } from '../tracking/index.ts';
import { UsageError } from '../errors.ts';
import { RunDir } from './run-dir.ts';
import { createProgress } from './progress.ts';
import { dataSourceOf, defaultDataCacheDir, runTrial } from './trial.ts';
import { stopRequested } from './interrupt.ts';

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
  /** Trials run at once, each in its own `divd trial` process (default 1: in this process, one by one). */
  jobs?: number;
  /** Log trials as children of this existing run (what `divd run --jobs` passes to its `divd trial`s). */
  parentRunId?: string;
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
  tracking: ResolvedTracking;
}

function trackingOf(plan: Plan) {
  const t = plan.trials[0]!.config.tracking;
  return { uri: t.uri || undefined, experiment: t.experiment || plan.name };
}

async function startParent(tracker: Tracker, plan: Plan, runsDir: string): Promise<TrackedRun> {
  return tracker.startRun({ runName: plan.name, runDir: path.join(runsDir, plan.name), tags: { 'divd.spec': plan.file, 'divd.trials': String(plan.trials.length) } });
}

const DIVD_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli/divd.mjs');

/** One trial in a child `divd trial` process; its outcome is the JSON line it prints. */
function runChild(plan: Plan, trial: Trial, o: RunOptions, parentRunId: string | undefined, threads: number): Promise<TrialOutcome> {
  const args = [DIVD_BIN, 'trial', plan.file, '--id', trial.id, '--runs', o.runsDir, '--json', ...(parentRunId ? ['--parent-run', parentRunId] : [])];
  const env = { ...process.env, DIVD_THREADS: process.env.DIVD_THREADS ?? String(threads) };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', o.quiet ? 'ignore' : 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      const runDir = path.join(o.runsDir, plan.name, trial.id);
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as TrialOutcome);
      } catch {
        resolve({ id: trial.id, label: trial.label, state: 'failed', error: `divd trial exited with code ${code} (see ${runDir}/status.json)`, runDir });
      }
    });
  });
}

/** Runs the trials (in order, or `jobs` at a time); `finish` runs before the sweep's parent run ends (the report, logged with it). */
export async function executeTrials(
  plan: Plan,
  trials: Trial[],
  o: RunOptions,
  finish?: (parent: TrackedRun | undefined) => Promise<void>,
): Promise<TrialOutcome[]> {
  const tracker = createTracker(trackingOf(plan));
  const outcomes = new Array<TrialOutcome>(trials.length);
  let parent: TrackedRun | undefined;
  const parentId = async () => o.parentRunId ?? (parent ??= await startParent(tracker, plan, o.runsDir)).runId;
  const pending: number[] = [];
  for (const [i, trial] of trials.entries()) {
    const dir = new RunDir(path.join(o.runsDir, plan.name, trial.id));
    if (dir.isDone() && o.force) fs.rmSync(dir.dir, { recursive: true, force: true });
    if (dir.isDone()) {
      outcomes[i] = { id: trial.id, label: trial.label, state: 'cached', runDir: dir.dir };
      if (!o.quiet) process.stderr.write(`[${i + 1}/${trials.length} ${trial.label} ${trial.id}] cached (finished earlier)\n`);
    } else pending.push(i);
  }
  const runHere = async (i: number): Promise<TrialOutcome> => {
    const trial = trials[i]!;
    const dir = new RunDir(path.join(o.runsDir, plan.name, trial.id));
    const progress = createProgress(`${i + 1}/${trials.length} ${trial.label} ${trial.id}`, { quiet: o.quiet });
    const run = await tracker.startRun({ runName: trial.label, parentRunId: await parentId(), runDir: dir.dir, tags: { 'divd.trialId': trial.id } });
    try {
      await runTrial(trial, { experiment: plan.name, runsDir: o.runsDir, run, progress, dataCacheDir: o.dataCacheDir, weightsDir: o.weightsDir });
      progress.done();
      return { id: trial.id, label: trial.label, state: 'done', runDir: dir.dir };
    } catch (e) {
      // A bad spec or path stops the sweep (every trial would fail the same way); anything else is this
      // trial's failure, recorded in its status.json, and the sweep goes on.
      if (e instanceof UsageError) throw e;
      progress.note(`failed: ${(e as Error).message}`);
      return { id: trial.id, label: trial.label, state: 'failed', error: (e as Error).message, runDir: dir.dir };
    }
  };
  try {
    const jobs = Math.max(1, Math.min(o.jobs ?? 1, pending.length));
    if (jobs === 1) {
      for (const i of pending) {
        if (stopRequested()) {
          const t = trials[i]!;
          outcomes[i] = { id: t.id, label: t.label, state: 'failed', error: 'not started: interrupted', runDir: path.join(o.runsDir, plan.name, t.id) };
          continue;
        }
        outcomes[i] = await runHere(i);
      }
    } else {
      // Synthetic datasets are generated once here, not raced for by the trial processes.
      const seen = new Set<string>();
      for (const i of pending) {
        const source = dataSourceOf(trials[i]!.config.data);
        const key = JSON.stringify(source);
        if (source.kind === 'synthetic' && !seen.has(key)) {
          seen.add(key);
          await prepareDataset(source, { cacheDir: o.dataCacheDir ?? defaultDataCacheDir() });
        }
      }
      const id = pending.length ? await parentId() : undefined;
      const threads = Math.max(1, Math.floor(os.availableParallelism() / jobs));
      const queue = [...pending];
      await Promise.all(
        Array.from({ length: jobs }, async () => {
          for (let i = queue.shift(); i !== undefined; i = queue.shift()) outcomes[i] = await runChild(plan, trials[i]!, o, id, threads);
        }),
      );
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
  return { experiment: plan.name, trials: outcomes, tracking: resolveTracking(trackingOf(plan)), ...(report ? { report } : {}) };
}
