/**
 * `npm run bench -- train [--json] [--only divd|torch] [--cases reference,smoke] [--threads 1,2] [--steps n]
 * [--warmup n]`: ms per training step (forward + backward + clipping + Adam, src/train's path) of the reference
 * UNet of wasm-perf.md and of the smoke spec's model, in divd on wasm and in the PyTorch port of the same
 * architecture (bench/reference/), 1 and 2 threads, in the same run; plus DDIM sampling frames/s for the smoke
 * case. Each divd thread count runs in its own child process (wasm threads are fixed at start-up), and so does
 * each PyTorch run. With --json the last line is the reference UNet at the highest thread count:
 * {"divd_ms", "torch_ms", "ratio", "threads", "peak_rss_mb"}.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../src/errors.ts';
import { initBackend, shutdownBackend } from '../src/backend/index.ts';
import { CASE_NAMES, trainCase, type CaseName, type TrainCase } from './train-cases.ts';
import { runDivdCase, type DivdRun } from './train-divd.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = path.join(here, 'reference', 'bench_train.py');

export interface TorchRun {
  parameters: number;
  threads: number;
  torch: string;
  stepMs: number;
  stepMinMs: number;
  runs: number;
  sampleFps?: number;
  peakRssMb: number;
  /** max |torch − divd| / max |divd| of one prediction with divd's (randomised) weights, when checked. */
  agreement?: number;
}

export interface CaseResult {
  name: CaseName;
  about: string;
  parameters: number;
  trainStepGflop: number;
  threads: number;
  divd?: DivdRun;
  torch?: TorchRun;
}

export interface TrainBenchOptions {
  json: boolean;
  only?: 'divd' | 'torch';
  cases: CaseName[];
  threads: number[];
  /** Timed steps per run; warm-up steps before them (the first wasm steps create XNNPACK operators). */
  steps?: number;
  warmup?: number;
}

/** The line `--json` ends with; `divd_ms`/`torch_ms` are null for the side `--only` left out. */
export interface JsonSummary {
  divd_ms: number | null;
  torch_ms: number | null;
  ratio: number | null;
  threads: number;
  peak_rss_mb: number | null;
}

function parseList<T>(flag: string, raw: string | undefined, parse: (s: string) => T): T[] {
  if (raw === undefined || raw === '') throw new UsageError(`${flag}: expected a comma-separated list`);
  return raw.split(',').map(parse);
}

export function parseTrainArgs(args: string[]): TrainBenchOptions {
  const value = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const only = value('--only');
  if (only !== undefined && only !== 'divd' && only !== 'torch') throw new UsageError(`--only: expected divd or torch, got ${JSON.stringify(only)}`);
  const cases = args.includes('--cases')
    ? parseList('--cases', value('--cases'), (s) => {
        if (!(CASE_NAMES as readonly string[]).includes(s)) throw new UsageError(`--cases: unknown case ${JSON.stringify(s)} (known: ${CASE_NAMES.join(', ')})`);
        return s as CaseName;
      })
    : [...CASE_NAMES];
  const positive = (flag: string) => (s: string) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0 || (flag === '--threads' && n < 1)) throw new UsageError(`${flag}: expected a positive integer, got ${JSON.stringify(s)}`);
    return n;
  };
  const threads = args.includes('--threads') ? parseList('--threads', value('--threads'), positive('--threads')) : [1, 2];
  const steps = args.includes('--steps') ? positive('--steps')(value('--steps') ?? '') : undefined;
  const warmup = args.includes('--warmup') ? positive('--warmup')(value('--warmup') ?? '') : undefined;
  return { json: args.includes('--json'), only: only as TrainBenchOptions['only'], cases, threads, steps, warmup };
}

/** Reference steps take seconds, smoke steps a fraction: fewer timed runs for the big one. */
function stepsFor(c: TrainCase, o: TrainBenchOptions): { steps: number; warmup: number } {
  return { steps: o.steps ?? (c.name === 'reference' ? 5 : 15), warmup: o.warmup ?? 3 };
}

function lastJsonLine<T>(stdout: string, what: string): T {
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`${what} printed no JSON result (last line: ${JSON.stringify(last.slice(0, 200))})`);
  }
}

