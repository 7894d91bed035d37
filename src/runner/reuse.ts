/**
 * Trials shared between experiments. Sweeps of one study often hold the same trial: the three CPU ablations
 * all contain their common base (F = 4, windows [4, 2, 1], full MRPE), and a trial's id is the hash of its
 * resolved config, so it has the same id in each. Every experiment keeps its own run directory for it, but
 * training the same config twice gives the same weights (training is deterministic per config, backend and
 * thread count), so a trial that has not started training takes the checkpoints and training log of a twin
 * under the same runs root that has finished training, instead of repeating hours of work. Sampling, scoring
 * and tracking still run in its own directory, and the twin is never written to.
 *
 * `divd run --force` retrains (it sets DIVD_REUSE_TRAINING=0 for its trials); so does that variable set by hand.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TrackedRun } from '../tracking/index.ts';
import { CHECKPOINT_FILE_RE, checkpointFileName } from '../train/index.ts';
import { readJson, type RunDir, type TrialStatus } from './run-dir.ts';

/** Stages at which a run directory's training is complete. */
const PAST_TRAINING = new Set<TrialStatus['stage']>(['trained', 'sampling', 'sampled', 'evaluating', 'done']);

/** Whether trials may take a twin's training (DIVD_REUSE_TRAINING, default on). */
export function reuseEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.DIVD_REUSE_TRAINING !== '0';
}

/** Whether the checkpoints folder `dir` holds any checkpoint (a missing folder holds none). */
export function hasCheckpoints(dir: string): boolean {
  try {
    return fs.readdirSync(dir).some((name) => CHECKPOINT_FILE_RE.test(name));
  } catch {
    return false;
  }
}

/**
 * The run directory of trial `id` in another experiment under `runsDir` whose training reached `steps`
 * (its status is past training and it holds the checkpoint of that step), or undefined. Experiments are
 * searched in name order, so the choice does not depend on the file system.
 */
export function trainedTwin(runsDir: string, experiment: string, id: string, steps: number): string | undefined {
  let experiments: string[];
  try {
    experiments = fs.readdirSync(runsDir, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== experiment).map((e) => e.name).sort();
  } catch {
    return undefined;
  }
  for (const name of experiments) {
    const dir = path.join(runsDir, name, id);
    let status: TrialStatus | undefined;
    try {
      status = readJson<TrialStatus>(path.join(dir, 'status.json'));
    } catch {
      continue; // unreadable: not a twin to trust
    }
    if (status && PAST_TRAINING.has(status.stage) && fs.existsSync(path.join(dir, 'checkpoints', checkpointFileName(steps)))) return dir;
  }
  return undefined;
}

/**
 * The twin whose training a trial will take, or undefined: reuse is on, the trial's `checkpointsDir` holds
 * no checkpoint yet (it has not started training), and a twin trained to `steps` exists. The one rule both
 * the train stage and `divd plan` follow.
 */
export function twinToAdopt(runsDir: string, experiment: string, id: string, steps: number, checkpointsDir: string): string | undefined {
  return reuseEnabled() && !hasCheckpoints(checkpointsDir) ? trainedTwin(runsDir, experiment, id, steps) : undefined;
}

/**
 * Copies the twin's checkpoints/ and log.jsonl into `dir`, which must not have checkpoints yet. The copy goes
 * to a temporary folder renamed into place, so an interrupted copy leaves no half checkpoint folder.
 */
export function adoptTraining(twin: string, dir: RunDir): void {
  const to = dir.file('checkpoints');
  if (hasCheckpoints(to)) throw new Error(`${to} already holds checkpoints; not replacing them with ${twin}'s`);
  const tmp = `${to}.adopt.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.cpSync(path.join(twin, 'checkpoints'), tmp, { recursive: true });
  fs.rmSync(to, { recursive: true, force: true });
  fs.renameSync(tmp, to);
  const log = path.join(twin, 'log.jsonl');
  if (fs.existsSync(log)) fs.copyFileSync(log, dir.file('log.jsonl'));
}

/**
 * A training log line (log.jsonl): a step's loss and rates, or a validation's scores. A type alias, not an
 * interface, so it goes where a Record<string, unknown> is expected (RunDir.appendLog).
 */
export type TrainingLogLine = {
  step: number;
  loss?: number;
  lr?: number;
  gradNorm?: number;
  stepsPerSec?: number;
  valLoss?: number;
  valPsnr?: number;
  valSsim?: number;
};

/** Log-line fields and the MLflow names their curves have (built once: training calls this every step). */
const TRACKED_NAMES: readonly [keyof TrainingLogLine, string][] = [
  ['loss', 'loss'],
  ['lr', 'lr'],
  ['gradNorm', 'grad_norm'],
  ['stepsPerSec', 'steps_per_sec'],
  ['valLoss', 'val_loss'],
  ['valPsnr', 'val_psnr'],
  ['valSsim', 'val_ssim'],
];

/** The tracking metrics of a training log line, under the names the MLflow curves have. */
export function trackedMetrics(line: TrainingLogLine): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const [key, name] of TRACKED_NAMES) {
    const v = line[key];
    if (typeof v === 'number') metrics[name] = v;
  }
  return metrics;
}

/** Logs the adopted training curves to this trial's tracking run, as training logged them. */
export async function replayTrainingLog(dir: RunDir, run: TrackedRun | undefined): Promise<void> {
  if (!run || !fs.existsSync(dir.file('log.jsonl'))) return;
  for (const text of fs.readFileSync(dir.file('log.jsonl'), 'utf8').split('\n')) {
    if (!text.trim()) continue;
    let line: Partial<TrainingLogLine>;
    try {
      line = JSON.parse(text) as Partial<TrainingLogLine>;
    } catch {
      continue; // a torn last line of a killed writer
    }
    if (line.step === undefined) continue;
    const metrics = trackedMetrics(line as TrainingLogLine);
    if (Object.keys(metrics).length > 0) await run.logMetrics(metrics, { step: line.step });
  }
}
