/**
 * The trial config: everything one trial needs, fully resolved (defaults applied). This type, the
 * constraints in `schema.ts` (compile-time checked against it through ajv's `JSONSchemaType`) and the
 * values in `defaults.ts` are the one definition of a config; `experiments/schema.json` is generated
 * from them (`node --import tsx src/spec/write-schema.ts`) and a test keeps the committed file in step.
 * Model/diffusion/sample fields are the shapes agreed in CONFIG-SHAPES (camelCase everywhere).
 */

import type { ModelConfig } from '../model/config.ts';
import type { DiffusionConfig, SampleConfig } from '../diffusion/config.ts';

export const DATA_SOURCES = ['synthetic', 'gopro', 'dvd', 'folders'] as const;
export const GOPRO_VARIANTS = ['blur', 'blur_gamma'] as const;
export const FRAME_PADDINGS = ['replicate', 'reflection', 'reflection_circle', 'circle'] as const;
export const ATTENTIONS = ['wtsa', 'spatial', 'none'] as const;
export const NOISE_SCHEDULES = ['linear', 'cosine'] as const;
export const PREDICTIONS = ['eps', 'x0', 'v'] as const;
export const SAMPLERS = ['ddpm', 'ddim'] as const;
export const LR_SCHEDULES = ['constant', 'cosine'] as const;
export const TRAIN_BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export const METRICS = ['psnr', 'ssim', 'lpips', 'fid', 'kid'] as const;
export const SSIM_VARIANTS = ['basicsr', 'skimage-default'] as const;
export const LPIPS_NETS = ['alex', 'vgg', 'squeeze'] as const;

export type DataSource = (typeof DATA_SOURCES)[number];
export type MetricName = (typeof METRICS)[number];

export interface SyntheticData {
  /** Sequences generated for the train and test splits. */
  trainSequences: number;
  testSequences: number;
  /** Frames per sequence. */
  frames: number;
  height: number;
  width: number;
  seed: number;
  /**
   * [lo, hi]: each frame's shutter is open for a fraction of its sub-frames drawn from this range, so a
   * video mixes sharp and blurred frames (datasets/synth/scene.ts). [1, 1]: fully open, every frame blurred
   * over all its sub-frames (the default).
   */
  exposure: number[];
  /**
   * Speed multiplier of the camera and objects (datasets/synth/scene.ts): 1 (the default) moves under a
   * pixel per sub-frame at 64 px; larger values move content further between frames.
   */
  motion: number;
}

export interface DataConfig {
  source: DataSource;
  /** Dataset folder (GOPRO_Large, DeepVideoDeblurring_Dataset, or `<root>/<split>/<seq>/{blur,sharp}`); null for synthetic. */
  root?: string | null;
  /** GoPro only: which blurred frames to read. */
  goproVariant: (typeof GOPRO_VARIANTS)[number];
  /** Training crop, pixels (square), identical for all frames of a window. */
  crop: number;
  /** How windows are completed at sequence borders (BasicSR's names). */
  padding: (typeof FRAME_PADDINGS)[number];
  /** Random flips and temporal reversal of training windows. */
  augment: boolean;
  splits: { train: string; test: string };
  /** Folders source: frame folder names inside each sequence (BSD, REDS-style trees without renaming). */
  folders: { blurDir: string; sharpDir: string };
  synthetic: SyntheticData;
}

// Model, diffusion and sampling configs are defined where they are used; the schema is checked against them.
export type { ModelConfig } from '../model/config.ts';
export type { DiffusionConfig, SampleConfig } from '../diffusion/config.ts';

export interface TrainConfig {
  steps: number;
  /** Windows per optimiser step (before accumulation). */
  batch: number;
  /** Gradient accumulation: micro-batches summed per optimiser step. */
  accumulate: number;
  lr: number;
  betas: [number, number];
  warmupSteps: number;
  schedule: (typeof LR_SCHEDULES)[number];
  /** Global-norm gradient clipping; 0 turns it off. */
  gradClip: number;
  /** EMA decay of the weights used for sampling; 0 turns it off. */
  ema: number;
  checkpointEvery: number;
  keepLast: number;
  /** Validation loss every N steps; 0 turns it off. */
  validateEvery: number;
  seed: number;
  /** Execution choices, not part of the experiment (left out of the trial id); null: the CLI/env decides. */
  backend?: (typeof TRAIN_BACKENDS)[number] | null;
  threads?: number | null;
}

export interface EvalConfig {
  metrics: MetricName[];
  /** Pixels dropped at each border before PSNR/SSIM. */
  cropBorder: number;
  /** PSNR/SSIM on the BT.601 Y channel instead of RGB. */
  yChannel: boolean;
  ssim: { variant: (typeof SSIM_VARIANTS)[number] };
  lpips: { net: (typeof LPIPS_NETS)[number] };
  kid: { subsets: number; subsetSize: number };
  /**
   * Also score the model's held-out diffusion loss on the test split (src/runner/test-loss.ts): metrics.json
   * `metrics.loss`, the report's "Test loss" column.
   */
  testLoss: boolean;
  /**
   * Also the temporal-context probe (runner/context-probe.ts) beside the test loss, into probe-context.json.
   * Left out of the trial id: it adds a measurement and changes none. Absent in older config.json (read as false).
   */
  contextProbe: boolean;
}

export interface TrackingConfig {
  /** `./mlruns`-style path (MLflow FileStore), an http(s) MLflow server URL, or `none`. */
  uri: string;
  /** MLflow experiment name; empty means the spec's `name`. */
  experiment: string;
}

export interface TrialConfig {
  data: DataConfig;
  model: ModelConfig;
  diffusion: DiffusionConfig;
  sample: SampleConfig;
  train: TrainConfig;
  eval: EvalConfig;
  tracking: TrackingConfig;
  report: { enabled: boolean };
}

/** A config path such as `model.windows`. */
export type ConfigPath = string;

/** One expanded trial of a spec. */
export interface Trial {
  /** Short hash of the canonical result-determining config (see `trialId`). */
  id: string;
  /** Readable name from the swept values, e.g. `windows=4-3-2-1 seed=1`; `base` when nothing is swept. */
  label: string;
  /** The variant applied, if the sweep has variants. */
  variant: string | null;
  /** Swept config paths and their values for this trial (variants' paths included). */
  swept: Record<ConfigPath, unknown>;
  config: TrialConfig;
  /** Position in the spec's expansion order (trial.json keeps it, so reports list trials as the spec does). */
  index?: number;
}

export interface Plan {
  /** The spec file as given. */
  file: string;
  /** Experiment name: the run directory is `runs/<name>/<trial id>/`. */
  name: string;
  description: string;
  trials: Trial[];
}