function runDivdChild(c: TrainCase, threads: number, o: TrainBenchOptions, checkFile?: string): DivdRun {
  const { steps, warmup } = stepsFor(c, o);
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', c.name, '--steps', String(steps), '--warmup', String(warmup)];
  if (checkFile) args.push('--check', checkFile);
  const child = spawnSync(process.execPath, args, {
    env: { ...process.env, DIVD_THREADS: String(threads), DIVD_BACKEND: 'wasm' },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (child.status !== 0) throw new Error(`divd bench child (${c.name}, ${threads} thread(s)) failed with exit ${child.status}`);
  return lastJsonLine<DivdRun>(child.stdout, `divd child (${c.name}, ${threads} thread(s))`);
}

function runTorch(c: TrainCase, threads: number, o: TrainBenchOptions, checkFile?: string): TorchRun {
  const { steps, warmup } = stepsFor(c, o);
  const input = {
    model: c.model,
    sequences: c.sequences,
    crop: c.crop,
    threads,
    steps,
    warmup,
    prediction: c.diffusion.prediction,
    timesteps: c.diffusion.timesteps,
    betaStart: c.diffusion.betaStart,
    betaEnd: c.diffusion.betaEnd,
    schedule: c.diffusion.schedule,
    lr: c.lr,
    gradClip: c.gradClip,
    sampleSteps: c.sample ? c.sample.steps : 0,
    divdWeights: checkFile,
  };
  if (c.diffusion.schedule !== 'linear') throw new Error(`bench_train.py implements the linear schedule only, the ${c.name} case uses ${c.diffusion.schedule}`);
  // Debian's OpenBLAS has its own pthreads; with torch's OpenMP on top the 2 cores are oversubscribed
  // (wasm-perf.md §4.12), so BLAS stays single-threaded and torch.set_num_threads parallelises.
  const child = spawnSync(PYTHON, [TORCH_SCRIPT, JSON.stringify(input)], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: String(threads) },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (child.error) throw new Error(`cannot run ${PYTHON}: ${child.error.message}`);
  if (child.status !== 0) throw new Error(`${TORCH_SCRIPT} (${c.name}, ${threads} thread(s)) failed with exit ${child.status}`);
  const run = lastJsonLine<TorchRun>(child.stdout, `bench_train.py (${c.name}, ${threads} thread(s))`);
  if (run.parameters !== c.parameters) {
    throw new Error(`the PyTorch port of the ${c.name} model has ${run.parameters} parameters, divd's has ${c.parameters}: the architectures differ`);
  }
  return run;
}

export async function runTrainBench(o: TrainBenchOptions): Promise<{ results: CaseResult[]; summary: JsonSummary }> {
  // The parent only builds models to count parameters and FLOPs; the cpu backend starts instantly.
  await initBackend({ requested: 'cpu' });
  const results: CaseResult[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-bench-train-'));
  try {
    for (const name of o.cases) {
      const c = trainCase(name);
      process.stderr.write(`${c.name}: ${c.about}; ${c.parameters.toLocaleString('en-US')} parameters, ${(c.trainStepFlops / 1e9).toFixed(2)} GFLOP/step\n`);
      o.threads.forEach((threads, i) => {
        // The smoke model's output is compared once with the port's (weights and inputs from divd).
        const checkFile = c.name === 'smoke' && i === 0 && !o.only ? path.join(tmp, 'check.json') : undefined;
        const r: CaseResult = { name: c.name, about: c.about, parameters: c.parameters, trainStepGflop: c.trainStepFlops / 1e9, threads };
        // divd first, then torch at the same thread count, so both see similar load on a shared machine.
        if (o.only !== 'torch') r.divd = runDivdChild(c, threads, o, checkFile);
        if (o.only !== 'divd') r.torch = runTorch(c, threads, o, checkFile);
        process.stderr.write(`  ${threads} thread(s): divd ${r.divd ? `${r.divd.stepMs.toFixed(0)} ms` : '-'}, torch ${r.torch ? `${r.torch.stepMs.toFixed(0)} ms` : '-'}\n`);
        results.push(r);
      });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { results, summary: summarize(results) };
}

/** The reference UNet at its highest thread count (or the first case run when the reference was left out). */
export function summarize(results: CaseResult[]): JsonSummary {
  const pool = results.some((r) => r.name === 'reference') ? results.filter((r) => r.name === 'reference') : results.filter((r) => r.name === results[0]?.name);
  const top = pool.reduce<CaseResult | undefined>((a, r) => (!a || r.threads > a.threads ? r : a), undefined);
  const divdMs = top?.divd?.stepMs ?? null;
  const torchMs = top?.torch?.stepMs ?? null;
  const round = (x: number | null, d: number) => (x === null ? null : Number(x.toFixed(d)));
  return {
    divd_ms: round(divdMs, 1),
    torch_ms: round(torchMs, 1),
    ratio: divdMs !== null && torchMs !== null ? round(divdMs / torchMs, 3) : null,
    threads: top?.threads ?? 0,
    peak_rss_mb: round(top?.divd?.peakRssMb ?? top?.torch?.peakRssMb ?? null, 1),
  };
}

const f = (x: number | undefined | null, d = 0): string => (x === undefined || x === null ? '-' : x.toFixed(d));

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function formatTrainReport(results: CaseResult[]): string {
  const gflops = (r: CaseResult, ms: number | undefined) => (ms ? f(r.trainStepGflop / (ms / 1000), 1) : '-');
  const steps = table(
    ['case', 'thr', 'divd ms', 'torch ms', 'divd/torch', 'divd GFLOP/s', 'torch GFLOP/s', 'divd RSS MB', 'wasm heap MB', 'torch RSS MB'],
    results.map((r) => [
      r.name,
      String(r.threads),
      f(r.divd?.stepMs),
      f(r.torch?.stepMs),
      r.divd && r.torch ? `${(r.divd.stepMs / r.torch.stepMs).toFixed(2)}x` : '-',
      gflops(r, r.divd?.stepMs),
      gflops(r, r.torch?.stepMs),
      f(r.divd?.peakRssMb),
      f(r.divd?.wasmHeapMb),
      f(r.torch?.peakRssMb),
    ]),
  );
  const sampled = results.filter((r) => r.divd?.sampleFps !== undefined || r.torch?.sampleFps !== undefined);
  const parts = [
    'training step = forward + backward + global-norm clip + Adam (median ms after warm-up); GFLOP/s from src/model\'s count (3x forward)',
    ...[...new Map(results.map((r) => [r.name, r])).values()].map(
      (r) => `  ${r.name}: ${r.about}; ${r.parameters.toLocaleString('en-US')} parameters in both; ${r.trainStepGflop.toFixed(2)} GFLOP/step`,
    ),
    '',
    steps,
  ];
  if (sampled.length) {
    parts.push(
      '',
      'DDIM sampling (forward only, sample.steps model calls), frames per second',
      table(
        ['case', 'thr', 'divd fps', 'torch fps', 'torch/divd'],
        sampled.map((r) => [
          r.name,
          String(r.threads),
          f(r.divd?.sampleFps, 2),
          f(r.torch?.sampleFps, 2),
          r.divd?.sampleFps && r.torch?.sampleFps ? `${(r.torch.sampleFps / r.divd.sampleFps).toFixed(2)}x` : '-',
        ]),
      ),
    );
  }
  const agreement = results.find((r) => r.torch?.agreement !== undefined)?.torch?.agreement;
  if (agreement !== undefined) parts.push('', `PyTorch port vs divd, one prediction with the same random weights: max rel. difference ${agreement.toExponential(1)}`);
  const ref = results.filter((r) => r.name === 'reference' && r.divd && r.torch);
  if (ref.length) {
    parts.push('', '== targets (issue 3) ==');
    for (const r of ref) {
      const ratio = r.divd!.stepMs / r.torch!.stepMs;
      parts.push(`  ${ratio <= 2 ? 'MET ' : 'MISS'} reference, ${r.threads} thread(s): divd/torch ${ratio.toFixed(2)} (target <= 2.0)`);
      if (r.divd!.wasmHeapMb !== null) {
        parts.push(`  ${r.divd!.wasmHeapMb <= 1200 ? 'MET ' : 'MISS'} reference, ${r.threads} thread(s): wasm heap ${r.divd!.wasmHeapMb.toFixed(0)} MB (target <= 1200)`);
      }
    }
  }
  return parts.join('\n');
}

export async function runTrainBenchCli(args: string[]): Promise<void> {
  const o = parseTrainArgs(args);
  const { results, summary } = await runTrainBench(o);
  if (o.json) process.stdout.write(`${JSON.stringify({ results })}\n${JSON.stringify(summary)}\n`);
  else process.stdout.write(`${formatTrainReport(results)}\n`);
}

if (process.argv.includes('--child')) {
  const value = (flag: string) => process.argv[process.argv.indexOf(flag) + 1]!;
  await initBackend({ requested: 'wasm' });
  const c = trainCase(value('--child') as CaseName);
  const run = runDivdCase(c, {
    steps: Number(value('--steps')),
    warmup: Number(value('--warmup')),
    checkFile: process.argv.includes('--check') ? value('--check') : undefined,
  });
  process.stdout.write(`${JSON.stringify(run)}\n`);
  shutdownBackend();
}
