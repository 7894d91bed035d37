/** The runner: trials from plan to metrics.json, the sweep loop, evaluation of any folders. */
export { runSpec, executeTrials, finishSweep, endedOutcomes } from './run.ts';
export type { RunOptions, RunResult, FinishOptions } from './run.ts';
export * from './launchers/index.ts';
export { runTrial, loopConfig, dataSourceOf } from './trial.ts';
export { evaluatePairs, pairFolders } from './evaluate.ts';
export type { FramePairFiles, EvaluateOptions } from './evaluate.ts';
export { RunDir } from './run-dir.ts';
export type { TrialStatus, Stage } from './run-dir.ts';
export { createProgress } from './progress.ts';
export type { Progress } from './progress.ts';
export { runTrialStage, openTrialDir } from './trial-stage.ts';
export type { StageName, StageOptions, StageResult, OpenedTrial } from './trial-stage.ts';
export { dataStage, trainStage, sampleStage, evalStage } from './stages.ts';
export type { SampleStageOptions, SampleResult, TrialContext } from './stages.ts';
export { parseCheckpointChoice, selectCheckpoint, loadEmaModel } from './checkpoint-select.ts';
export type { CheckpointChoice } from './checkpoint-select.ts';
export { deblur, VIDEO_EXTENSIONS } from './deblur.ts';
export type { DeblurOptions, DeblurResult } from './deblur.ts';
