/**
 * How much work a trial is, before running it: training steps and their FLOPs (the model summary at the
 * trial's crop and batch), sampling forward passes (test windows of F frames — one per F frames in `blocks`,
 * one per frame in `centre` sample.window mode — × sampler steps × tiles) and
 * their FLOPs — and how long that takes, from a step rate either measured here (`measureStepSeconds`:
 * a few training steps on the current backend) or logged by trials that already ran (`loggedStepRates`).
 * A rate for another model or crop is carried over in proportion to FLOPs, and the estimate says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { imageSize, openDataset, restoreWindowCount } from '../../datasets/index.ts';
import { canonicalJson } from '../spec/index.ts';
import type { TrialConfig } from '../spec/types.ts';
import { createModel, disposeModel, summarizeModel, type DivdModel } from '../model/index.ts';
import { makeSchedule } from '../diffusion/index.ts';
import { Rng } from '../nn/index.ts';
import { lossAndGrads } from '../train/index.ts';
import { dataSourceOf } from './trial-config.ts';
import { tileStarts } from './tiles.ts';
import { readJson } from './run-dir.ts';

export interface TestSplitSize {
  sequences: number[];
  width: number;
  height: number;
}

export interface TrialWork {
  trainSteps: number;
  /** One optimiser step (batch × accumulate windows), forward + backward. */
  trainStepFlops: number;
  /** Null when the test split cannot be read here (e.g. the dataset is on another machine). */
  testFrames: number | null;
  testWindows: number | null;
  samplerSteps: number;
  tilesPerWindow: number | null;
  forwardPasses: number | null;
  forwardPassFlops: number | null;
  /** Why test counts are missing. */
  note?: string;
}

export interface StepRate {
  secondsPerStep: number;
  trainStepFlops: number;
  /** The model/crop/batch the rate belongs to (shape key). */
  key: string;
  /** Where it comes from: a trial id (log) or `measured`. */
  source: string;
}

export interface TimeEstimate {
  basis: 'measured' | 'logged' | 'logged, FLOP-scaled';
  source: string;
  trainSeconds: number;
  /** Null when the test split size is unknown. */
  sampleSeconds: number | null;
}

/** What determines the time of a training step: the model, the crop and the windows per step. */
export function shapeKey(c: TrialConfig): string {
  return canonicalJson({ model: c.model, crop: c.data.crop, batch: c.train.batch, accumulate: c.train.accumulate });
}

/** Sequence lengths and frame size of the test split: from the config for synthetic data, else a listing. */
export async function testSplitSize(c: TrialConfig): Promise<TestSplitSize> {
  const d = c.data;
  if (d.source === 'synthetic') return { sequences: Array(d.synthetic.testSequences).fill(d.synthetic.frames) as number[], width: d.synthetic.width, height: d.synthetic.height };
  const source = dataSourceOf(d);
  if (source.kind === 'synthetic') throw new Error('unreachable');
  const { test } = openDataset(source);
  const first = test[0]?.frames[0];
  if (!first) throw new Error(`the test split of ${source.root} is empty`);
  return { sequences: test.map((s) => s.frames.length), ...(await imageSize(first.blurry)) };
}

/** Counts and FLOPs of one trial; `model` is a model of the trial's config (only its shapes are used). */
export function trialWork(c: TrialConfig, model: DivdModel, split: TestSplitSize | Error): TrialWork {
  const F = c.model.frames;
  const k = 2 ** (c.model.channelMults.length - 1);
  const trainStepFlops = summarizeModel(model, { height: c.data.crop, width: c.data.crop, sequences: c.train.batch }).trainStepFlops * c.train.accumulate;
  const samplerSteps = c.sample.sampler === 'ddim' ? c.sample.steps : c.diffusion.timesteps;
  const base = { trainSteps: c.train.steps, trainStepFlops, samplerSteps };
  if (split instanceof Error) {
    return { ...base, testFrames: null, testWindows: null, tilesPerWindow: null, forwardPasses: null, forwardPassFlops: null, note: split.message.split('\n')[0] };
  }
  // As restore.ts does: frames padded to multiples of k, tiled only when larger than the tile.
  const hp = Math.ceil(split.height / k) * k;
  const wp = Math.ceil(split.width / k) * k;
  const s = c.sample;
  const tiled = s.tile > 0 && (hp > s.tile || wp > s.tile);
  const size = Math.max(k, Math.floor(s.tile / k) * k);
  const [th, tw] = tiled ? [Math.min(size, hp), Math.min(size, wp)] : [hp, wp];
  const tiles = tiled ? tileStarts(hp, th, s.tileOverlap, k).length * tileStarts(wp, tw, s.tileOverlap, k).length : 1;
  const testWindows = split.sequences.reduce((a, n) => a + restoreWindowCount(n, F, s.window), 0);
  return {
    ...base,
    testFrames: split.sequences.reduce((a, n) => a + n, 0),
    testWindows,
    tilesPerWindow: tiles,
    forwardPasses: testWindows * samplerSteps * tiles,
    forwardPassFlops: summarizeModel(model, { height: th, width: tw, sequences: 1 }).samplingStepFlops,
  };
}

