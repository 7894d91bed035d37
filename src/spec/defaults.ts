/**
 * Default values of every trial config field. Model, diffusion and training follow the paper's
 * configuration and our documented choices for what it leaves open (../shared/paper.md: base 64,
 * multipliers [1,2,4,8], windows [4,3,2,1], F = 4, linear β 1e-4..0.02 with T = 1000, Adam 1e-4 with
 * 10k warm-up steps, EMA 0.9999, batch 8 at 144²). Data defaults to the embedded synthetic source so
 * a spec with no `data` section runs anywhere. Specs override what they need; `resolve.ts` merges.
 */
import { DEFAULT_DIFFUSION_CONFIG, DEFAULT_SAMPLE_CONFIG } from '../diffusion/config.ts';
import { DEFAULT_MODEL_CONFIG } from '../model/config.ts';
import type { TrialConfig } from './types.ts';

export const DEFAULTS: TrialConfig = {
  data: {
    source: 'synthetic',
    root: null,
    goproVariant: 'blur',
    crop: 144,
    padding: 'replicate',
    augment: true,
    splits: { train: 'train', test: 'test' },
    folders: { blurDir: 'blur', sharpDir: 'sharp' },
    synthetic: { trainSequences: 8, testSequences: 2, frames: 24, height: 144, width: 144, seed: 0, exposure: [1, 1], motion: 1 },
  },
  // The model, diffusion and sampling defaults are the ones those folders define (one definition).
  model: structuredClone(DEFAULT_MODEL_CONFIG),
  diffusion: { ...DEFAULT_DIFFUSION_CONFIG },
  sample: { ...DEFAULT_SAMPLE_CONFIG },
  train: {
    steps: 1_000_000,
    batch: 8,
    accumulate: 1,
    lr: 1e-4,
    betas: [0.9, 0.999],
    warmupSteps: 10_000,
    schedule: 'constant',
    gradClip: 1,
    ema: 0.9999,
    checkpointEvery: 5_000,
    keepLast: 3,
    validateEvery: 10_000,
    seed: 0,
  },
  eval: {
    metrics: ['psnr', 'ssim', 'lpips', 'fid', 'kid'],
    cropBorder: 0,
    yChannel: false,
    ssim: { variant: 'basicsr' },
    lpips: { net: 'alex' },
    kid: { subsets: 100, subsetSize: 1000 },
    testLoss: true,
    contextProbe: false,
  },
  tracking: { uri: './mlruns', experiment: '' },
  report: { enabled: true },
};
