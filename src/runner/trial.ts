/**
 * One trial, start to finish, in its run directory: data → train (resuming from the last checkpoint) →
 * restore the test split with the EMA weights → metrics.json. Each stage records itself in status.json and
 * the tracker; a trial killed anywhere is picked up by running it again.
 */
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import os from 'node:os';
import { checkDataset, prepareDataset, type DataSourceConfig, type Sequence } from '../../datasets/index.ts';
import { metricsJson } from '../../metrics/index.ts';
import { makeSchedule } from '../diffusion/index.ts';
import { createModel, disposeModel, modelFromCheckpoint, decodeCheckpoint } from '../model/index.ts';
import type { TrackedRun } from '../tracking/index.ts';
import { flattenParams } from '../tracking/index.ts';
import { CheckpointDir, DEFAULT_TRAIN_CONFIG, Trainer, TrainingInterrupted, unwrapCheckpoint, type TrainConfig as LoopConfig } from '../train/index.ts';
import { stopRequested } from './interrupt.ts';
import { UsageError } from '../errors.ts';
import type { Trial, TrialConfig } from '../spec/types.ts';
import { evaluatePairs } from './evaluate.ts';
import { RunDir } from './run-dir.ts';
import { writeJsonAtomicSync } from '../atomic-write.ts';
import { sampledValidator } from './val-sampling.ts';
import { restoreSequences } from './restore.ts';
import { WindowSource } from './data-source.ts';
import type { Progress } from './progress.ts';

export interface TrialContext {
  experiment: string;
  runsDir: string;
  run?: TrackedRun;
  progress: Progress;
  /** Where synthetic datasets are generated (shared by trials with the same options). */
  dataCacheDir?: string;
  weightsDir?: string;
}

/** The datasets source of a data config; a relative `root` is resolved from the working directory. */
export function dataSourceOf(c: TrialConfig['data'], cwd = process.cwd()): DataSourceConfig {
  switch (c.source) {
    case 'synthetic': {
      const s = c.synthetic;
      return {
        kind: 'synthetic',
        options: { sequences: s.trainSequences + s.testSequences, testSequences: s.testSequences, frames: s.frames, width: s.width, height: s.height, seed: s.seed },
      };
    }
    case 'gopro':
    case 'dvd':
    case 'folders': {
      if (!c.root) throw new UsageError(`data.root is required for data.source ${c.source}`);
      if (c.splits.train !== 'train' || c.splits.test !== 'test') {
        throw new UsageError(`data.splits: only the split folders train and test are read so far, got ${JSON.stringify(c.splits)}`);
      }
      const root = path.resolve(cwd, c.root);
      if (c.source === 'gopro') return { kind: 'gopro', root, variant: c.goproVariant };
      if (c.source === 'dvd') return { kind: 'dvd', root };
      return { kind: 'folders', root, blurDir: c.folders.blurDir, sharpDir: c.folders.sharpDir };
    }
  }
}

/** The trainer's settings from a trial config (crop lives in data; the rest keep the loop's defaults). */
export function loopConfig(c: TrialConfig): LoopConfig {
  const t = c.train;
  return {
    ...DEFAULT_TRAIN_CONFIG,
    steps: t.steps,
    batch: t.batch,
    accumulate: t.accumulate,
    crop: c.data.crop,
    lr: t.lr,
    betas: t.betas,
    warmupSteps: t.warmupSteps,
    schedule: t.schedule,
    gradClip: t.gradClip,
    ema: t.ema,
    checkpointEvery: t.checkpointEvery,
    keepLast: t.keepLast,
    validateEvery: t.validateEvery,
    logEvery: Math.max(1, Math.min(100, Math.round(t.steps / 50))),
    seed: t.seed,
  };
}

export function defaultDataCacheDir(): string {
  return process.env.DIVD_DATA_CACHE ?? path.join(os.homedir(), '.cache', 'divd', 'data');
}

