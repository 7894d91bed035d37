/**
 * `divd data check` and `divd data synth`: thin layers over datasets/ (flag parsing, output, exit codes).
 */
import { Command, Option } from 'commander';
import { UsageError } from '../errors.ts';
import {
  checkDataset,
  formatCheckReport,
  synthesize,
  DATASET_KINDS,
  GOPRO_VARIANTS,
  SYNTH_DEFAULTS,
  type DatasetKind,
  type GoProVariant,
  type SynthOptions,
} from '../../datasets/index.ts';

function parseCount(flag: string, lo = 1) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < lo) throw new UsageError(`${flag} must be an integer >= ${lo}, got ${JSON.stringify(value)}`);
    return n;
  };
}

export function parseSize(value: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/i.exec(value);
  if (!m) throw new UsageError(`--size must be WIDTHxHEIGHT (e.g. 64x64), got ${JSON.stringify(value)}`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** `9` (every sequence K = 9) or `7-13` (each sequence draws its own K from the range, as GoPro did). */
export function parseSubframes(value: string): number | [number, number] {
  const single = /^(\d+)$/.exec(value);
  if (single) return Number(single[1]);
  const range = /^(\d+)-(\d+)$/.exec(value);
  if (range) return [Number(range[1]), Number(range[2])];
  throw new UsageError(`--subframes must be K or LO-HI (e.g. 9 or 7-13), got ${JSON.stringify(value)}`);
}

/** `0.2-1` (each frame's shutter open for a fraction drawn from the range) or `0.5` (every frame the same). */
export function parseExposure(value: string): [number, number] {
  const num = String.raw`(\d*\.?\d+)`;
  const m = new RegExp(`^${num}(?:-${num})?$`).exec(value);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(lo > 0 && lo <= hi && hi <= 1)) {
    throw new UsageError(`--exposure must be a fraction F or a range LO-HI with 0 < LO <= HI <= 1 (e.g. 0.2-1), got ${JSON.stringify(value)}`);
  }
  return [lo, hi];
}

/** `3` or `0.5`: a positive speed multiplier, at most 20. */
export function parseMotion(value: string): number {
  const x = /^\d*\.?\d+$/.test(value) ? Number(value) : NaN;
  if (!(x > 0 && x <= 20)) throw new UsageError(`--motion must be a speed multiplier in (0, 20] (e.g. 3), got ${JSON.stringify(value)}`);
  return x;
}

/** Progress on stderr: one rewritten line on a terminal, a line every 10% otherwise (logs, CI). */
function progressReporter(label: string): (done: number, total: number) => void {
  const start = Date.now();
  let lastDecile = -1;
  return (done, total) => {
    const secs = (Date.now() - start) / 1000;
    const rate = done / Math.max(secs, 1e-3);
    const eta = rate > 0 ? (total - done) / rate : 0;
    const line = `${label}: ${done}/${total} (${((100 * done) / total).toFixed(0)}%), ${rate.toFixed(1)}/s, ETA ${eta.toFixed(0)}s`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line}${done === total ? '\n' : ''}`);
    } else {
      const decile = Math.floor((10 * done) / total);
      if (decile !== lastDecile) {
        lastDecile = decile;
        process.stderr.write(`${line}\n`);
      }
    }
  };
}

interface CheckFlags {
  dataset?: DatasetKind;
  variant?: GoProVariant;
  json?: boolean;
  deep?: boolean;
  blurDir?: string;
  sharpDir?: string;
  testSequences?: string;
}

export async function runDataCheck(root: string, flags: CheckFlags): Promise<number> {
  const report = await checkDataset(root, flags.dataset, {
    variant: flags.variant,
    deep: flags.deep,
    blurDir: flags.blurDir,
    sharpDir: flags.sharpDir,
    testSequences: flags.testSequences?.split(',').map((s) => s.trim()).filter(Boolean),
    onProgress: flags.json ? undefined : progressReporter('reading frames'),
  });
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatCheckReport(report)}\n`);
  return report.ok ? 0 : 2;
}

interface SynthFlags {
  out: string;
  sequences: number;
  testSequences?: number;
  frames: number;
  size: { width: number; height: number };
  seed: number;
  subframes: number | [number, number];
  images?: string;
  exposure?: [number, number];
  motion?: number;
  json?: boolean;
}

