/**
 * `divd run`, `divd trial` and `divd eval`: thin layers over src/runner that set up the backend, print a
 * summary (or one JSON object) and choose the exit code (0 all finished, 1 a trial failed, 2 bad input).
 */
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../backend/index.ts';
import { metricsJson } from '../../metrics/index.ts';
import { DEFAULTS } from '../spec/index.ts';
import { loadSpec, selectTrials } from '../spec/index.ts';
import type { EvalConfig, MetricName } from '../spec/types.ts';
import { executeTrials, evaluatePairs, pairFolders, runSpec, slurmLauncher, LAUNCHER_NAMES, type Launcher, type TrialOutcome } from '../runner/index.ts';
import { writeJsonAtomicSync } from '../atomic-write.ts';
import { installInterruptHandler } from '../runner/interrupt.ts';
import { UsageError } from '../errors.ts';

export interface BackendFlags {
  backend?: string;
  threads?: number;
}

async function startBackend(flags: BackendFlags, quiet = false): Promise<void> {
  const info = await initBackend({ requested: flags.backend, threads: flags.threads });
  if (!quiet) process.stderr.write(`backend ${info.name}${info.name === 'wasm' ? ` (${info.threads} threads, SIMD ${info.simd ? 'on' : 'off'})` : ''}\n`);
}

function summary(outcomes: TrialOutcome[]): string {
  return outcomes
    .map((o) => `  ${o.state.padEnd(9)} ${o.id}  ${o.label}${o.slurmTask ? `  (Slurm ${o.slurmTask})` : ''}${o.error ? `\n            ${o.error}` : ''}`)
    .join('\n');
}

export interface RunFlags extends BackendFlags {
  runs: string;
  only?: string[];
  report: boolean;
  reportDir?: string;
  json?: boolean;
  quiet?: boolean;
  jobs?: number;
  force?: boolean;
  launcher?: string;
  partition?: string;
  gpusPerTrial?: number;
  cpusPerTrial?: number;
  time?: string;
  mem?: string;
  maxConcurrent?: number;
  sbatchArg?: string[];
  requeue?: boolean;
  wait?: boolean;
  poll?: number;
}

const SLURM_FLAGS = [
  ['partition', '--partition'],
  ['gpusPerTrial', '--gpus-per-trial'],
  ['cpusPerTrial', '--cpus-per-trial'],
  ['time', '--time'],
  ['mem', '--mem'],
  ['maxConcurrent', '--max-concurrent'],
  ['sbatchArg', '--sbatch-arg'],
  ['requeue', '--requeue'],
  ['wait', '--wait'],
] as const;

/** The launcher the flags ask for; undefined means the default local one (with --jobs). */
export function launcherFromFlags(flags: RunFlags): Launcher | undefined {
  const name = flags.launcher ?? 'local';
  if (!(LAUNCHER_NAMES as readonly string[]).includes(name)) throw new UsageError(`--launcher must be ${LAUNCHER_NAMES.join(' or ')}, got ${JSON.stringify(name)}`);
  if (name === 'local') {
    const misplaced = SLURM_FLAGS.find(([key]) => flags[key] !== undefined);
    if (misplaced) throw new UsageError(`${misplaced[1]} applies to --launcher slurm only (the default launcher is local)`);
    return undefined;
  }
  if (flags.jobs !== undefined) throw new UsageError('--jobs is for --launcher local; with --launcher slurm use --max-concurrent');
  return slurmLauncher({
    partition: flags.partition,
    gpusPerTrial: flags.gpusPerTrial,
    cpusPerTrial: flags.cpusPerTrial,
    time: flags.time,
    mem: flags.mem,
    maxConcurrent: flags.maxConcurrent,
    sbatchArgs: flags.sbatchArg,
    requeue: flags.requeue,
  });
}

/** Prints one line whenever the set of queued/running Slurm tasks changes. */
export function followPrinter(): (inFlight: { trial: string; task: string; state: string }[]) => void {
  let last = '';
  return (inFlight) => {
    const line = inFlight.length ? `waiting for ${inFlight.length} Slurm task(s): ${inFlight.map((t) => `${t.task} ${t.state}`).join(', ')}` : 'no Slurm task left queued or running';
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
  };
}

function stopMessage(): void {
  process.stderr.write('\ndivd: stopping after the current step and saving a checkpoint (Ctrl-C again to exit now)\n');
}

