/**
 * `divd probe <run dir>` and eval.contextProbe: how much a trained model relies on its neighbouring frames. The held-out
 * test loss (test-loss.ts) is computed twice with the same checkpoint, frames and noise: once with every
 * frame in its test window of F frames, once with every frame alone (its window filled with copies of it).
 * If the model used nothing from the other frames the two would agree; the gap is what temporal context
 * (WTSA across frames) buys it. This separates "F = 4 wins because it learns from its neighbours" from
 * "F = 4 wins because each step sees more frames", which an ablation table alone cannot.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeJsonAtomicSync } from '../atomic-write.ts';
import { disposeModel, type DivdModel } from '../model/index.ts';
import type { Sequence } from '../../datasets/index.ts';
import type { TrialConfig } from '../spec/types.ts';
import { loadEmaModel, selectCheckpoint, type CheckpointChoice } from './checkpoint-select.ts';
import { createProgress, type Progress } from './progress.ts';
import { dataStage } from './stages.ts';
import { testLoss, type TestLoss } from './test-loss.ts';
import { openTrialDir } from './trial-stage.ts';

export const PROBE_FILE = 'probe-context.json';

export interface ContextProbe {
  runDir: string;
  label: string;
  /** F of the model: 1 leaves nothing to probe (both losses are the same number). */
  frames: number;
  checkpointStep: number;
  /** Each frame scored in its test window of F frames (the number metrics.json's testLoss holds). */
  withContext: TestLoss;
  /** Each frame scored with F copies of itself as its window. */
  isolated: TestLoss;
  /** isolated − withContext: > 0 when the neighbours help the model. */
  gain: number;
  /** gain / withContext: the fraction of the loss the neighbours take away. */
  relativeGain: number;
}

export interface ProbeOptions {
  checkpoint?: CheckpointChoice;
  quiet?: boolean;
  dataCacheDir?: string;
}

/**
 * The isolated pass beside a test loss already measured in windows (the eval stage has one), and the probe
 * made of both. With F = 1 a frame's window is the frame itself, so the two are one computation: reused.
 */
export async function completeProbe(
  model: DivdModel,
  test: readonly Sequence[],
  c: TrialConfig,
  withContext: TestLoss,
  meta: { runDir: string; label: string; checkpointStep: number; progress: Progress },
): Promise<ContextProbe> {
  let isolated = withContext;
  if (c.model.frames > 1) {
    meta.progress.stage('test loss, frames alone');
    isolated = await testLoss(model, test, { diffusion: c.diffusion, padding: c.data.padding, context: 'isolated', onWindow: (d, t) => meta.progress.update(d, t, 'frames') });
  }
  const gain = isolated.loss - withContext.loss;
  return {
    runDir: meta.runDir,
    label: meta.label,
    frames: c.model.frames,
    checkpointStep: meta.checkpointStep,
    withContext: { loss: withContext.loss, byTimestep: withContext.byTimestep, levels: withContext.levels },
    isolated: { loss: isolated.loss, byTimestep: isolated.byTimestep, levels: isolated.levels },
    gain,
    relativeGain: withContext.loss > 0 ? gain / withContext.loss : 0,
  };
}

/** The probe-context.json of a run directory, if there is a readable one. */
export function readProbe(runDir: string): ContextProbe | undefined {
  try {
    const p = JSON.parse(fs.readFileSync(path.join(runDir, PROBE_FILE), 'utf8')) as ContextProbe;
    return typeof p.isolated?.loss === 'number' ? p : undefined;
  } catch {
    return undefined; // absent, or torn by hand: the probe is redone or left out
  }
}

/** Writes probe-context.json into the run directory (atomic). */
export function writeProbe(probe: ContextProbe): void {
  writeJsonAtomicSync(path.join(probe.runDir, PROBE_FILE), probe);
}

/** Runs the probe on a trained trial and writes probe-context.json into its run directory (atomic). */
export async function probeContext(runDir: string, o: ProbeOptions = {}): Promise<ContextProbe> {
  const { trial, dir } = openTrialDir(runDir);
  const entry = selectCheckpoint(dir, trial.id, o.checkpoint ?? 'last');
  const progress = createProgress(`${trial.label} ${trial.id}`, { quiet: o.quiet });
  const splits = await dataStage(trial.config, { progress, dataCacheDir: o.dataCacheDir });
  const { model, step } = loadEmaModel(entry.file);
  const c = trial.config;
  try {
    progress.stage('test loss in windows');
    const withContext = await testLoss(model, splits.test, { diffusion: c.diffusion, padding: c.data.padding, onWindow: (d, t) => progress.update(d, t, 'windows') });
    const probe = await completeProbe(model, splits.test, c, withContext, { runDir: dir.dir, label: trial.label, checkpointStep: step, progress });
    progress.done();
    writeProbe(probe);
    return probe;
  } finally {
    disposeModel(model);
  }
}
