/**
 * One stage of one trial from its run directory alone (`divd train|sample|eval --trial <run dir>`):
 * config.json is the resolved trial config, trial.json its id and label, so no spec is needed. Status and
 * tracking are kept as `runTrial` keeps them: the stage is recorded while it runs, `trained` / `sampled`
 * / `done` after it, `failed` with the error when it throws; the tracker reattaches to the trial's run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { TRIAL_SCHEMA, trialId } from '../spec/index.ts';
import type { Trial, TrialConfig } from '../spec/types.ts';
import { createTracker, type TrackedRun } from '../tracking/index.ts';
import { TrainingInterrupted } from '../train/index.ts';
import { UsageError } from '../errors.ts';
import { readJson, RunDir } from './run-dir.ts';
import { logTrialParams, startTrialRun } from './trial-run.ts';
import { createProgress } from './progress.ts';
import { dataStage, evalStage, requireSamples, samplePairs, sampleStage, trainStage, type SampleResult, type SampleStageOptions, type TrialContext } from './stages.ts';
import { selectCheckpoint } from './checkpoint-select.ts';
import { lockTrialDir } from './trial.ts';
import type { MetricsReport } from '../../metrics/index.ts';

export type StageName = 'train' | 'sample' | 'eval';

export interface OpenedTrial {
  trial: Trial;
  dir: RunDir;
  /** runs/<experiment>/<id>: the experiment is the parent folder's name. */
  experiment: string;
  runsDir: string;
}

interface TrialJson {
  id?: unknown;
  label?: unknown;
  variant?: unknown;
  swept?: unknown;
}

/** Reads a run directory's config.json and trial.json; exit 2 naming the path when it is not one. */
export function openTrialDir(runDir: string): OpenedTrial {
  const abs = path.resolve(runDir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw new UsageError(`--trial ${runDir}: not a directory (expected a run directory, runs/<experiment>/<trial id>/)`);
  const configFile = path.join(abs, 'config.json');
  const trialFile = path.join(abs, 'trial.json');
  for (const f of [configFile, trialFile]) {
    if (!fs.existsSync(f)) throw new UsageError(`--trial ${runDir}: not a run directory (no ${path.basename(f)}; run directories are made by divd run or divd trial)`);
  }
  let config: TrialConfig | undefined;
  let meta: TrialJson | undefined;
  try {
    config = readJson<TrialConfig>(configFile);
    meta = readJson<TrialJson>(trialFile);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const validate = new Ajv({ allErrors: true, strict: false }).compile(TRIAL_SCHEMA);
  if (!validate(config)) {
    const errors = (validate.errors ?? []).slice(0, 5).map((e) => `  ${e.instancePath || '/'} ${e.message ?? ''}`).join('\n');
    throw new UsageError(`${configFile}: not a valid trial config:\n${errors}`);
  }
  if (typeof meta?.id !== 'string') throw new UsageError(`${trialFile}: expected {"id": "<trial id>", "label": …}`);
  const id = trialId(config!);
  if (id !== meta.id) throw new UsageError(`${configFile} hashes to trial id ${id}, but ${trialFile} says ${meta.id}: config.json was edited; restore it or start a new trial`);
  const trial: Trial = {
    id,
    label: typeof meta.label === 'string' ? meta.label : id,
    variant: typeof meta.variant === 'string' ? meta.variant : null,
    swept: typeof meta.swept === 'object' && meta.swept !== null ? (meta.swept as Record<string, unknown>) : {},
    config: config!,
  };
  return { trial, dir: new RunDir(abs), experiment: path.basename(path.dirname(abs)), runsDir: path.dirname(path.dirname(abs)) };
}

export interface StageOptions {
  quiet?: boolean;
  dataCacheDir?: string;
  weightsDir?: string;
  /** sample only. */
  sample?: SampleStageOptions;
}

export type StageResult =
  | { stage: 'train'; runDir: string; checkpoint: string; status: string }
  | { stage: 'sample'; runDir: string; status: string; samples: SampleResult }
  | { stage: 'eval'; runDir: string; status: string; metrics: MetricsReport };

const AFTER = { train: 'trained', sample: 'sampled', eval: 'done' } as const;

/** Runs one stage of the trial in `runDir`. */
export async function runTrialStage(runDir: string, stage: StageName, o: StageOptions = {}): Promise<StageResult> {
  const opened = openTrialDir(runDir);
  const exporting = stage === 'sample' && o.sample?.outDir !== undefined;
  // Exporting samples elsewhere only reads the run directory; every other stage writes it.
  if (exporting) return runStageUnlocked(opened, stage, o, exporting);
  const release = await lockTrialDir(opened.dir.dir, opened.trial);
  try {
    return await runStageUnlocked(opened, stage, o, exporting);
  } finally {
    release();
  }
}

async function runStageUnlocked(opened: OpenedTrial, stage: StageName, o: StageOptions, exporting: boolean): Promise<StageResult> {
  const { trial, dir, experiment, runsDir } = opened;
  // Checks that need no data, before anything is touched: a missing checkpoint is a usage error, not a failed trial.
  if (stage === 'sample') selectCheckpoint(dir, trial.id, o.sample?.checkpoint ?? 'last');
  const progress = createProgress(`${trial.label} ${trial.id}`, { quiet: o.quiet });
  const ctxBase = { experiment, runsDir, progress, dataCacheDir: o.dataCacheDir, weightsDir: o.weightsDir };
  const splits = await dataStage(trial.config, ctxBase);
  if (stage === 'eval') requireSamples(samplePairs(splits.test, dir.file('samples')), dir.file('samples'));

  const t = trial.config.tracking;
  const tracker = exporting ? undefined : createTracker({ uri: t.uri || undefined, experiment: t.experiment || experiment });
  let run: TrackedRun | undefined;
  try {
    run = tracker && (await startTrialRun(tracker, trial, dir.dir));
    const ctx: TrialContext = { ...ctxBase, run };
    if (!exporting) {
      const prev = dir.status();
      dir.setStatus({ stage: prev?.stage ?? 'pending', startedAt: prev?.startedAt ?? new Date().toISOString(), error: undefined, endedAt: undefined });
      if (!run?.resumed) await logTrialParams(run, trial.config);
    }
    let result: StageResult;
    try {
      if (stage === 'train') {
        const checkpoint = await trainStage(trial, splits, dir, ctx);
        result = { stage, runDir: dir.dir, checkpoint, status: AFTER.train };
      } else if (stage === 'sample') {
        const samples = await sampleStage(trial, splits.test, dir, ctx, o.sample);
        result = { stage, runDir: dir.dir, samples, status: exporting ? (dir.status()?.stage ?? 'pending') : AFTER.sample };
      } else {
        const metrics = await evalStage(trial, splits.test, dir, ctx);
        result = { stage, runDir: dir.dir, metrics, status: AFTER.eval };
      }
    } catch (e) {
      if (!exporting) {
        dir.setStatus({ stage: 'failed', error: (e as Error).message, endedAt: new Date().toISOString() });
        await run?.end(e instanceof TrainingInterrupted ? 'KILLED' : 'FAILED');
      }
      throw e;
    }
    if (!exporting) {
      dir.setStatus({ stage: AFTER[stage], ...(stage === 'eval' ? { endedAt: new Date().toISOString() } : {}) });
      await run?.end('FINISHED');
    }
    progress.done();
    return result;
  } finally {
    await tracker?.close();
  }
}
