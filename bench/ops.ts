/**
 * `npm run bench -- ops`: forward+backward time of every src/nn op against the plain tfjs formulation,
 * measured in the same process, once with 1 wasm thread and once with all threads. Threads are fixed when
 * the wasm module starts, so each thread count runs in its own child process (this file with --child).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../src/backend/index.ts';
import { opCases } from './ops-cases.ts';
import { DEFAULT_TIMING, timePass, type Timing } from './timing.ts';

export interface OpResult {
  name: string;
  shape: string;
  gflop: number;
  divd: Timing;
  plain: Timing | { skipped: string };
  plainNote?: string;
  /** max |divd − plain| / max |plain| over all gradients; null when plain did not run. */
  agreement: number | null;
}

export interface RunResult {
  backend: string;
  threads: number;
  simd: boolean;
  ops: OpResult[];
}

function relDiff(a: tf.Tensor[], b: tf.Tensor[]): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!.dataSync();
    const y = b[i]!.dataSync();
    let num = 0;
    let den = 0;
    for (let j = 0; j < x.length; j++) {
      num = Math.max(num, Math.abs(x[j]! - y[j]!));
      den = Math.max(den, Math.abs(y[j]!));
    }
    worst = Math.max(worst, den > 0 ? num / den : num);
  }
  return worst;
}

/** Runs every case on this process's backend (child mode). */
export async function runOpsHere(filter?: string): Promise<RunResult> {
  const info = await initBackend();
  const results: OpResult[] = [];
  for (const c of opCases()) {
    if (filter && !c.name.includes(filter)) continue;
    const { divd, plain, dispose } = c.setup();
    let agreement: number | null = null;
    if (typeof plain !== 'string') {
      const a = divd();
      const b = plain();
      agreement = relDiff(a, b);
      tf.dispose([...a, ...b]);
    }
    const divdTiming = timePass(divd, DEFAULT_TIMING);
    const plainTiming = typeof plain === 'string' ? { skipped: plain } : timePass(plain, DEFAULT_TIMING);
    dispose();
    results.push({ name: c.name, shape: c.shape, gflop: c.gflop, divd: divdTiming, plain: plainTiming, agreement, ...(c.plainNote ? { plainNote: c.plainNote } : {}) });
    process.stderr.write(`  [${info.threads} thread${info.threads > 1 ? 's' : ''}] ${c.name} ${c.shape}: ${divdTiming.medianMs.toFixed(1)} ms\n`);
  }
  return { backend: info.name, threads: info.threads, simd: info.simd, ops: results };
}

