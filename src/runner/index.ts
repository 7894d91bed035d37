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
