/** Training: optimizer, schedules, EMA and clipping (the loop and checkpoints build on these). */
export { learningRate } from './lr-schedule.ts';
export type { LrScheduleConfig } from './lr-schedule.ts';
export { Adam, ADAM_DEFAULTS } from './adam.ts';
export type { AdamConfig, AdamState } from './adam.ts';
export { Ema, emaDecay } from './ema.ts';
export type { EmaConfig } from './ema.ts';
export { clipByGlobalNorm, globalNorm } from './clip.ts';
export type { ClipResult } from './clip.ts';
export { CheckpointDir, CheckpointConfigMismatch, CHECKPOINT_FILE_RE, checkpointFileName, wrapCheckpoint, unwrapCheckpoint } from './checkpoints.ts';
export type { CheckpointEntry, CheckpointOptions, LoadedCheckpoint } from './checkpoints.ts';
export { DEFAULT_TRAIN_CONFIG } from './config.ts';
export type { TrainConfig } from './config.ts';
export { Trainer, TrainingDiverged, TrainingInterrupted } from './trainer.ts';
export type { BatchSource, StepLog, TrainerHooks, TrainerOptions } from './trainer.ts';
export { lossAndGrads, diffusionLoss, sampleWindowNoise } from './step.ts';
export type { TrainBatch, Objective, LossAndGrads } from './step.ts';
