/**
 * The batch script of one submission and its task map: pure text from the trial ids and options, so what
 * Slurm runs is decided (and tested) without Slurm. Array task k runs trial `trials[k]`:
 * `divd trial <spec> --id <trial> --parent-run <sweep run>`, its stdout/stderr appended to
 * `<runs>/<experiment>/<trial>/slurm.log`.
 */
import type { SlurmOptions } from './slurm-options.ts';

export interface SlurmBatch {
  experiment: string;
  /** Absolute paths: tasks may start on another node, in another directory. */
  specFile: string;
  runsDir: string;
  /** Where tasks run (relative data roots and tracking URIs resolve from here, as in a local run). */
  workDir: string;
  /** This submission's folder (`<runs>/<experiment>/slurm/<stamp>/`): the script, tasks.json, the shell's own output. */
  batchDir: string;
  /** The node binary and divd script the tasks run. */
  node: string;
  divd: string;
  /** Trial ids, index = array task id. */
  trials: readonly string[];
  parentRunId?: string;
  /** Environment that decides results or tracking, captured at submission so every task sees the same. */
  env: Readonly<Record<string, string>>;
  options: SlurmOptions;
}

/** Environment variables copied into the script when set (never secrets: tokens pass through sbatch's own export). */
export const CAPTURED_ENV = ['MLFLOW_TRACKING_URI', 'MLFLOW_EXPERIMENT_NAME', 'MLFLOW_EXPERIMENT_ID', 'DIVD_DATA_CACHE', 'DIVD_WEIGHTS_DIR', 'DIVD_BACKEND'] as const;

export function capturedEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of CAPTURED_ENV) if (env[k] !== undefined) out[k] = env[k]!;
  return out;
}

/** Single-quotes a word for bash. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function jobName(experiment: string): string {
  return `divd-${experiment}`;
}

function sbatchLines(b: SlurmBatch): string[] {
  const o = b.options;
  const lines = [
    `--job-name=${jobName(b.experiment)}`,
    `--chdir=${b.workDir}`,
    // The batch shell's own output (divd's goes to the trial's slurm.log): problems before divd starts.
    `--output=${b.batchDir}/task-%a.out`,
    '--open-mode=append',
    '--ntasks=1',
  ];
  if (o.partition) lines.push(`--partition=${o.partition}`);
  if (o.cpusPerTrial) lines.push(`--cpus-per-task=${o.cpusPerTrial}`);
  if (o.gpusPerTrial) lines.push(`--gres=gpu:${o.gpusPerTrial}`);
  if (o.mem) lines.push(`--mem=${o.mem}`);
  if (o.time) lines.push(`--time=${o.time}`);
  lines.push(o.requeue ? '--requeue' : '--no-requeue');
  // SIGTERM to the trial (the batch shell execs it) 2 minutes before the time limit: it checkpoints and
  // stops at the next step, so a requeued or resubmitted task resumes where it was.
  lines.push('--signal=B:TERM@120');
  lines.push(...(o.sbatchArgs ?? []));
  // #SBATCH lines are not parsed by a shell: a path with spaces must be quoted for sbatch's own reader.
  return lines.map((l) => `#SBATCH ${/\s/.test(l) ? `"${l}"` : l}`);
}

export function batchScript(b: SlurmBatch): string {
  const q = shellQuote;
  const trialCmd = [q(b.node), q(b.divd), 'trial', q(b.specFile), '--id', '"$TRIAL"', '--runs', q(b.runsDir)];
  if (b.parentRunId) trialCmd.push('--parent-run', q(b.parentRunId));
  return [
    '#!/bin/bash',
    `# divd sweep ${b.experiment}: ${b.trials.length} trial(s) of ${b.specFile}, one per array task.`,
    '# Written by `divd run --launcher slurm`; tasks.json beside it maps array task ids to trial ids.',
    ...sbatchLines(b),
    'set -euo pipefail',
    `TRIALS=(${b.trials.map(q).join(' ')})`,
    'TRIAL="${TRIALS[$SLURM_ARRAY_TASK_ID]}"',
    `RUN_DIR=${q(`${b.runsDir}/${b.experiment}`)}/"$TRIAL"`,
    'mkdir -p "$RUN_DIR"',
    ...Object.entries(b.env).map(([k, v]) => `export ${k}=${q(v)}`),
    // One wasm thread per allocated core (the default, one per core of the node, would oversubscribe it).
    ...(b.options.cpusPerTrial ? ['export DIVD_THREADS="${SLURM_CPUS_PER_TASK:-1}"'] : []),
    'echo "== divd: Slurm job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (restart ${SLURM_RESTART_COUNT:-0}) on $(hostname) at $(date -Is)" >>"$RUN_DIR/slurm.log"',
    `exec ${trialCmd.join(' ')} >>"$RUN_DIR/slurm.log" 2>&1`,
    '',
  ].join('\n');
}

/** `sbatch` arguments: the array (throttled to K tasks at once when asked) and the script. */
export function sbatchArgs(trialCount: number, options: SlurmOptions, scriptPath: string): string[] {
  if (trialCount < 1) throw new Error('sbatchArgs: no trials to submit');
  const throttle = options.maxConcurrent ? `%${options.maxConcurrent}` : '';
  return ['--parsable', `--array=0-${trialCount - 1}${throttle}`, scriptPath];
}

export interface TaskMap {
  experiment: string;
  spec: string;
  parentRunId: string | null;
  /** Array task id → trial id. */
  tasks: { task: number; trial: string }[];
}

export function taskMap(b: SlurmBatch): TaskMap {
  return { experiment: b.experiment, spec: b.specFile, parentRunId: b.parentRunId ?? null, tasks: b.trials.map((trial, task) => ({ task, trial })) };
}