async function train(trial: Trial, splits: { train: Sequence[]; test: Sequence[] }, dir: RunDir, ctx: TrialContext): Promise<string> {
  const c = trial.config;
  const cfg = loopConfig(c);
  const model = createModel(c.model, c.train.seed);
  const source = await WindowSource.open(splits.train, {
    frames: c.model.frames,
    crop: c.data.crop,
    batch: c.train.batch,
    padding: c.data.padding,
    augment: c.data.augment,
    seed: c.train.seed,
  });
  // Validation windows: fixed crops of the test split (a held-out set the loss never trains on).
  const valSource = await WindowSource.open(splits.test, { frames: c.model.frames, crop: c.data.crop, batch: 1, padding: c.data.padding, augment: false, seed: 12345 });
  const validation = cfg.validateEvery > 0 ? [await valSource.next(1), await valSource.next(1)] : [];
  const checkpoints = new CheckpointDir(dir.file('checkpoints'), { keepLast: cfg.keepLast, configHash: trial.id });
  const validator = validation.length ? sampledValidator(c.model, c.diffusion, c.sample, validation) : undefined;
  const trainer: Trainer = new Trainer({
    model,
    objective: { schedule: makeSchedule(c.diffusion), prediction: c.diffusion.prediction, residual: c.diffusion.residual },
    config: cfg,
    source,
    validation,
    checkpoints,
    shouldStop: stopRequested,
    hooks: {
      onStep: (l) => {
        dir.appendLog({ step: l.step, loss: l.loss, lr: l.lr, gradNorm: l.gradNorm });
        dir.setStatus({ stage: 'training', step: l.step, steps: cfg.steps });
        void ctx.run?.logMetrics({ loss: l.loss, lr: l.lr, grad_norm: l.gradNorm, steps_per_sec: l.stepsPerSec, images_per_sec: l.imagesPerSec }, { step: l.step });
        ctx.progress.update(l.step, cfg.steps, `loss ${l.loss.toFixed(4)}  ${l.stepsPerSec.toFixed(2)} steps/s`);
      },
      onValidation: (step, valLoss) => {
        const sampled = validator!.run(trainer.emaWeights());
        dir.appendLog({ step, valLoss, valPsnr: sampled.psnr, valSsim: sampled.ssim });
        void ctx.run?.logMetrics({ val_loss: valLoss, val_psnr: sampled.psnr, val_ssim: sampled.ssim }, { step });
      },
      warn: (m) => ctx.progress.note(`warning: ${m}`),
    },
  });
  try {
    const from = trainer.resume();
    if (from > 0) ctx.progress.note(`resuming from the checkpoint of step ${from}`);
    if (from < cfg.steps) await trainer.run();
  } finally {
    trainer.dispose();
    validator?.dispose();
    disposeModel(model);
    tf.dispose(validation.flatMap((b) => [b.sharp, b.blurry]));
  }
  const last = checkpoints.list().at(-1);
  if (!last) throw new Error(`training finished without a checkpoint in ${checkpoints.dir}`);
  return last.file;
}

/**
 * The same check as `divd data check`, before any work: layout problems stop the trial (exit 2, every
 * problem listed); a tree smaller than the published one is allowed but said loudly, since its numbers are
 * not comparable with the leaderboards.
 */
async function checkBenchmark(source: Exclude<DataSourceConfig, { kind: 'synthetic' }>, ctx: TrialContext): Promise<void> {
  const opts =
    source.kind === 'gopro' ? { variant: source.variant } : source.kind === 'folders' ? { blurDir: source.blurDir, sharpDir: source.sharpDir } : {};
  const report = await checkDataset(source.root, source.kind, opts);
  const counts = report.problems.filter((p) => p.code === 'unexpected-count');
  const blocking = report.problems.filter((p) => p.code !== 'unexpected-count');
  if (blocking.length) {
    throw new UsageError(`dataset ${source.root} (${source.kind}) has ${blocking.length} problem(s):\n${blocking.map((p) => `  ${p.message}`).join('\n')}`);
  }
  for (const p of counts) ctx.progress.note(`warning: ${p.message}`);
}