export async function runCommand(spec: string, flags: RunFlags): Promise<number> {
  const launcher = launcherFromFlags(flags);
  installInterruptHandler(stopMessage);
  const started = Date.now();
  // The Slurm launcher trains nothing here: no backend to start.
  if (!launcher) await startBackend(flags, flags.quiet || flags.json);
  const quiet = flags.quiet || flags.json;
  const cores = os.availableParallelism();
  if (!quiet && flags.jobs !== undefined && flags.jobs > cores) {
    // Measured on 2 cores: 3 trials at once trained ~1 step/s each (3.3 in all) against ~3 each (6.5) for 2.
    process.stderr.write(`divd: warning: --jobs ${flags.jobs} is more trials than this machine's ${cores} cores; trials that share a core train far slower, together too\n`);
  }
  const result = await runSpec(spec, {
    runsDir: flags.runs,
    only: flags.only,
    report: flags.report,
    reportDir: flags.reportDir,
    quiet,
    jobs: flags.jobs,
    force: flags.force,
    launcher,
    wait: flags.wait,
    follow: { pollSeconds: flags.poll, onPoll: quiet ? undefined : followPrinter() },
  });
  if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else if (result.detached) {
    const count = (s: string) => result.trials.filter((t) => t.state === s).length;
    const runsFlag = flags.runs === 'runs' ? '' : ` --runs ${flags.runs}`;
    process.stdout.write(
      `${result.experiment}: ${count('submitted')} submitted to Slurm, ${count('queued') + count('running')} already in Slurm, ${count('cached')} cached; job ${result.detached.jobIds.join(', ')}\n` +
        `${summary(result.trials)}\n` +
        `follow:   divd status ${spec}${runsFlag} --wait   (then the report is written; or: ${result.detached.hint})\n` +
        `cancel:   divd cancel ${spec}${runsFlag}\n`,
    );
    return 0;
  } else {
    const count = (s: string) => result.trials.filter((t) => t.state === s).length;
    const wall = ((Date.now() - started) / 1000).toFixed(0);
    process.stdout.write(
      `${result.experiment}: ${count('done')} finished, ${count('failed')} failed, ${count('cached')} cached, ${wall}s\n${summary(result.trials)}\n`,
    );
    if (result.report) process.stdout.write(`report:   ${result.report.files.html}\n`);
    const t = result.tracking;
    if (t.kind === 'filestore') process.stdout.write(`tracking: MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri ${t.root}\n`);
    if (t.kind === 'mlflow-rest') process.stdout.write(`tracking: ${t.url} (experiment ${t.experiment})\n`);
  }
  return result.trials.some((t) => t.state === 'failed') ? 1 : 0;
}

export async function trialCommand(spec: string, flags: BackendFlags & { id: string; runs: string; json?: boolean; quiet?: boolean; parentRun?: string }): Promise<number> {
  const plan = loadSpec(spec);
  const trials = selectTrials(plan, [flags.id]);
  if (trials.length !== 1) throw new UsageError(`--id ${flags.id} matches ${trials.length} trials of ${spec}; give a full id (divd plan ${spec} lists them)`);
  installInterruptHandler(stopMessage);
  await startBackend(flags, flags.json || flags.quiet);
  const { outcomes } = await executeTrials(plan, trials, { runsDir: flags.runs, report: false, quiet: flags.quiet, parentRunId: flags.parentRun });
  if (flags.json) process.stdout.write(`${JSON.stringify(outcomes[0])}\n`);
  else process.stdout.write(`${summary(outcomes)}\n`);
  return outcomes[0]!.state === 'failed' ? 1 : 0;
}

const METRIC_NAMES: readonly MetricName[] = ['psnr', 'ssim', 'lpips', 'fid', 'kid'];

export interface EvalFlags extends BackendFlags {
  pred: string;
  gt: string;
  metrics?: string;
  cropBorder?: number;
  y?: boolean;
  ssim?: string;
  lpipsNet?: string;
  out?: string;
  json?: boolean;
}

function evalConfig(flags: EvalFlags): EvalConfig {
  const metrics = (flags.metrics ?? DEFAULTS.eval.metrics.join(',')).split(',').map((m) => m.trim()).filter(Boolean);
  for (const m of metrics) if (!METRIC_NAMES.includes(m as MetricName)) throw new UsageError(`--metrics: unknown metric ${JSON.stringify(m)}; expected some of ${METRIC_NAMES.join(', ')}`);
  const variant = flags.ssim ?? DEFAULTS.eval.ssim.variant;
  if (variant !== 'basicsr' && variant !== 'skimage-default') throw new UsageError(`--ssim must be basicsr or skimage-default, got ${JSON.stringify(variant)}`);
  const net = flags.lpipsNet ?? DEFAULTS.eval.lpips.net;
  if (net !== 'alex' && net !== 'vgg' && net !== 'squeeze') throw new UsageError(`--lpips-net must be alex, vgg or squeeze, got ${JSON.stringify(net)}`);
  return { ...DEFAULTS.eval, metrics: metrics as MetricName[], cropBorder: flags.cropBorder ?? DEFAULTS.eval.cropBorder, yChannel: flags.y ?? DEFAULTS.eval.yChannel, ssim: { variant }, lpips: { net } };
}

export async function evalCommand(flags: EvalFlags): Promise<number> {
  const cfg = evalConfig(flags);
  const pairs = pairFolders(flags.pred, flags.gt);
  if (cfg.metrics.some((m) => m === 'lpips' || m === 'fid' || m === 'kid')) await startBackend(flags, true);
  const report = await evaluatePairs(pairs, cfg, {
    onFrame: (d, t) => {
      if (!flags.json && process.stderr.isTTY) process.stderr.write(`\rscored ${d}/${t} frames`);
    },
  });
  if (!flags.json && process.stderr.isTTY) process.stderr.write('\n');
  const json = metricsJson(report);
  if (flags.out) writeJsonAtomicSync(path.resolve(flags.out), json);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(json)}\n`);
    return 0;
  }
  const lines = [`${report.count} frame pairs, ${Object.keys(report.sequences).length} sequence(s)`];
  for (const [k, v] of Object.entries(report.metrics)) lines.push(`  ${k.padEnd(6)} ${typeof v === 'number' ? v.toFixed(4) : `${v.mean.toFixed(5)} ± ${v.std.toFixed(5)}`}`);
  for (const [k, why] of Object.entries(report.unavailable)) lines.push(`  ${k.padEnd(6)} not computed: ${why}`);
  for (const n of report.notes) lines.push(`  note: ${n}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