export async function runDataSynth(flags: SynthFlags): Promise<number> {
  const options: SynthOptions = {
    sequences: flags.sequences,
    testSequences: flags.testSequences ?? (flags.sequences >= 2 ? Math.max(1, Math.floor(flags.sequences / 5)) : 0),
    frames: flags.frames,
    width: flags.size.width,
    height: flags.size.height,
    seed: flags.seed,
    subframes: flags.subframes,
    images: flags.images ?? null,
    ...(flags.exposure ? { exposure: flags.exposure } : {}),
    ...(flags.motion !== undefined && flags.motion !== 1 ? { motion: flags.motion } : {}),
  };
  const report = flags.json ? undefined : progressReporter('synthesising frames');
  const result = await synthesize(flags.out, options, report ? (p) => report(p.done, p.total) : undefined);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ out: result.out, written: result.written, skipped: result.skipped, manifest: result.manifest }, null, 2)}\n`);
  } else {
    const train = result.manifest.sequences.filter((s) => s.split === 'train').length;
    process.stdout.write(
      `wrote ${result.written} frame pairs (${result.skipped} already present) to ${result.out}: ` +
        `${train} train + ${options.sequences - train} test sequences of ${options.frames} frames, ${options.width}x${options.height}\n`,
    );
  }
  return 0;
}

export function buildDataCommand(): Command {
  // addCommand() does not copy the parent's settings: without exitOverride a bad flag would exit 1 directly.
  const data = new Command('data')
    .description('dataset tools: verify a benchmark tree, make a synthetic dataset')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  data
    .command('check <path>')
    .description(
      'verify a dataset tree (layout, pairing, readability, sizes, counts against the published split)\n' +
        'and list every problem; exit 2 when there is any',
    )
    .addOption(new Option('--dataset <kind>', 'layout to check against (default: detected)').choices([...DATASET_KINDS]))
    .addOption(new Option('--variant <name>', 'GoPro blurry folder').choices([...GOPRO_VARIANTS]).default('blur'))
    .option('--deep', 'decode every frame fully, not only headers (catches truncated files; slower)')
    .option('--blur-dir <name>', 'folders layout: blurry folder name (default blur)')
    .option('--sharp-dir <name>', 'folders layout: sharp folder name (default sharp)')
    .option('--test-sequences <a,b,...>', 'folders flat layout: names of the test sequences')
    .option('--json', 'print the report as JSON')
    .action(async (root: string, flags: CheckFlags) => {
      process.exitCode = await runDataCheck(root, flags);
    });

  data
    .command('synth')
    .description(
      'write a synthetic video-deblurring dataset (generic layout <out>/{train,test}/<seq>/{blur,sharp}/):\n' +
        'textured scenes under a smooth camera path with moving objects; blurry = mean of K sub-frames in linear light',
    )
    .requiredOption('--out <dir>', 'output folder (new, or an interrupted run of the same options to resume)')
    .option('--sequences <n>', 'number of sequences', parseCount('--sequences'), SYNTH_DEFAULTS.sequences)
    .option('--test-sequences <n>', 'how many of them form the test split (default: a fifth, at least 1)', parseCount('--test-sequences', 0))
    .option('--frames <n>', 'frames per sequence', parseCount('--frames'), SYNTH_DEFAULTS.frames)
    .option('--size <WxH>', 'frame size', parseSize, { width: SYNTH_DEFAULTS.width, height: SYNTH_DEFAULTS.height })
    .option('--seed <s>', 'random seed', parseCount('--seed', 0), SYNTH_DEFAULTS.seed)
    .option('--subframes <K|LO-HI>', 'sub-frames averaged per blurry frame, fixed or drawn per sequence', parseSubframes, SYNTH_DEFAULTS.subframes)
    .option('--images <dir>', 'use the photographs in this folder as scene backgrounds')
    .option(
      '--exposure <F|LO-HI>',
      'shutter open for this fraction of the K sub-frames, drawn per frame (default: fully open); e.g. 0.1-1 gives\n' +
        'videos whose frames range from sharp to fully blurred, so neighbouring frames carry detail a frame lacks',
      parseExposure,
    )
    .option(
      '--motion <X>',
      'speed multiplier of the camera and objects (default 1: under a pixel per sub-frame at 64 px); e.g. 3 moves\n' +
        'content several pixels between frames, so a model has to look further across frames to use them',
      parseMotion,
    )
    .option('--json', 'print the result as JSON')
    .action(async (flags: SynthFlags) => {
      process.exitCode = await runDataSynth(flags);
    });

  return data;
}
