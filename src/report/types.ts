/**
 * The run directory contract as the report reads it (design.md, "Run directory"):
 *   runs/<experiment>/<trial-id>/{config.json, trial.json, status.json, metrics.json, log.jsonl, samples/, inputs/, gt/}
 * plus probe-context.json when `divd probe` or eval.contextProbe ran (two more metrics).
 * Every file may be missing; the reader fills what it can and records what it could not read.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** status.json stages; `trained` and `sampled` are where the stage commands (`divd train|sample --trial`) stop. */
export const STAGES = ['pending', 'training', 'trained', 'sampling', 'sampled', 'evaluating', 'done', 'failed'] as const;
export type Stage = (typeof STAGES)[number];

/** status.json */
export interface TrialStatus {
  stage: Stage;
  step?: number;
  error?: string;
  startedAt?: string;
  endedAt?: string;
}

/** trial.json */
export interface TrialInfo {
  id: string;
  label: string;
  /** config path → value, e.g. {"model.windows": [4,3,2,1], "train.seed": 1} */
  swept: Record<string, JsonValue>;
  seed?: number;
  /** The sweep variant's name (trial.json `variant`), e.g. the MRPE ablation row "frame PE only". */
  variant?: string;
  mlflowRunId?: string;
  /** Position in the spec's sweep (trial.json `index`): the order tables list trials in. */
  index?: number;
}

/** Image-quality metrics; any may be absent (e.g. FID needs the whole test set). */
export interface MetricValues {
  psnr?: number;
  ssim?: number;
  lpips?: number;
  fid?: number;
  kid?: number;
  kidStd?: number;
  /** Held-out diffusion loss (metrics.json `metrics.loss`). */
  loss?: number;
  /** `divd probe` (probe-context.json): the test loss with every frame alone (`isolated.loss`). */
  lossAlone?: number;
  /** `divd probe`: (alone − in window) / in window, the share of the test loss the other frames remove. */
  contextGain?: number;
}

export interface SequenceMetrics {
  psnr?: number;
  ssim?: number;
  lpips?: number;
  frames?: number;
}

/** metrics.json */
export interface TrialMetrics {
  overall: MetricValues;
  /** The blurry test frames scored against the sharp ones the same way (metrics.json `input`): no restoration. */
  input?: MetricValues;
  sequences: Record<string, SequenceMetrics>;
}

/** One line of log.jsonl: a training step or a validation point. */
export interface LogPoint {
  step: number;
  loss?: number;
  lr?: number;
  time?: number;
  valLoss?: number;
}

/** Frames written by sampling, keyed by sequence; each frame name is the PNG's base name. */
export interface SampleIndex {
  /** sequence → sorted frame names that exist under samples/<seq>/ */
  frames: Record<string, string[]>;
}

export interface TrialRecord {
  /** directory name; equals info.id when trial.json is present */
  id: string;
  dir: string;
  info: TrialInfo;
  config?: JsonObject;
  status: TrialStatus;
  metrics?: TrialMetrics;
  log: LogPoint[];
  samples: SampleIndex;
  /** what could not be read, each naming its file and what was wrong */
  problems: string[];
}

export interface ExperimentRuns {
  experiment: string;
  dir: string;
  trials: TrialRecord[];
}