/** Median of the step rates a trial's log.jsonl recorded (or of its step timestamps in older logs). */
function loggedSecondsPerStep(logFile: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return null;
  }
  const records = text.split('\n').filter(Boolean).map((l) => {
    try {
      return JSON.parse(l) as { step?: number; loss?: number; stepsPerSec?: number; time?: number };
    } catch {
      return {};
    }
  });
  const train = records.filter((r) => r.loss !== undefined && typeof r.step === 'number');
  let rates = train.map((r) => r.stepsPerSec).filter((x): x is number => typeof x === 'number' && x > 0);
  if (rates.length === 0) {
    // Consecutive records of one run (a restart logs a smaller step and is skipped).
    rates = train.slice(1).flatMap((r, i) => {
      const p = train[i]!;
      const dt = (r.time ?? 0) - (p.time ?? 0);
      return r.step! > p.step! && dt > 0 ? [(r.step! - p.step!) / dt] : [];
    });
  }
  if (rates.length === 0) return null;
  rates.sort((a, b) => a - b);
  return 1 / rates[Math.floor(rates.length / 2)]!;
}

/** Step rates logged by the run directories under `experimentDir` (any trial that trained at all). */
export function loggedStepRates(experimentDir: string): { id: string; config: TrialConfig; secondsPerStep: number }[] {
  if (!fs.existsSync(experimentDir)) return [];
  const out: { id: string; config: TrialConfig; secondsPerStep: number }[] = [];
  for (const id of fs.readdirSync(experimentDir).sort()) {
    const dir = path.join(experimentDir, id);
    let config: TrialConfig | undefined;
    try {
      config = readJson<TrialConfig>(path.join(dir, 'config.json'));
    } catch {
      continue;
    }
    const secondsPerStep = config ? loggedSecondsPerStep(path.join(dir, 'log.jsonl')) : null;
    if (config && secondsPerStep !== null) out.push({ id, config, secondsPerStep });
  }
  return out;
}

/** Seconds per optimiser step of this config on the current backend: one warm-up step, then `steps` timed. */
export function measureStepSeconds(c: TrialConfig, steps = 2): number {
  const model = createModel(c.model, 0);
  const n = c.train.batch * c.model.frames;
  const objective = { schedule: makeSchedule(c.diffusion), prediction: c.diffusion.prediction };
  const rng = new Rng(0);
  const batch = tf.tidy(() => ({ sharp: tf.randomUniform([n, c.data.crop, c.data.crop, 3], -1, 1, 'float32', 1) as tf.Tensor4D, blurry: tf.randomUniform([n, c.data.crop, c.data.crop, 3], -1, 1, 'float32', 2) as tf.Tensor4D }));
  try {
    const step = () => tf.dispose([...lossAndGrads(model, objective, batch, rng).grads.values()]);
    step();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) step();
    return ((performance.now() - t0) / 1000 / steps) * c.train.accumulate;
  } finally {
    tf.dispose([batch.sharp, batch.blurry]);
    disposeModel(model);
  }
}

/**
 * Time of `work` from the best rate available: one for the same shapes (measured or logged), else the
 * first logged one scaled by FLOPs. Sampling is scaled by FLOPs from the training step (3 forwards).
 */
export function estimateTime(c: TrialConfig, work: TrialWork, stepsLeft: number, rates: readonly StepRate[]): TimeEstimate | null {
  const same = rates.find((r) => r.key === shapeKey(c));
  const rate = same ?? rates[0];
  if (!rate) return null;
  const perFlop = rate.secondsPerStep / rate.trainStepFlops;
  const secondsPerStep = same ? same.secondsPerStep : perFlop * work.trainStepFlops;
  const measured = rate.source === 'measured';
  return {
    basis: measured ? 'measured' : same ? 'logged' : 'logged, FLOP-scaled',
    source: measured ? 'training steps timed on this machine' : `step rate logged by trial ${rate.source}`,
    trainSeconds: stepsLeft * secondsPerStep,
    sampleSeconds: work.forwardPasses === null || work.forwardPassFlops === null ? null : work.forwardPasses * work.forwardPassFlops * perFlop,
  };
}
