/**
 * `divd run --launcher slurm` options: what each array task asks Slurm for. Values are checked here, before
 * anything is written or submitted, so a typo fails with the option's name instead of an sbatch message.
 */
import { UsageError } from '../../errors.ts';

export interface SlurmOptions {
  partition?: string;
  /** GPUs per trial (`--gres=gpu:N`); one trial never spans devices. */
  gpusPerTrial?: number;
  /** CPU cores per trial (`--cpus-per-task`); also the trial's wasm thread count. */
  cpusPerTrial?: number;
  /** Wall-clock limit per trial in a Slurm time format, e.g. `48:00:00` or `2-00:00:00`. */
  time?: string;
  /** Memory per trial, e.g. `32G` (`--mem`). */
  mem?: string;
  /** Array tasks running at once (`--array=…%K`); unlimited when absent. */
  maxConcurrent?: number;
  /** More `#SBATCH` lines, verbatim (`--account=lab`, `--qos=long`, …). */
  sbatchArgs?: string[];
  /** `--requeue`: Slurm may requeue a preempted trial, which then resumes from its last checkpoint. */
  requeue?: boolean;
}

// Slurm's --time forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
const TIME = /^(\d+-\d{1,2}(:\d{1,2}){0,2}|\d+(:\d{1,2}){0,2})$/;
const MEM = /^\d+[KMGT]?$/i;
const PARTITION = /^[A-Za-z0-9_.,-]+$/;

function positiveInt(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min)) {
    throw new UsageError(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
}

/** Throws a UsageError naming the first bad option. */
export function validateSlurmOptions(o: SlurmOptions): void {
  if (o.partition !== undefined && !PARTITION.test(o.partition)) {
    throw new UsageError(`--partition must be a partition name (letters, digits, _ . - ,), got ${JSON.stringify(o.partition)}`);
  }
  positiveInt('--gpus-per-trial', o.gpusPerTrial, 0);
  positiveInt('--cpus-per-trial', o.cpusPerTrial, 1);
  positiveInt('--max-concurrent', o.maxConcurrent, 1);
  if (o.time !== undefined && !TIME.test(o.time)) {
    throw new UsageError(`--time must be a Slurm time limit such as 48:00:00, 90 (minutes) or 2-12:00:00, got ${JSON.stringify(o.time)}`);
  }
  if (o.mem !== undefined && !MEM.test(o.mem)) {
    throw new UsageError(`--mem must be a size such as 16G or 32000M, got ${JSON.stringify(o.mem)}`);
  }
  for (const a of o.sbatchArgs ?? []) {
    if (!a.startsWith('-') || /[\n\r]/.test(a)) {
      throw new UsageError(`--sbatch-arg must be one sbatch option such as --account=lab (written as an #SBATCH line), got ${JSON.stringify(a)}`);
    }
    if (/^--?(array|a|output|o|error|e|chdir|D|job-name|J)(=|$)/.test(a)) {
      throw new UsageError(`--sbatch-arg ${a}: divd sets this option itself (array, output, working directory, job name)`);
    }
  }
}
