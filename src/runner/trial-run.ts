/**
 * How a trial begins, whoever begins it (`runTrial`, the stage commands, `divd prepare`): its run
 * directory's identity files and its tracker run. Kept in one place so a prepared run directory is the
 * one the runner would have made.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeJsonAtomicSync } from '../atomic-write.ts';
import type { Trial, TrialConfig } from '../spec/types.ts';
import { flattenParams, type Tracker, type TrackedRun } from '../tracking/index.ts';
import type { RunDir } from './run-dir.ts';

/** `runs/<experiment>/<trial id>/`. */
export function trialRunDir(runsDir: string, experiment: string, trialId: string): string {
  return path.join(runsDir, experiment, trialId);
}

/**
 * config.json (the resolved config, defaults applied; its hash is the trial id) and trial.json (id,
 * label, swept values, the tracker run): what `divd train|sample|eval --trial` read back.
 */
export function writeTrialFiles(dir: RunDir, trial: Trial, run: TrackedRun | undefined): void {
  const c = trial.config;
  writeJsonAtomicSync(dir.file('config.json'), c);
  writeJsonAtomicSync(dir.file('trial.json'), { id: trial.id, label: trial.label, variant: trial.variant, swept: trial.swept, seed: c.train.seed, index: trial.index, mlflowRunId: run?.runId });
}

/** True when `runDir` holds both identity files, i.e. a stage command can open it. */
export function hasTrialFiles(runDir: string): boolean {
  return fs.existsSync(path.join(runDir, 'config.json')) && fs.existsSync(path.join(runDir, 'trial.json'));
}

/**
 * The trial's tracker run, named by its label: reattached when the run directory's tracking.json names
 * one, else new (a child of `parentRunId`, the sweep's run, when given).
 */
export function startTrialRun(tracker: Tracker, trial: Trial, runDir: string, parentRunId?: string): Promise<TrackedRun> {
  return tracker.startRun({ runName: trial.label, parentRunId, runDir, tags: { 'divd.trialId': trial.id } });
}

/** Every config value as a tracker param (`model.windows`, `train.lr`, …). */
export async function logTrialParams(run: TrackedRun | undefined, config: TrialConfig): Promise<void> {
  await run?.logParams(flattenParams(config as unknown as Record<string, unknown>));
}
