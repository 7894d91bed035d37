/** The `train` section of a trial config (names as in the spec schema) and its defaults (paper.md). */
export interface TrainConfig {
  /** Optimizer updates to run. */
  steps: number;
  /** Windows (sequences of F frames) per micro-batch. */
  batch: number;
  /** Micro-batches whose gradients are averaged into one update. */
  accumulate: number;
  /** Square crop size of the training windows. */
  crop: number;
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  warmupSteps: number;
  schedule: 'constant' | 'cosine';
  minLr: number;
  /** Global-norm clip; 0 disables. */
  gradClip: number;
  ema: number;
  /** EMA decay min(ema, (1+n)/(10+n)) so short runs average trained weights, not the initialisation. */
  emaWarmup: boolean;
  checkpointEvery: number;
  keepLast: number;
  /** Validation loss every N steps (0: never). */
  validateEvery: number;
  logEvery: number;
  seed: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  steps: 1_000_000,
  batch: 8,
  accumulate: 1,
  crop: 144,
  lr: 1e-4,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weightDecay: 0,
  warmupSteps: 10_000,
  schedule: 'constant',
  minLr: 0,
  gradClip: 1,
  ema: 0.9999,
  emaWarmup: true,
  checkpointEvery: 5000,
  keepLast: 3,
  validateEvery: 5000,
  logEvery: 100,
  seed: 0,
};
