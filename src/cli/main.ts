/**
 * The divd command line. Each command is a thin layer over a library function; this file only
 * wires flags, output format and exit codes (0 ok, 1 failure, 2 bad input).
 */
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { isUsageError, UsageError } from '../errors.ts';
import { shutdownBackend, BACKEND_NAMES } from '../backend/index.ts';
import { formatDoctor, runDoctor } from './doctor.ts';
import { runPlanCommand } from './plan.ts';
import { runSync } from './sync.ts';
import { buildDataCommand } from './data.ts';
import { buildWeightsCommand } from './weights.ts';
import { reportCommand } from './report.ts';
import { evalCommand, runCommand, trialCommand, type RunFlags } from './run.ts';
import { statusCommand } from './status.ts';
import { cancelCommand } from './cancel.ts';
import { modelSummary, renderModelSummary } from './model.ts';
import { deblurCommand } from './deblur.ts';
import { evalStageCommand, sampleStageCommand, trainStageCommand } from './stages.ts';
import { prepareCommand } from './prepare.ts';
import { probeCommand } from './probe.ts';

function parseThreads(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--threads must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function parseThreadsLike(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
    return n;
  };
}

function parseNonNegative(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
    return n;
  };
}

function parseSeconds(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number of seconds, got ${JSON.stringify(value)}`);
    return n;
  };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const RUN_HELP = `
Launchers:
  local (default)  trials on this machine: one at a time in this process, or --jobs N
                   processes at once.
  slurm            one Slurm array job, one task per pending trial (finished trials are
                   skipped, failed ones resubmitted, ones Slurm already holds left alone).
                   Each task runs \`divd trial <spec> --id <trial> --parent-run <sweep run>\`
                   in this directory, its output in runs/<experiment>/<trial>/slurm.log.
                   The script and its task map are kept in
                   runs/<experiment>/slurm/<time>/{job.sbatch,tasks.json}.
                   Returns after sbatch unless --wait. Runs dir, data and tracking
                   (mlruns/ or an MLflow server) must be reachable from the nodes.

Examples:
  divd run experiments/smoke.yaml --jobs 2
  divd run experiments/ablation-windows.yaml --launcher slurm --partition gpu \\
      --gpus-per-trial 1 --cpus-per-trial 8 --mem 32G --time 48:00:00 \\
      --max-concurrent 4 --requeue --sbatch-arg=--account=lab
  divd status experiments/ablation-windows.yaml --wait   # follow the array, then report
  divd cancel experiments/ablation-windows.yaml
`;

function backendOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--backend <name>', `TensorFlow.js backend: auto, ${BACKEND_NAMES.join(', ')} (env DIVD_BACKEND)`),
    )
    .addOption(new Option('--threads <n>', 'wasm threads (env DIVD_THREADS; default: one per core)').argParser(parseThreads));
}

/** Flags that override a trial's sample config, shared by `divd sample` and `divd deblur`. */
function samplingOverrideOptions(cmd: Command): Command {
  return cmd
    .option('--sampler <name>', 'ddim or ddpm (default: the trial\'s)')
    .option('--steps <n>', 'DDIM steps', parseThreadsLike('--steps'))
    .option('--spacing <mode>', 'DDIM levels: leading (DDIM\'s, 900..0 for 10 steps) or trailing (999..99; starts from pure noise, better for few steps)')
    .option('--seed <n>', 'sampling seed', parseNonNegative('--seed'))
    .option('--tile <n>', 'denoise in tiles of n pixels (0: whole frames)', parseNonNegative('--tile'))
    .option('--tile-overlap <n>', 'pixels shared by neighbouring tiles', parseNonNegative('--tile-overlap'))
    .option('--window <mode>', 'blocks (every frame of non-overlapping F-frame windows) or centre (a window per frame, its centre output kept; F times the work)');
}