/** Runs (or resumes) one trial; the run directory ends in stage done or failed. */
export async function runTrial(trial: Trial, ctx: TrialContext): Promise<void> {
  const c = trial.config;
  const dir = new RunDir(path.join(ctx.runsDir, ctx.experiment, trial.id));
  writeJsonAtomicSync(dir.file('config.json'), c);
  writeJsonAtomicSync(dir.file('trial.json'), { id: trial.id, label: trial.label, variant: trial.variant, swept: trial.swept, seed: c.train.seed, mlflowRunId: ctx.run?.runId });
  const startedAt = dir.status()?.startedAt ?? new Date().toISOString();
  dir.setStatus({ stage: 'training', startedAt, error: undefined, endedAt: undefined });
  await ctx.run?.logParams(flattenParams(c as unknown as Record<string, unknown>));
  try {
    ctx.progress.stage('data');
    const source = dataSourceOf(c.data);
    if (source.kind !== 'synthetic') await checkBenchmark(source, ctx);
    const prepared = await prepareDataset(source, { cacheDir: ctx.dataCacheDir ?? defaultDataCacheDir() });
    const splits = prepared.splits;
    if (splits.train.length === 0) throw new UsageError(`the training split of data.source ${c.data.source} is empty`);
    if (splits.test.length === 0) throw new UsageError(`the test split of data.source ${c.data.source} is empty`);

    ctx.progress.stage('train');
    const ckptFile = await train(trial, splits, dir, ctx);

    dir.setStatus({ stage: 'sampling' });
    ctx.progress.stage('sample');
    const ck = decodeCheckpoint(unwrapCheckpoint(fs.readFileSync(ckptFile), ckptFile).payload, ckptFile);
    const model = modelFromCheckpoint(ck, ckptFile, 'ema');
    try {
      fs.rmSync(dir.file('samples'), { recursive: true, force: true });
      await restoreSequences(model, splits.test, {
        diffusion: c.diffusion,
        sample: c.sample,
        padding: c.data.padding,
        samplesDir: dir.file('samples'),
        referenceDir: dir.dir,
        onWindow: (done, total) => ctx.progress.update(done, total, 'windows'),
      });
    } finally {
      disposeModel(model);
    }

    dir.setStatus({ stage: 'evaluating' });
    ctx.progress.stage('eval');
    const pairs = splits.test.flatMap((s) =>
      s.frames.map((f) => {
        const name = f.name.replace(/\.[^.]+$/, '');
        return { key: `${s.name}/${name}`, pred: dir.file(path.join('samples', s.name, `${name}.png`)), gt: f.sharp };
      }),
    );
    const report = await evaluatePairs(pairs, c.eval, { weightsDir: ctx.weightsDir, onFrame: (d, t) => ctx.progress.update(d, t, 'frames') });
    writeJsonAtomicSync(dir.file('metrics.json'), metricsJson(report));
    const finalMetrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(report.metrics)) {
      if (typeof v === 'number') finalMetrics[`test_${k}`] = v;
      else (finalMetrics[`test_${k}`] = v.mean), (finalMetrics[`test_${k}_std`] = v.std);
    }
    await ctx.run?.logMetrics(finalMetrics, { step: c.train.steps });
    await ctx.run?.logArtifact(dir.file('metrics.json'));
    await ctx.run?.logArtifact(dir.file('config.json'));
    // The restored frames of the first test sequence (a whole test set would make the store huge).
    await ctx.run?.logArtifact(dir.file(path.join('samples', splits.test[0]!.name)), `samples/${splits.test[0]!.name}`);
    for (const [metric, why] of Object.entries(report.unavailable)) ctx.progress.note(`${metric} not computed: ${why.split('\n')[0]}`);
    dir.setStatus({ stage: 'done', endedAt: new Date().toISOString() });
    await ctx.run?.end('FINISHED');
  } catch (e) {
    const interrupted = e instanceof TrainingInterrupted;
    dir.setStatus({ stage: 'failed', error: (e as Error).message, endedAt: new Date().toISOString() });
    await ctx.run?.end(interrupted ? 'KILLED' : 'FAILED');
    throw e;
  }
}
