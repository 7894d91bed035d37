/**
 * The launcher contract: how the pending trials of a sweep get run. `divd run` sets cached trials aside,
 * opens the sweep's tracker run and hands the rest to a launcher. Every launcher runs a trial the same way
 * (`divd trial <spec> --id <id> --parent-run <sweep run>`, or its in-process equivalent), so results,
 * run directories and tracking are identical whichever one ran them.
 */
import type { Plan, Trial } from '../../spec/types.ts';
import type { Tracker } from '../../tracking/index.ts';

export const LAUNCHER_NAMES = ['local', 'slurm'] as const;
export type LauncherName = (typeof LAUNCHER_NAMES)[number];

export interface TrialOutcome {
  id: string;
  label: string;
  /**
   * cached: finished before this run; done/failed: ended during it; submitted: handed to Slurm now;
   * queued/running: already in Slurm from an earlier submission (not submitted again).
   */
  state: 'cached' | 'done' | 'failed' | 'submitted' | 'queued' | 'running';
  error?: string;
  runDir: string;
  /** The Slurm array task running it (`<job>_<task>`), for submitted/queued/running trials. */
  slurmTask?: string;
}

export interface LaunchRequest {
  plan: Plan;
  /** Trials to run; none of them is finished (cached trials were set aside by the caller). */
  trials: Trial[];
  runsDir: string;
  tracker: Tracker;
  /** The sweep's tracker run id, started on first call (undefined when tracking is off). */
  parentRunId: () => Promise<string | undefined>;
  quiet?: boolean;
  dataCacheDir?: string;
  weightsDir?: string;
  /** Labels progress lines as `[k/total …]`: each trial's index in the whole selection. */
  indexOf: (trial: Trial) => number;
  total: number;
}

export interface Launched {
  /** Outcomes of the trials, in request order: ended ones (local) or handed elsewhere (Slurm). */
  outcomes: TrialOutcome[];
  /** Set when trials go on running after `launch` returns: what was submitted and how to follow it. */
  detached?: { jobIds: string[]; hint: string };
}

export interface Launcher {
  readonly name: LauncherName;
  /** Starts the trials: the local launcher runs them to the end, the Slurm launcher submits them and returns. */
  launch(request: LaunchRequest): Promise<Launched>;
}
