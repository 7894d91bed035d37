/**
 * The local launcher (the default): trials on this machine, one by one in this process, or `jobs` at a
 * time, each in its own `divd trial` process with cores/jobs threads.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../errors.ts';
import type { Trial } from '../../spec/types.ts';
import { stopRequested } from '../interrupt.ts';
import { createProgress } from '../progress.ts';
import { lockTrialDir, runTrial } from '../trial.ts';
import { LockHeldError, type ReleaseLock } from '../lock.ts';
import { startTrialRun, trialRunDir } from '../trial-run.ts';
import { DIVD_BIN, prepareSyntheticData } from './shared-data.ts';
import type { Launched, Launcher, LaunchRequest, TrialOutcome } from './types.ts';

export interface LocalOptions {
  /** Trials at once, each in its own `divd trial` process (default 1: in this process, one by one). */
  jobs?: number;
}

/** One trial in a child `divd trial` process; its outcome is the JSON line it prints. */
function runChild(req: LaunchRequest, trial: Trial, parentRunId: string | undefined, threads: number): Promise<TrialOutcome> {
  const { plan } = req;
  const args = [DIVD_BIN, 'trial', plan.file, '--id', trial.id, '--runs', req.runsDir, '--json', ...(parentRunId ? ['--parent-run', parentRunId] : [])];
  const env = { ...process.env, DIVD_THREADS: process.env.DIVD_THREADS ?? String(threads) };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', req.quiet ? 'ignore' : 'inherit'] });
    // A signal sent to this process alone (kill, a scheduler, a supervisor) reaches the trial too, which then
    // checkpoints and stops; on a terminal it gets Ctrl-C itself as well and takes the two as one (interrupt.ts).
    const forward = (signal: NodeJS.Signals) => () => void child.kill(signal);
    const forwards = (['SIGINT', 'SIGTERM'] as const).map((signal) => [signal, forward(signal)] as const);
    for (const [signal, f] of forwards) process.on(signal, f);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      for (const [signal, f] of forwards) process.off(signal, f);
      const runDir = path.join(req.runsDir, plan.name, trial.id);
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as TrialOutcome);
      } catch {
        resolve({ id: trial.id, label: trial.label, state: 'failed', error: `divd trial exited with code ${code} (see ${runDir}/status.json)`, runDir });
      }
    });
  });
}

/** One trial in this process, logged as a child of the sweep run. */
async function runHere(req: LaunchRequest, trial: Trial): Promise<TrialOutcome> {
  const runDir = trialRunDir(req.runsDir, req.plan.name, trial.id);
  let release: ReleaseLock;
  try {
    release = await lockTrialDir(runDir, trial, { wait: true });
  } catch (e) {
    // Held by another live process (a second `divd run` of this spec): this trial is its business, the rest
    // of the sweep goes on. No tracker run is started for it here.
    if (e instanceof LockHeldError) return { id: trial.id, label: trial.label, state: 'failed', error: e.message, runDir };
    throw e;
  }
  try {
    return await runLocked(req, trial, runDir);
  } finally {
    release();
  }
}

async function runLocked(req: LaunchRequest, trial: Trial, runDir: string): Promise<TrialOutcome> {
  const progress = createProgress(`${req.indexOf(trial) + 1}/${req.total} ${trial.label} ${trial.id}`, { quiet: req.quiet });
  const run = await startTrialRun(req.tracker, trial, runDir, await req.parentRunId());
  try {
    await runTrial(trial, { experiment: req.plan.name, runsDir: req.runsDir, run, progress, dataCacheDir: req.dataCacheDir, weightsDir: req.weightsDir });
    progress.done();
    return { id: trial.id, label: trial.label, state: 'done', runDir };
  } catch (e) {
    // A bad spec or path stops the sweep (every trial would fail the same way); anything else is this
    // trial's failure, recorded in its status.json, and the sweep goes on.
    if (e instanceof UsageError) throw e;
    progress.note(`failed: ${(e as Error).message}`);
    return { id: trial.id, label: trial.label, state: 'failed', error: (e as Error).message, runDir };
  }
}

export function localLauncher(options: LocalOptions = {}): Launcher {
  return {
    name: 'local',
    async launch(req: LaunchRequest): Promise<Launched> {
      const { trials } = req;
      const outcomes = new Array<TrialOutcome>(trials.length);
      const jobs = Math.max(1, Math.min(options.jobs ?? 1, trials.length));
      const notStarted = (trial: Trial): TrialOutcome => ({
        id: trial.id,
        label: trial.label,
        state: 'failed',
        error: 'not started: interrupted',
        runDir: path.join(req.runsDir, req.plan.name, trial.id),
      });
      if (jobs === 1) {
        for (const [i, trial] of trials.entries()) outcomes[i] = stopRequested() ? notStarted(trial) : await runHere(req, trial);
        return { outcomes };
      }
      await prepareSyntheticData(trials, req.dataCacheDir);
      const parentRunId = await req.parentRunId();
      const threads = Math.max(1, Math.floor(os.availableParallelism() / jobs));
      const queue = trials.map((_, i) => i);
      await Promise.all(
        Array.from({ length: jobs }, async () => {
          // After Ctrl-C (or a forwarded signal) the running trials checkpoint and stop; none is started.
          for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
            outcomes[i] = stopRequested() ? notStarted(trials[i]!) : await runChild(req, trials[i]!, parentRunId, threads);
          }
        }),
      );
      return { outcomes };
    },
  };
}
