/**
 * `divd prepare`: a trial's run directory made without running anything, so a researcher can go stage by
 * stage (`divd train|sample|eval --trial <dir>`). It holds what `divd run` writes before training —
 * config.json, trial.json, status.json (pending) and tracking.json, the trial's tracker run as a child of
 * the sweep's run, its params logged — written by the runner's own functions (trial-run.ts). A directory
 * that is already a run directory is left untouched, whatever its stage.
 */
import path from 'node:path';
import type { Plan, Trial } from '../spec/types.ts';
import { createTracker, type TrackedRun } from '../tracking/index.ts';
import { readJson, RunDir, type Stage, type TrialStatus } from './run-dir.ts';
import { startParent, trackingOf } from './run.ts';
import { hasTrialFiles, logTrialParams, startTrialRun, trialRunDir, writeTrialFiles } from './trial-run.ts';

export interface PreparedTrial {
  id: string;
  label: string;
  runDir: string;
  /** created: written now; existing: a run directory was there already and was left as it was. */
  state: 'created' | 'existing';
  /** The stage its status.json records (pending for a new one). */
  stage: Stage;
}

export interface PrepareOptions {
  runsDir: string;
}

/** Writes the run directory of every trial that has none yet; returns all of them, in plan order. */
export async function prepareTrials(plan: Plan, trials: readonly Trial[], o: PrepareOptions): Promise<PreparedTrial[]> {
  const tracker = createTracker(trackingOf(plan));
  // Opened on the first trial that needs a run, as `divd run` does, so a prepare that finds every run
  // directory in place touches no tracker at all.
  let parent: TrackedRun | undefined;
  const prepared: PreparedTrial[] = [];
  try {
    for (const trial of trials) {
      const runDir = trialRunDir(o.runsDir, plan.name, trial.id);
      if (hasTrialFiles(runDir)) {
        const stage = readJson<TrialStatus>(path.join(runDir, 'status.json'))?.stage ?? 'pending';
        prepared.push({ id: trial.id, label: trial.label, runDir, state: 'existing', stage });
        continue;
      }
      parent ??= await startParent(tracker, plan, o.runsDir);
      const dir = new RunDir(runDir);
      const run = await startTrialRun(tracker, trial, runDir, parent.runId);
      try {
        writeTrialFiles(dir, trial, run);
        // Never over a stage recorded earlier (a directory left half-made by an interrupted prepare has none).
        if (!dir.status()) dir.setStatus({ stage: 'pending' });
        await logTrialParams(run, trial.config);
      } catch (e) {
        await run.end('FAILED');
        throw e;
      }
      // Like each stage command, prepare ends the tracker run it opened; the next stage reattaches to it.
      await run.end('FINISHED');
      prepared.push({ id: trial.id, label: trial.label, runDir, state: 'created', stage: dir.status()!.stage });
    }
    await parent?.end('FINISHED');
    return prepared;
  } catch (e) {
    if (parent && !parent.resumed) await parent.end('FAILED');
    throw e;
  } finally {
    await tracker.close();
  }
}
