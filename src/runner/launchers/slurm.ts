/**
 * The Slurm launcher: the trials Slurm does not already hold go into one array job (one task per trial),
 * written as `<runs>/<experiment>/slurm/<stamp>/{job.sbatch,tasks.json}`, submitted with sbatch and recorded
 * in the experiment's state.json. `launch` returns after submission; `waitForSlurm` follows the jobs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors.ts';
import { withLock } from '../lock.ts';
import { writeFileAtomicSync, writeJsonAtomicSync } from '../../atomic-write.ts';
import { DIVD_BIN, prepareSyntheticData } from './shared-data.ts';
import { requireCommand, sbatch, taskPhase } from './slurm-commands.ts';
import { validateSlurmOptions, type SlurmOptions } from './slurm-options.ts';
import { batchScript, capturedEnv, sbatchArgs, taskMap, type SlurmBatch } from './slurm-script.ts';
import { querySlurm, recordSubmission, slurmDir } from './slurm-state.ts';
import type { Launched, Launcher, LaunchRequest, TrialOutcome } from './types.ts';

/** A folder name that sorts by time and never collides within one experiment. */
function stampDir(parent: string): string {
  const base = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  for (let n = 0; ; n++) {
    const dir = path.join(parent, n ? `${base}-${n}` : base);
    if (!fs.existsSync(dir)) return dir;
  }
}

export function slurmLauncher(options: SlurmOptions): Launcher {
  validateSlurmOptions(options);
  return {
    name: 'slurm',
    async launch(req: LaunchRequest): Promise<Launched> {
      const experimentDir = path.resolve(req.runsDir, req.plan.name);
      fs.mkdirSync(experimentDir, { recursive: true });
      // Two submitters at once would both see a trial as not queued and both submit it.
      return withLock(path.join(experimentDir, '.slurm-submit.lock'), `a Slurm submission of ${req.plan.name}`, () => submitPending(req, experimentDir, options));
    },
  };
}

/** Submits, as one array job, the trials Slurm does not already hold (under the submission lock). */
async function submitPending(req: LaunchRequest, experimentDir: string, options: SlurmOptions): Promise<Launched> {
  const held = querySlurm(experimentDir);
  const outcomes: TrialOutcome[] = [];
  const submit: typeof req.trials = [];
  const jobIds = new Set<string>();
  for (const trial of req.trials) {
    const runDir = path.join(req.runsDir, req.plan.name, trial.id);
    const inSlurm = held.get(trial.id);
    if (inSlurm?.inFlight) {
      jobIds.add(inSlurm.jobId);
      outcomes.push({ id: trial.id, label: trial.label, state: taskPhase(inSlurm.state ?? 'PENDING'), runDir, slurmTask: inSlurm.name });
    } else {
      submit.push(trial);
      outcomes.push({ id: trial.id, label: trial.label, state: 'submitted', runDir });
    }
  }
  if (submit.length > 0) {
    requireCommand('sbatch', '--launcher slurm'); // before anything is written or a tracker run started
    await prepareSyntheticData(submit, req.dataCacheDir);
    const parentRunId = await req.parentRunId();
    const batchDir = stampDir(slurmDir(experimentDir));
    fs.mkdirSync(batchDir, { recursive: true });
    const batch: SlurmBatch = {
      experiment: req.plan.name,
      specFile: path.resolve(req.plan.file),
      runsDir: path.resolve(req.runsDir),
      workDir: process.cwd(),
      batchDir,
      node: process.execPath,
      divd: DIVD_BIN,
      trials: submit.map((t) => t.id),
      parentRunId,
      env: { ...capturedEnv(), ...(req.dataCacheDir ? { DIVD_DATA_CACHE: path.resolve(req.dataCacheDir) } : {}), ...(req.weightsDir ? { DIVD_WEIGHTS_DIR: path.resolve(req.weightsDir) } : {}) },
      options,
    };
    const script = path.join(batchDir, 'job.sbatch');
    writeFileAtomicSync(script, batchScript(batch));
    writeJsonAtomicSync(path.join(batchDir, 'tasks.json'), taskMap(batch));
    let jobId: string;
    try {
      jobId = sbatch(sbatchArgs(submit.length, options, script));
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\n(the refused script: ${script})`);
    }
    recordSubmission(experimentDir, { jobId, submittedAt: new Date().toISOString(), dir: path.relative(experimentDir, batchDir), trials: [...batch.trials], parentRunId: parentRunId ?? null });
    jobIds.add(jobId);
    submit.forEach((t, task) => {
      const o = outcomes.find((x) => x.id === t.id)!;
      o.slurmTask = `${jobId}_${task}`;
    });
  }
  return { outcomes, ...(jobIds.size ? { detached: { jobIds: [...jobIds], hint: `squeue --array --jobs=${[...jobIds].join(',')}` } } : {}) };
}

export interface FollowOptions {
  /** Seconds between squeue polls. */
  pollSeconds?: number;
  /** Called after each poll with the trials still queued or running. */
  onPoll?: (inFlight: { trial: string; task: string; state: string }[]) => void;
}

/** Resolves once none of the experiment's trials is queued or running in Slurm any more. */
export async function waitForSlurm(experimentDir: string, o: FollowOptions = {}): Promise<void> {
  const pollMs = Math.max(0.2, o.pollSeconds ?? 10) * 1000;
  for (;;) {
    const inFlight = [...querySlurm(experimentDir)].filter(([, s]) => s.inFlight).map(([trial, s]) => ({ trial, task: s.name, state: s.state ?? '?' }));
    o.onPoll?.(inFlight);
    if (inFlight.length === 0) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
