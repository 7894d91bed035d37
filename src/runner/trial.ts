/**
 * One trial, start to finish, in its run directory: the stages of stages.ts in order — data → train
 * (resuming from the last checkpoint) → sample (the test split with the EMA weights) → eval (metrics.json).
 * A trial killed anywhere is picked up by running it again; `divd train|sample|eval --trial` run the same
 * stage functions one at a time.
 */
import { TrainingInterrupted } from '../train/index.ts';
import type { Trial } from '../spec/types.ts';
import { RunDir } from './run-dir.ts';
import { logTrialParams, trialRunDir, writeTrialFiles } from './trial-run.ts';
import { dataStage, evalStage, sampleStage, trainStage, type TrialContext } from './stages.ts';
import { acquireLock, type ReleaseLock } from './lock.ts';

/** A requeued Slurm task may start while its dead predecessor's lock is still fresh: it waits for that to go stale. */
const TRIAL_LOCK_WAIT_MS = 210_000;

/**
 * Takes the trial's run-directory lock before anything is written there, so a second process on the same
 * trial (another `divd run` of the spec, a stage command) neither marks it failed nor shares its checkpoints.
 */
export function lockTrialDir(runDir: string, trial: Pick<Trial, 'id' | 'label'>, o: { wait?: boolean } = {}): Promise<ReleaseLock> {
  return acquireLock(new RunDir(runDir).lockFile, `trial ${trial.label} (${trial.id})`, { waitMs: o.wait ? TRIAL_LOCK_WAIT_MS : 0 });
}

export { dataSourceOf, loopConfig, defaultDataCacheDir } from './trial-config.ts';
export type { TrialContext } from './stages.ts';

/**
 * Runs (or resumes) one trial; the run directory ends in stage done or failed. The caller holds the run
 * directory's lock (`lockTrialDir`), taken before it starts a tracker run for the trial.
 */
export async function runTrial(trial: Trial, ctx: TrialContext): Promise<void> {
  const c = trial.config;
  const dir = new RunDir(trialRunDir(ctx.runsDir, ctx.experiment, trial.id));
  writeTrialFiles(dir, trial, ctx.run);
  const startedAt = dir.status()?.startedAt ?? new Date().toISOString();
  dir.setStatus({ stage: 'training', startedAt, error: undefined, endedAt: undefined });
  await logTrialParams(ctx.run, c);
  try {
    const splits = await dataStage(c, ctx);
    await trainStage(trial, splits, dir, ctx);
    await sampleStage(trial, splits.test, dir, ctx, { checkpoint: 'last' });
    await evalStage(trial, splits.test, dir, ctx);
    dir.setStatus({ stage: 'done', endedAt: new Date().toISOString() });
    await ctx.run?.end('FINISHED');
  } catch (e) {
    const interrupted = e instanceof TrainingInterrupted;
    dir.setStatus({ stage: 'failed', error: (e as Error).message, endedAt: new Date().toISOString() });
    await ctx.run?.end(interrupted ? 'KILLED' : 'FAILED');
    throw e;
  }
}
