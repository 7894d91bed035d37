/**
 * The models the training benchmark times: the reference UNet of wasm-perf.md as divd's config expresses it,
 * and the smoke spec's model at its crop and batch. Both sides (divd and the PyTorch port) get the same case.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel, disposeModel, resolveModelConfig, summarizeModel, type ModelConfig } from '../src/model/index.ts';
import { DEFAULT_DIFFUSION_CONFIG, type DiffusionConfig, type SampleConfig } from '../src/diffusion/index.ts';
import { loadSpec } from '../src/spec/index.ts';

export type CaseName = 'reference' | 'smoke';
export const CASE_NAMES: readonly CaseName[] = ['reference', 'smoke'];

export interface TrainCase {
  name: CaseName;
  about: string;
  model: ModelConfig;
  /** Windows of F frames per step. */
  sequences: number;
  crop: number;
  diffusion: DiffusionConfig;
  /** DDIM sampling timed after the steps (frames/s), or null. */
  sample: SampleConfig | null;
  lr: number;
  gradClip: number;
  parameters: number;
  /** FLOPs of one training step and one sampling step (src/model's count: convs, dense, attention products). */
  trainStepFlops: number;
  samplingStepFlops: number;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function withCounts(c: Omit<TrainCase, 'parameters' | 'trainStepFlops' | 'samplingStepFlops'>): TrainCase {
  const model = createModel(c.model, 0);
  try {
    const s = summarizeModel(model, { height: c.crop, width: c.crop, sequences: c.sequences });
    return { ...c, parameters: s.parameters, trainStepFlops: s.trainStepFlops, samplingStepFlops: s.samplingStepFlops };
  } finally {
    disposeModel(model);
  }
}

/**
 * wasm-perf.md's UNet: base 32, mults [1,2,2], 1 ResBlock per level, GroupNorm(32), 4-frame windows of 8x8 with
 * heads of 32 channels, 2 sequences x 4 frames of 64x64, ε-prediction MSE. divd's DDPM layout puts attention after
 * every ResBlock (also at level 0) and has resBlocks+1 decoder blocks per level, so it is larger than the
 * prototype's 878,537 parameters / 41.4 GFLOP per step; both sides of the benchmark run this same layout.
 */
function referenceCase(): TrainCase {
  return withCounts({
    name: 'reference',
    about: 'wasm-perf.md UNet (base 32, [1,2,2], M=8), 2x4 frames of 64x64',
    model: resolveModelConfig({ frames: 4, baseChannels: 32, channelMults: [1, 2, 2], resBlocks: 1, windows: [8, 8, 8], headChannels: 32, groups: 32 }),
    sequences: 2,
    crop: 64,
    diffusion: { ...DEFAULT_DIFFUSION_CONFIG, prediction: 'eps' },
    sample: null,
    lr: 1e-4,
    gradClip: 1,
  });
}

/** experiments/smoke.yaml's first trial: its model, crop, batch, objective and DDIM settings. */
function smokeCase(): TrainCase {
  const file = path.join(repoRoot, 'experiments', 'smoke.yaml');
  const trial = loadSpec(file).trials[0];
  if (!trial) throw new Error(`${file} has no trial`);
  const c = trial.config;
  return withCounts({
    name: 'smoke',
    about: `experiments/smoke.yaml model, ${c.train.batch}x${c.model.frames} frames of ${c.data.crop}x${c.data.crop}`,
    model: c.model,
    sequences: c.train.batch,
    crop: c.data.crop,
    diffusion: c.diffusion,
    sample: c.sample,
    lr: c.train.lr,
    gradClip: c.train.gradClip,
  });
}

export function trainCase(name: CaseName): TrainCase {
  return name === 'reference' ? referenceCase() : smokeCase();
}
