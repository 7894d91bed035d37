/** Launchers: how a sweep's pending trials get run (this machine, or a Slurm array), and where they stand. */
export { LAUNCHER_NAMES } from './types.ts';
export type { Launched, Launcher, LauncherName, LaunchRequest, TrialOutcome } from './types.ts';
export { localLauncher, type LocalOptions } from './local.ts';
export { slurmLauncher, waitForSlurm, type FollowOptions } from './slurm.ts';
export { validateSlurmOptions, type SlurmOptions } from './slurm-options.ts';
export { batchScript, sbatchArgs, taskMap, shellQuote, type SlurmBatch, type TaskMap } from './slurm-script.ts';
export { readSlurmState, querySlurm, trialsInSlurm, type SlurmState, type SlurmSubmission, type TrialInSlurm, type QueueReader } from './slurm-state.ts';
export { parseSqueue, scancel, type QueuedTask } from './slurm-commands.ts';
export { sweepStatus, etaFromLog, tailLines, SWEEP_STATES, type SweepStatus, type SweepTrialStatus, type SweepTrialState } from './status.ts';
