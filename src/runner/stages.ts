/**
 * The stages of one trial, each a function over its run directory: data (check and open the splits) →
 * train (resuming from the last checkpoint) → sample (restore the test split with the EMA weights of a
 * checkpoint) → eval (score the samples against ground truth into metrics.json). `runTrial` calls them in
 * order; `divd train|sample|eval --trial` call one each, so there is a single code path.
 * Each stage records itself in status.json and the tracker run of the context.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkDataset, prepareDataset, type DataSourceConfig, type Sequence } from '../../datasets/index.ts';
import { metricsJson, type MetricsReport } from '../../metrics/index.ts';
import { makeSchedule, type SampleConfig } from '../diffusion/index.ts';
import { createModel, disposeModel } from '../model/index.ts';
import { completeProbe, writeProbe, type ContextProbe } from './context-probe.ts';
import type { TrackedRun } from '../tracking/index.ts';
import { CheckpointDir, Trainer } from '../train/index.ts';
import { UsageError } from '../errors.ts';
import type { Trial, TrialConfig } from '../spec/types.ts';
import { writeJsonAtomicSync } from '../atomic-write.ts';
import { stopRequested } from './interrupt.ts';
import { evaluatePairs, type FramePairFiles } from './evaluate.ts';
import type { RunDir } from './run-dir.ts';
import { sampledValidator } from './val-sampling.ts';
import { restoreSequences } from './restore.ts';
import { inputTestLoss, testLoss, type TestLoss } from './test-loss.ts';
import { adoptTraining, replayTrainingLog, trackedMetrics, twinToAdopt, type TrainingLogLine } from './reuse.ts';
import { WindowSource } from './data-source.ts';
import { dataSourceOf, defaultDataCacheDir, loopConfig } from './trial-config.ts';
import { loadEmaModel, selectCheckpoint, type CheckpointChoice } from './checkpoint-select.ts';
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

export interface Splits {
  train: Sequence[];
  test: Sequence[];
}

/**
 * The same check as `divd data check`, before any work: layout problems stop the trial (exit 2, every
 * problem listed); a tree smaller than the published one is allowed but said loudly, since its numbers are
 * not comparable with the leaderboards.
 */
async function checkBenchmark(source: Exclude<DataSourceConfig, { kind: 'synthetic' }>, progress: Progress): Promise<void> {
  const opts =
    source.kind === 'gopro' ? { variant: source.variant } : source.kind === 'folders' ? { blurDir: source.blurDir, sharpDir: source.sharpDir } : {};
  const report = await checkDataset(source.root, source.kind, opts);
  const counts = report.problems.filter((p) => p.code === 'unexpected-count');
  const blocking = report.problems.filter((p) => p.code !== 'unexpected-count');
  if (blocking.length) {
    throw new UsageError(`dataset ${source.root} (${source.kind}) has ${blocking.length} problem(s):\n${blocking.map((p) => `  ${p.message}`).join('\n')}`);
  }
  for (const p of counts) progress.note(`warning: ${p.message}`);
}

/** Data stage: checks a benchmark tree (or generates the synthetic set) and opens both splits. */
export async function dataStage(c: TrialConfig, ctx: Pick<TrialContext, 'progress' | 'dataCacheDir'>): Promise<Splits> {
  ctx.progress.stage('data');
  const source = dataSourceOf(c.data);
  if (source.kind !== 'synthetic') await checkBenchmark(source, ctx.progress);
  const { splits } = await prepareDataset(source, { cacheDir: ctx.dataCacheDir ?? defaultDataCacheDir() });
  if (splits.train.length === 0) throw new UsageError(`the training split of data.source ${c.data.source} is empty`);
  if (splits.test.length === 0) throw new UsageError(`the test split of data.source ${c.data.source} is empty`);
  return { train: splits.train, test: splits.test };
}