export function buildProgram(): Command {
  const program = new Command('divd')
    .description(
      'Research harness for DIVD video deblurring (arXiv 2412.00773): experiment specs, training, sampling, ' +
        'metrics (PSNR SSIM LPIPS FID KID), MLflow tracking and paper-style reports.',
    )
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  backendOptions(
    program
      .command('doctor')
      .summary('check what this machine can run')
      .description('report Node, the TensorFlow.js backend chosen (and why not the others), threads, SIMD, memory, and optional pieces (ffmpeg, chromium, weights, tracking URI); exit 0 when the default pipeline can run')
      .option('--json', 'print one JSON object instead of text'),
  ).action(async (opts: { json?: boolean; backend?: string; threads?: number }) => {
    const report = await runDoctor({ backend: opts.backend, threads: opts.threads });
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
    if (!report.ok) process.exitCode = 1;
  });

  backendOptions(
    program
      .command('run')
      .summary('run a spec\'s pending trials, then report')
      .description(
        'run an experiment spec: plan its trials, train, sample and evaluate every pending one (finished ' +
          'trials are cached by id; interrupted ones resume from their last checkpoint), log to MLflow, write the report',
      )
      .argument('<spec>', 'experiment spec (YAML), e.g. experiments/smoke.yaml')
      .option('--runs <dir>', 'runs directory (run directories are <runs>/<experiment>/<trial id>/)', 'runs')
      .option('--only <trial...>', 'run only these trials (label, id or id prefix, as `divd plan` shows them)')
      .option('--no-report', 'skip writing the report at the end')
      .option('--report-dir <dir>', 'report folder (default: reports/<experiment>/)')
      .option('--json', 'print one JSON object (trial outcomes, report files) instead of text')
      .option('--force', 're-run finished trials too (their run directories start afresh)')
      .option('--jobs <n>', 'local launcher: trials at once, each in its own process with cores/n threads (default 1)', parseThreadsLike('--jobs'))
      .option('--launcher <name>', 'where trials run: local (this machine, the default) or slurm (one array job)')
      .option('--partition <name>', 'slurm: partition (sbatch --partition)')
      .option('--gpus-per-trial <n>', 'slurm: GPUs per trial (--gres=gpu:N)', parseNonNegative('--gpus-per-trial'))
      .option('--cpus-per-trial <n>', 'slurm: cores per trial (--cpus-per-task; also its wasm thread count)', parseThreadsLike('--cpus-per-trial'))
      .option('--mem <size>', 'slurm: memory per trial, e.g. 32G')
      .option('--time <limit>', 'slurm: time limit per trial, e.g. 48:00:00 or 2-00:00:00')
      .option('--max-concurrent <k>', 'slurm: array tasks running at once (--array=…%K; default unlimited)', parseThreadsLike('--max-concurrent'))
      .option('--sbatch-arg <arg>', 'slurm: one more sbatch option, repeatable, e.g. --sbatch-arg=--account=lab', collect)
      .option('--requeue', 'slurm: let Slurm requeue preempted trials (they resume from their last checkpoint)')
      .option('--wait', 'slurm: follow the array until it ends, then write the report (default: return after sbatch)')
      .option('--poll <seconds>', 'slurm --wait: seconds between squeue polls (default 10)', parseSeconds('--poll'))
      .option('--quiet', 'no progress output')
      .addHelpText('after', RUN_HELP),
  ).action(async (spec: string, opts: RunFlags) => {
    process.exitCode = await runCommand(spec, opts);
  });

  program
    .command('status')
    .summary('where every trial of a spec stands')
    .description(
      'where every trial of a spec stands: finished, running (stage, step, ETA), queued in Slurm (job_task and ' +
        'reason), pending, failed (error and the last lines of its log); reads run directories and squeue',
    )
    .argument('<spec>', 'experiment spec (YAML)')
    .option('--runs <dir>', 'runs directory', 'runs')
    .option('--only <trial...>', 'only these trials (label, id or id prefix)')
    .option('--wait', 'poll until nothing is queued or running, then write the report and end the sweep\'s tracker run; exit 1 if a trial failed')
    .option('--poll <seconds>', 'seconds between polls with --wait (default 10)', parseSeconds('--poll'))
    .option('--no-report', 'with --wait: skip writing the report')
    .option('--report-dir <dir>', 'report folder (default: reports/<experiment>/)')
    .option('--json', 'print one JSON object instead of text')
    .action(async (spec: string, opts: { runs: string; only?: string[]; wait?: boolean; poll?: number; report: boolean; reportDir?: string; json?: boolean }) => {
      process.exitCode = await statusCommand(spec, opts);
    });

  program
    .command('cancel')
    .summary('cancel the Slurm jobs of a spec\'s trials')
    .description('cancel (scancel) the Slurm jobs holding queued or running trials of a spec; the trials keep their checkpoints and the next `divd run --launcher slurm` resubmits them')
    .argument('<spec>', 'experiment spec (YAML)')
    .option('--runs <dir>', 'runs directory', 'runs')
    .option('--json', 'print one JSON object instead of text')
    .action((spec: string, opts: { runs: string; json?: boolean }) => {
      process.exitCode = cancelCommand(spec, opts);
    });

  backendOptions(
    program
      .command('trial')
      .summary('run (or resume) one trial of a spec')
      .description('run (or resume) one trial of a spec in its run directory — what launchers call')
      .argument('<spec>', 'experiment spec (YAML)')
      .requiredOption('--id <trial>', 'trial id (or a unique prefix or label)')
      .option('--runs <dir>', 'runs directory', 'runs')
      .option('--parent-run <id>', 'log as a child of this tracker run (the sweep run of `divd run --jobs` or a launcher)')
      .option('--json', 'print one JSON object instead of text')
      .option('--quiet', 'no progress output'),
  ).action(async (spec: string, opts: { id: string; runs: string; json?: boolean; quiet?: boolean; parentRun?: string; backend?: string; threads?: number }) => {
    process.exitCode = await trialCommand(spec, opts);
  });

  program
    .command('prepare')
    .summary('make trials\' run directories, run nothing')
    .description(
      'write the run directory of each trial of a spec (config.json, trial.json, status.json, its tracker run) without running ' +
        'anything, then print the directories, one per line, for `divd train|sample|eval --trial <dir>`; run directories ' +
        'already there are left untouched',
    )
    .argument('<spec>', 'experiment spec (YAML)')
    .option('--only <trial...>', 'only these trials (label, id or id prefix, as `divd plan` shows them)')
    .option('--runs <dir>', 'runs directory (run directories are <runs>/<experiment>/<trial id>/)', 'runs')
    .option('--json', 'print one JSON object (each trial\'s run directory and whether it was created) instead of text')
    .option('--quiet', 'no notes on stderr (stdout holds only the run directories)')
    .addHelpText('after', '\nExample:\n  for dir in $(divd prepare experiments/smoke.yaml); do divd train --trial "$dir"; done\n')
    .action(async (spec: string, opts: { runs: string; only?: string[]; json?: boolean; quiet?: boolean }) => {
      process.exitCode = await prepareCommand(spec, opts);
    });

  backendOptions(
    program
      .command('eval')
      .summary('score restored frames, or a trial\'s samples')
      .description(
        'score any method\'s restored frames against ground truth: PSNR, SSIM, and LPIPS/FID/KID when their weights ' +
          'are present; frames pair by relative path (<seq>/<frame>, any image extension)',
      )
      .option('--pred <dir>', 'folder of restored frames')
      .option('--gt <dir>', 'folder of ground-truth frames')
      .option('--trial <run-dir>', 'instead of --pred/--gt: score a trial\'s samples/ against its test split with its eval config, into its metrics.json')
      .option('--metrics <list>', 'comma-separated: psnr,ssim,lpips,fid,kid (default: all)')
      .option('--crop-border <n>', 'pixels dropped at each border before PSNR/SSIM', parseNonNegative('--crop-border'))
      .option('--y', 'PSNR/SSIM on the Y channel (BT.601) instead of RGB')
      .option('--ssim <variant>', 'basicsr (default, the deblurring papers\' convention) or skimage-default')
      .option('--lpips-net <net>', 'alex (default), vgg or squeeze')
      .option('--out <file>', 'also write metrics.json here (atomic)')
      .option('--weights-dir <dir>', 'folder of the LPIPS/FID weights files (default: $DIVD_WEIGHTS_DIR or ~/.cache/divd/weights)')
      .option('--trust-weights', 'use weights files that are not the published ones (refused otherwise); the results then carry a note that they are not comparable with published numbers (same as DIVD_TRUST_WEIGHTS=1)')
      .option('--json', 'print the metrics.json object instead of text'),
  ).action(async (opts: { pred?: string; gt?: string; trial?: string; metrics?: string; cropBorder?: number; y?: boolean; ssim?: string; lpipsNet?: string; out?: string; json?: boolean; backend?: string; threads?: number; weightsDir?: string; trustWeights?: boolean }) => {
    // Through the environment, so the --trial path (and anything it starts) evaluates with the same weights policy.
    if (opts.weightsDir !== undefined) process.env.DIVD_WEIGHTS_DIR = path.resolve(opts.weightsDir);
    if (opts.trustWeights) process.env.DIVD_TRUST_WEIGHTS = '1';
    if (opts.trial !== undefined) {
      const folderOnly = (['pred', 'gt', 'metrics', 'cropBorder', 'y', 'ssim', 'lpipsNet'] as const).filter((k) => opts[k] !== undefined);
      if (folderOnly.length) throw new UsageError(`--trial scores with the trial's own eval config; drop --${folderOnly.map((k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join(', --')}`);
      process.exitCode = await evalStageCommand({ ...opts, trial: opts.trial });
      return;
    }
    if (opts.pred === undefined || opts.gt === undefined) throw new UsageError('divd eval needs --pred DIR and --gt DIR, or --trial <run dir>');
    process.exitCode = await evalCommand({ ...opts, pred: opts.pred, gt: opts.gt });
  });

  backendOptions(
    program
      .command('train')
      .summary('train stage of one trial (--trial DIR)')
      .description('train (or resume) one trial from its run directory alone (config.json): the train stage of `divd trial`')
      .requiredOption('--trial <run-dir>', 'run directory, runs/<experiment>/<trial id>/')
      .option('--json', 'print one JSON object instead of text')
      .option('--quiet', 'no progress output'),
  ).action(async (opts: { trial: string; json?: boolean; quiet?: boolean; backend?: string; threads?: number }) => {
    process.exitCode = await trainStageCommand(opts);
  });

  backendOptions(
    samplingOverrideOptions(program
      .command('sample')
      .summary('sample stage of one trial (--trial DIR)')
      .description('restore a trial\'s test split with the EMA weights of one of its checkpoints: the sample stage of `divd trial`, into the run directory\'s samples/ (or -o DIR); flags override the trial\'s sample config')
      .requiredOption('--trial <run-dir>', 'run directory, runs/<experiment>/<trial id>/')
      .option('--checkpoint <which>', 'last (default), best (lowest validation loss) or a step number')
    )
      .option('-o, --out <dir>', 'write frames here instead (status.json and the tracker are left alone)')
      .option('--force', 'replace a non-empty -o folder')
      .option('--json', 'print one JSON object instead of text')
      .option('--quiet', 'no progress output'),
  ).action(async (opts: { trial: string; checkpoint?: string; sampler?: string; steps?: number; seed?: number; tile?: number; tileOverlap?: number; window?: string; out?: string; force?: boolean; json?: boolean; quiet?: boolean; backend?: string; threads?: number }) => {
    process.exitCode = await sampleStageCommand(opts);
  });

  backendOptions(
    samplingOverrideOptions(program
      .command('deblur')
      .summary('deblur your own video or frames with a trial')
      .description(
        'deblur your own footage with a trained trial: a folder of png/jpg frames → png frames with the same names, ' +
          'or a video (through ffmpeg) → a video at the same frame rate (-o *.mp4/.mkv/.mov/.avi/.webm) or frames (-o DIR)',
      )
      .argument('<input>', 'a video file or a folder of png/jpg frames (all of one size)')
      .requiredOption('--checkpoint <run-dir|file>', 'a run directory (its last checkpoint) or a checkpoint file in its checkpoints/')
      .requiredOption('-o, --out <path>', 'output folder of frames, or a video file')
    )
      .option('--fps <n>', 'frame rate when a frames folder becomes a video (default 30)', parseThreadsLike('--fps'))
      .option('--force', 'replace a non-empty output')
      .option('--json', 'print one JSON object instead of text')
      .option('--quiet', 'no progress output'),
  ).action(async (input: string, opts: { checkpoint: string; out: string; sampler?: string; steps?: number; seed?: number; tile?: number; tileOverlap?: number; window?: string; fps?: number; force?: boolean; json?: boolean; quiet?: boolean; backend?: string; threads?: number }) => {
    process.exitCode = await deblurCommand(input, opts);
  });

  backendOptions(
    program
      .command('probe')
      .summary('how much trained trials use other frames')
      .description(
        'temporal-context probe: the held-out test loss of a trained trial with every frame in its window of F frames, and with every frame ' +
          'alone (its window filled with copies of it), per noise level, same checkpoint and noise; the gap (context gain) is what the other ' +
          'frames give the model. Tells a frames or window ablation that wins by using temporal context from one that wins by seeing more data ' +
          'per step. Writes probe-context.json into each run directory; divd report then shows "Test loss, frame alone" and "Context gain" columns',
      )
      .argument('<dirs...>', 'run directories (runs/<experiment>/<trial id>/) or experiment folders (runs/<experiment>/: every trained trial in it)')
      .option('--checkpoint <which>', 'last (default), best (lowest validation loss) or a step number')
      .option('--force', 'probe again trials whose probe-context.json is already for that checkpoint')
      .option('--json', 'print the probe (one run directory) or a list of them as JSON instead of text')
      .option('--quiet', 'no progress output'),
  ).action(async (dirs: string[], opts: { checkpoint?: string; force?: boolean; json?: boolean; quiet?: boolean; backend?: string; threads?: number }) => {
    process.exitCode = await probeCommand(dirs, opts);
  });

  backendOptions(
    program
      .command('plan')
      .summary('list a spec\'s trials, state and work left')
      .description(
        'list the trials a spec expands to: id, label, swept values and state (pending, or the stage in runs/<experiment>/<id>/status.json), ' +
          'and the work left: training steps, sampling forward passes, FLOPs and a time estimate from logged step rates (or --measure); exit 2 with every problem when the spec is invalid',
      )
      .argument('<spec>', 'experiment spec (YAML), e.g. experiments/smoke.yaml')
      .option('--json', 'print one JSON object instead of text')
      .option('--runs <dir>', 'runs directory', 'runs')
      .option('--measure', 'time two training steps of each model/crop/batch left on this backend for the estimate (minutes per step for the paper-size model on a CPU)'),
  ).action(async (spec: string, opts: { json?: boolean; runs?: string; measure?: boolean; backend?: string; threads?: number }) => runPlanCommand(spec, opts));

  program
    .command('sync')
    .summary('replay tracking records spooled offline')
    .description('replay the tracking records trials spooled while MLflow was unreachable (idempotent: records the server already acknowledged are never sent twice); exit 1 if anything is left unsynced')
    .argument('[runs-dir]', 'directory searched (recursively) for tracking spools', 'runs')
    .option('--tracking-uri <url>', 'send to this MLflow server instead of the one each record names')
    .option('--json', 'print one JSON object instead of text')
    .action(async (runsDir: string, opts: { trackingUri?: string; json?: boolean }) => {
      process.exitCode = await runSync(runsDir, opts);
    });

  program.addCommand(buildDataCommand().summary('check a dataset tree, make a synthetic one'));
  program.addCommand(buildWeightsCommand().summary('fetch and verify LPIPS/FID weights files'));

  program
    .command('report')
    .summary('write the HTML report and tables of a spec')
    .description('write a paper-style report (index.html, tables.md, tables.tex, results.csv) from runs/<experiment>/')
    .argument('<spec|runs-dir>', 'an experiment spec (its runs under --runs) or the experiment\'s runs directory, runs/<experiment>/')
    .option('--runs <dir>', 'runs directory when a spec is given', 'runs')
    .option('--out <dir>', 'output directory (default: reports/<experiment>/)')
    .option('--published <dir>', 'published numbers directory (default: reports/published/ of this checkout)')
    .option('--json', 'print one JSON object instead of text')
    .action(async (target: string, opts: { out?: string; json?: boolean; published?: string; runs?: string }) => {
      await reportCommand(target, opts);
    });

  const model = program.command('model').summary('inspect a DIVD model').description('inspect the DIVD model a config describes');
  model
    .command('summary')
    .summary('layers, parameters and FLOPs of a model')
    .description('layers, parameter count and FLOPs per training and sampling step for an input size')
    .argument('[config]', 'JSON file with a "model" (or "base.model") object; defaults when omitted')
    .option('--size <n|HxW>', 'frame size', '144')
    .option('--frames <n>', 'frames per window (overrides model.frames)', parseThreadsLike('--frames'))
    .option('--sequences <n>', 'sequences per batch', parseThreadsLike('--sequences'), 1)
    .option('--json', 'print one JSON object instead of text')
    .action(async (file: string | undefined, opts: { size: string; frames?: number; sequences: number; json?: boolean }) => {
      const summary = await modelSummary(file, opts);
      process.stdout.write(`${renderModelSummary(summary, opts.json ?? false)}\n`);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version "errors" are successful exits; everything else is a usage error.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isUsageError(e)) {
      process.stderr.write(`divd: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`divd: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  } finally {
    shutdownBackend();
  }
}