/** Runs the cases in a child process with the given wasm thread count and returns its result. */
function runChild(threads: number, filter?: string): RunResult {
  const self = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', self, '--child', ...(filter ? ['--only', filter] : [])];
  const child = spawnSync(process.execPath, args, {
    // The plain tfjs formulations run on tf's op pool, so "all threads" gives the pool all of them too
    // (divd's default keeps it at 1: src/backend/activate.ts defaultPoolThreads); DIVD_POOL_THREADS overrides.
    env: { ...process.env, DIVD_THREADS: String(threads), DIVD_POOL_THREADS: process.env.DIVD_POOL_THREADS ?? String(threads) },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (child.status !== 0) throw new Error(`bench child with ${threads} thread(s) failed (exit ${child.status})`);
  const last = child.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as RunResult;
}

const fmt = (x: number, digits = 1): string => x.toFixed(digits);

function gflops(op: OpResult, t: Timing): string {
  return op.gflop > 0 ? fmt(op.gflop / (t.medianMs / 1000)) : '-';
}

function table(run: RunResult): string {
  const head = ['op', 'shape', 'divd ms', 'GFLOP/s', 'plain ms', 'plain/divd', 'agree'];
  const rows = run.ops.map((op) => {
    const plain = 'skipped' in op.plain ? null : op.plain;
    return [
      op.name,
      op.shape,
      fmt(op.divd.medianMs),
      gflops(op, op.divd),
      plain ? fmt(plain.medianMs) : 'n/a',
      plain ? `${fmt(plain.medianMs / op.divd.medianMs, 2)}x` : 'n/a',
      op.agreement === null ? '-' : op.agreement.toExponential(0),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const notes = [
    ...run.ops.filter((op) => 'skipped' in op.plain).map((op) => `  n/a ${op.name}: ${(op.plain as { skipped: string }).skipped}`),
    ...run.ops.filter((op) => op.plainNote).map((op) => `  plain for ${op.name}: ${op.plainNote}`),
  ];
  return [line(head), ...rows.map(line), ...notes].join('\n');
}

interface Target {
  what: string;
  value: number;
  goal: number;
  unit: string;
}

function targets(one: RunResult, all: RunResult): Target[] {
  const find = (r: RunResult, name: string, shape?: string): OpResult | undefined =>
    r.ops.find((o) => o.name === name && (!shape || o.shape === shape));
  const out: Target[] = [];
  for (const shape of ['[8,32,32,64]->64', '[8,64,64,32]->32']) {
    const a = find(one, 'conv 3x3', shape);
    const b = find(all, 'conv 3x3', shape);
    if (a) out.push({ what: `3x3 conv ${shape} fwd+bwd, 1 thread`, value: a.gflop / (a.divd.medianMs / 1000), goal: 17, unit: 'GFLOP/s' });
    if (a && b && all.threads > 1) {
      out.push({ what: `3x3 conv ${shape}, ${all.threads} threads vs 1`, value: a.divd.medianMs / b.divd.medianMs, goal: 1.6, unit: 'x' });
    }
  }
  const att = find(one, 'attention core');
  if (att) out.push({ what: 'attention core fwd+bwd, 1 thread', value: att.gflop / (att.divd.medianMs / 1000), goal: 7, unit: 'GFLOP/s' });
  return out;
}

export function formatReport(one: RunResult, all: RunResult): string {
  const parts = [
    `backend ${one.backend}, SIMD ${one.simd ? 'on' : 'off'}; forward+backward, median ms; plain = the tfjs formulation a user writes first`,
    '',
    `== 1 thread ==`,
    table(one),
  ];
  if (all.threads !== one.threads) parts.push('', `== ${all.threads} threads ==`, table(all));
  parts.push('', '== threads: speed-up of all threads over 1 thread (divd) ==');
  for (const op of one.ops) {
    const other = all.ops.find((o) => o.name === op.name && o.shape === op.shape);
    if (other) parts.push(`  ${`${op.name} ${op.shape}`.padEnd(44)} ${fmt(op.divd.medianMs / other.divd.medianMs, 2)}x`);
  }
  parts.push('', '== targets ==');
  for (const t of targets(one, all)) {
    parts.push(`  ${t.value >= t.goal ? 'MET ' : 'MISS'} ${t.what}: ${fmt(t.value, 2)} ${t.unit} (target >= ${t.goal})`);
  }
  return parts.join('\n');
}

export interface OpsBenchOptions {
  json: boolean;
  only?: string;
}

/** Parent mode: one child per thread count, then the combined report. */
export function runOpsBench(opts: OpsBenchOptions): { one: RunResult; all: RunResult } {
  const cores = os.availableParallelism();
  process.stderr.write(`ops benchmark: 1 thread, then ${cores} threads (each in its own process)\n`);
  const one = runChild(1, opts.only);
  const all = cores > 1 ? runChild(cores, opts.only) : one;
  process.stdout.write(opts.json ? `${JSON.stringify({ one, all })}\n` : `${formatReport(one, all)}\n`);
  return { one, all };
}

if (process.argv.includes('--child')) {
  const i = process.argv.indexOf('--only');
  const result = await runOpsHere(i >= 0 ? process.argv[i + 1] : undefined);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  shutdownBackend();
}