/** Train stage: trains (or resumes) to `train.steps`; returns the last checkpoint file. */
export async function trainStage(trial: Trial, splits: Splits, dir: RunDir, ctx: TrialContext): Promise<string> {
  const c = trial.config;
  const cfg = loopConfig(c);
  dir.setStatus({ stage: 'training', steps: cfg.steps });
  ctx.progress.stage('train');
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
  const twin = twinToAdopt(ctx.runsDir, ctx.experiment, trial.id, cfg.steps, dir.file('checkpoints'));
  if (twin) {
    adoptTraining(twin, dir);
    await replayTrainingLog(dir, ctx.run);
    ctx.progress.note(`training taken from ${twin} (the same config, trained to step ${cfg.steps}); DIVD_REUSE_TRAINING=0 retrains`);
  }
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
        // stepsPerSec is what `divd plan` estimates the time of similar trials from.
        const line: TrainingLogLine = { step: l.step, loss: l.loss, lr: l.lr, gradNorm: l.gradNorm, stepsPerSec: l.stepsPerSec };
        dir.appendLog(line);
        dir.setStatus({ stage: 'training', step: l.step, steps: cfg.steps });
        void ctx.run?.logMetrics({ ...trackedMetrics(line), images_per_sec: l.imagesPerSec }, { step: l.step });
        ctx.progress.update(l.step, cfg.steps, `loss ${l.loss.toFixed(4)}  ${l.stepsPerSec.toFixed(2)} steps/s`);
      },
      onValidation: (step, valLoss) => {
        const sampled = validator!.run(trainer.emaWeights());
        const line: TrainingLogLine = { step, valLoss, valPsnr: sampled.psnr, valSsim: sampled.ssim };
        dir.appendLog(line);
        void ctx.run?.logMetrics(trackedMetrics(line), { step });
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

export interface SampleStageOptions {
  /** Which checkpoint's EMA weights: the last (default), the best by validation loss, or a step. */
  checkpoint?: CheckpointChoice;
  /** Overrides of the trial's sample config (sampler, steps, seed, tiles). */
  sample?: Partial<SampleConfig>;
  /** Write frames here instead of the run directory's samples/ (status and tracking are left alone). */
  outDir?: string;
}

export interface SampleResult {
  samplesDir: string;
  checkpoint: { step: number; file: string };
  sample: SampleConfig;
  frames: number;
}

/** Sample stage: restores every test sequence into samples/<seq>/<frame>.png (or `outDir`). */
export async function sampleStage(trial: Trial, test: readonly Sequence[], dir: RunDir, ctx: TrialContext, o: SampleStageOptions = {}): Promise<SampleResult> {
  const c = trial.config;
  const entry = selectCheckpoint(dir, trial.id, o.checkpoint ?? 'last');
  const sample: SampleConfig = { ...c.sample, ...o.sample };
  const toRunDir = o.outDir === undefined;
  const samplesDir = o.outDir ?? dir.file('samples');
  if (toRunDir) dir.setStatus({ stage: 'sampling' });
  ctx.progress.stage('sample');
  ctx.progress.note(`EMA weights of the checkpoint of step ${entry.step} (${path.relative(dir.dir, entry.file)}); ${sample.sampler} ${sample.sampler === 'ddim' ? `${sample.steps} steps` : `${c.diffusion.timesteps} steps`}`);
  const { model } = loadEmaModel(entry.file);
  let frames: number;
  try {
    fs.rmSync(samplesDir, { recursive: true, force: true });
    frames = await restoreSequences(model, test, {
      diffusion: c.diffusion,
      sample,
      padding: c.data.padding,
      samplesDir,
      ...(toRunDir ? { referenceDir: dir.dir } : {}),
      onWindow: (done, total) => ctx.progress.update(done, total, 'windows'),
    });
  } finally {
    disposeModel(model);
  }
  const result = { samplesDir, checkpoint: { step: entry.step, file: entry.file }, sample, frames };
  // What produced samples/: eval and the reader of a run directory can tell overridden sampling apart.
  if (toRunDir) writeJsonAtomicSync(dir.file('samples.json'), { ...result, samplesDir: 'samples', checkpoint: { step: entry.step, file: path.relative(dir.dir, entry.file) }, time: new Date().toISOString() });
  return result;
}

/** (prediction, ground truth) files of every test frame: samples/<seq>/<frame>.png against the sharp frame. */
/** A frame's name without its extension: the stem its sample PNG and its metrics key carry. */
const frameStem = (name: string) => name.replace(/\.[^.]+$/, '');

export function samplePairs(test: readonly Sequence[], samplesDir: string): FramePairFiles[] {
  return test.flatMap((s) =>
    s.frames.map((f) => {
      const name = frameStem(f.name);
      return { key: `${s.name}/${name}`, pred: path.join(samplesDir, s.name, `${name}.png`), gt: f.sharp };
    }),
  );
}

/** The full-reference metrics a baseline row needs without any weights: what "no restoration" scores. */
const INPUT_METRICS = ['psnr', 'ssim'] as const;

/**
 * PSNR/SSIM of the blurry test frames against the sharp ones, scored exactly as the samples are (border crop,
 * Y channel, SSIM variant): the "blurry input" row of the report, without which a restoration's number says
 * little on a new dataset. Undefined when the eval config asks for neither metric.
 */
export async function inputBaseline(test: readonly Sequence[], cfg: TrialConfig['eval']): Promise<Record<string, number> | undefined> {
  const metrics = cfg.metrics.filter((m): m is (typeof INPUT_METRICS)[number] => (INPUT_METRICS as readonly string[]).includes(m));
  if (metrics.length === 0) return undefined;
  const pairs = test.flatMap((s) => s.frames.map((f) => ({ key: `${s.name}/${frameStem(f.name)}`, pred: f.blurry, gt: f.sharp })));
  const scored = await evaluatePairs(pairs, { ...cfg, metrics });
  const out: Record<string, number> = {};
  for (const m of metrics) {
    const v = scored.metrics[m];
    if (typeof v === 'number') out[m] = v;
  }
  return out;
}

/** The checkpoint file samples/ was made with (samples.json), else the trial's last checkpoint. */
function sampledCheckpoint(trial: Trial, dir: RunDir): string {
  try {
    const recorded = JSON.parse(fs.readFileSync(dir.file('samples.json'), 'utf8')) as { checkpoint?: { file?: unknown } };
    const file = recorded.checkpoint?.file;
    if (typeof file === 'string' && fs.existsSync(path.resolve(dir.dir, file))) return path.resolve(dir.dir, file);
  } catch {
    // No or unreadable samples.json (samples written by hand or by an older divd): fall back to the last.
  }
  return selectCheckpoint(dir, trial.id, 'last').file;
}

export interface HeldOutLoss extends TestLoss {
  /** Training step of the checkpoint whose EMA weights were scored. */
  checkpointStep: number;
}

/**
 * The eval stage's model-based metric: the held-out diffusion loss of the sampled checkpoint's EMA weights and,
 * with eval.contextProbe, the context probe beside it (same model load).
 */
async function heldOutLoss(trial: Trial, test: readonly Sequence[], dir: RunDir, ctx: TrialContext): Promise<{ loss: HeldOutLoss; probe?: ContextProbe }> {
  const c = trial.config;
  const { model, step } = loadEmaModel(sampledCheckpoint(trial, dir));
  try {
    ctx.progress.stage('test loss');
    const r = await testLoss(model, test, { diffusion: c.diffusion, padding: c.data.padding, onWindow: (d, t) => ctx.progress.update(d, t, 'windows') });
    const probe = c.eval.contextProbe === true // absent in older config.json
      ? await completeProbe(model, test, c, r, { runDir: dir.dir, label: trial.label, checkpointStep: step, progress: ctx.progress })
      : undefined;
    return { loss: { ...r, checkpointStep: step }, ...(probe ? { probe } : {}) };
  } finally {
    disposeModel(model);
  }
}

/** Throws (exit 2) listing the test frames that have no sample, before any scoring starts. */
export function requireSamples(pairs: readonly FramePairFiles[], samplesDir: string): void {
  const missing = pairs.filter((p) => !fs.existsSync(p.pred));
  if (missing.length === 0) return;
  const shown = missing.slice(0, 5).map((p) => `  ${p.pred}`).join('\n');
  throw new UsageError(
    `${missing.length} of ${pairs.length} test frame(s) have no sample in ${samplesDir} ` +
      `(run \`divd sample --trial ${path.dirname(samplesDir)}\` first):\n${shown}${missing.length > 5 ? '\n  …' : ''}`,
  );
}

/** Eval stage: scores the samples against ground truth into metrics.json and logs the test metrics. */
export async function evalStage(trial: Trial, test: readonly Sequence[], dir: RunDir, ctx: TrialContext): Promise<MetricsReport> {
  const c = trial.config;
  const samplesDir = dir.file('samples');
  const pairs = samplePairs(test, samplesDir);
  requireSamples(pairs, samplesDir);
  dir.setStatus({ stage: 'evaluating' });
  ctx.progress.stage('eval');
  const report = await evaluatePairs(pairs, c.eval, { weightsDir: ctx.weightsDir, onFrame: (d, t) => ctx.progress.update(d, t, 'frames') });
  const input = await inputBaseline(test, c.eval);
  let loss: HeldOutLoss | undefined;
  let probe: ContextProbe | undefined;
  const inputLoss = c.eval.testLoss ? await inputTestLoss(test, c.diffusion) : undefined;
  const unavailable: Record<string, string> = {};
  if (c.eval.testLoss) {
    try {
      ({ loss, probe } = await heldOutLoss(trial, test, dir, ctx));
    } catch (e) {
      // No checkpoint left (deleted to save space): the image metrics still stand, as for missing weights.
      if (!(e instanceof UsageError)) throw e;
      unavailable.loss = e.message;
    }
  }
  const json = metricsJson(report);
  writeJsonAtomicSync(dir.file('metrics.json'), {
    ...json,
    ...(loss ? { metrics: { ...(json.metrics as Record<string, unknown>), loss: loss.loss }, testLoss: loss } : {}),
    ...(unavailable.loss ? { unavailable: { ...(json.unavailable as Record<string, unknown>), ...unavailable } } : {}),
    ...(input || inputLoss !== undefined ? { input: { ...input, ...(inputLoss !== undefined ? { loss: inputLoss } : {}) } } : {}),
  });
  // After metrics.json: the report reads the probe as extra columns of a finished trial's metrics.
  if (probe) writeProbe(probe);
  if (unavailable.loss) ctx.progress.note(`test loss not computed: ${unavailable.loss}`);
  const finalMetrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(report.metrics)) {
    if (typeof v === 'number') finalMetrics[`test_${k}`] = v;
    else (finalMetrics[`test_${k}`] = v.mean), (finalMetrics[`test_${k}_std`] = v.std);
  }
  for (const [k, v] of Object.entries(input ?? {})) finalMetrics[`test_input_${k}`] = v;
  if (inputLoss !== undefined) finalMetrics['test_input_loss'] = inputLoss;
  if (loss) finalMetrics['test_loss'] = loss.loss;
  if (probe) {
    finalMetrics['test_loss_alone'] = probe.isolated.loss;
    finalMetrics['test_context_gain'] = probe.relativeGain;
  }
  await ctx.run?.logMetrics(finalMetrics, { step: c.train.steps });
  await ctx.run?.logArtifact(dir.file('metrics.json'));
  await ctx.run?.logArtifact(dir.file('config.json'));
  // The restored frames of the first test sequence (a whole test set would make the store huge).
  await ctx.run?.logArtifact(path.join(samplesDir, test[0]!.name), `samples/${test[0]!.name}`);
  for (const [metric, why] of Object.entries(report.unavailable)) ctx.progress.note(`${metric} not computed: ${why.split('\n')[0]}`);
  return report;
}
