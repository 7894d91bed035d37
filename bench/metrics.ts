/**
 * `npm run bench -- metrics [--json] [--skip-frechet]`: divd's SSIM and Fréchet distance against
 * scikit-image and SciPy (pytorch-fid's `sqrtm` path), side by side in one run on the same inputs.
 *
 * The Python side (bench/reference/metrics_ref.py, run with /usr/bin/python3) generates the seeded inputs,
 * times the reference and writes the inputs as raw files; this side reads them, times divd and prints both
 * values, both times and the speed-up.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { frechetDistance, ssim } from '../metrics/index.ts';
import type { Frame } from '../metrics/index.ts';

const PYTHON = process.env.DIVD_BENCH_PYTHON ?? '/usr/bin/python3';
const REFERENCE = fileURLToPath(new URL('./reference/metrics_ref.py', import.meta.url));

interface ReferenceTiming {
  value: number;
  median_ms: number;
  runs: number;
  impl: string;
}

interface ReferenceResult {
  ssim: ReferenceTiming & { width: number; height: number };
  frechet?: ReferenceTiming & { dim: number; samples: number; lapack_eigvalsh_ms?: number; native_route?: ReferenceTiming };
  versions: Record<string, string>;
}

export interface MetricComparison {
  what: string;
  reference: { impl: string; value: number; ms: number };
  divd: { value: number; ms: number; runs: number; detail?: string };
  /** divd's plain-JS path timed interleaved with the default one in the same process (A/B), when measured. */
  scalar?: { value: number; ms: number; impl: string };
  /** The same computation limited to one thread, when the default used more. */
  oneThread?: { value: number; ms: number };
  /** Extra context lines (e.g. what LAPACK alone takes for the dominant step). */
  notes?: string[];
  /** reference ms / divd ms. */
  speedup: number;
  /** |divd - reference| and relative to |reference|. */
  absDiff: number;
  relDiff: number;
  target: string;
  met: boolean;
}

function runReference(dir: string, skipFrechet: boolean): ReferenceResult {
  const args = [REFERENCE, dir, '--repeats', '5', ...(skipFrechet ? ['--skip-frechet'] : [])];
  const child = spawnSync(PYTHON, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 16 << 20 });
  if (child.error || child.status !== 0) {
    throw new Error(`${PYTHON} ${args.join(' ')} failed (${child.error?.message ?? `exit ${child.status}`}); it needs numpy, scipy and scikit-image`);
  }
  return JSON.parse(child.stdout.trim().split('\n').pop() ?? '') as ReferenceResult;
}

function median(times: number[]): number {
  const s = [...times].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median wall time of `runs` calls after one warm-up call (JIT), and the last value. */
function timeIt<T>(fn: () => T, runs: number): { value: T; ms: number } {
  return timeInterleaved([fn], runs)[0]!;
}

/**
 * Median wall times of several implementations called in turn (A, B, A, B, ...) after one warm-up each,
 * so a shared machine's load affects them alike.
 */
function timeInterleaved<T>(fns: Array<() => T>, runs: number): Array<{ value: T; ms: number }> {
  const values = fns.map((fn) => fn());
  const times: number[][] = fns.map(() => []);
  for (let i = 0; i < runs; i++) {
    fns.forEach((fn, f) => {
      const t0 = performance.now();
      values[f] = fn();
      times[f]!.push(performance.now() - t0);
    });
  }
  return fns.map((_, f) => ({ value: values[f]!, ms: median(times[f]!) }));
}

function readF64(file: string): Float64Array {
  const buf = fs.readFileSync(file);
  return new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

function compare(
  what: string,
  ref: ReferenceTiming,
  ours: { value: number; ms: number },
  runs: number,
  target: { text: string; met: (speedup: number, ms: number) => boolean },
  detail?: string,
): MetricComparison {
  const absDiff = Math.abs(ours.value - ref.value);
  const speedup = ref.median_ms / ours.ms;
  return {
    what,
    reference: { impl: ref.impl, value: ref.value, ms: ref.median_ms },
    divd: { value: ours.value, ms: ours.ms, runs, ...(detail ? { detail } : {}) },
    speedup,
    absDiff,
    relDiff: absDiff / Math.abs(ref.value),
    target: target.text,
    met: target.met(speedup, ours.ms),
  };
}

export function runMetricsBench(opts: { json: boolean; skipFrechet?: boolean }): MetricComparison[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-bench-metrics-'));
  try {
    process.stderr.write(`metrics benchmark: reference (${PYTHON} ${path.relative(process.cwd(), REFERENCE)}) ...\n`);
    const ref = runReference(dir, opts.skipFrechet ?? false);
    const out: MetricComparison[] = [];

    process.stderr.write('divd SSIM ...\n');
    const frame = (f: string): Frame => ({ data: fs.readFileSync(path.join(dir, f)), width: ref.ssim.width, height: ref.ssim.height, channels: 3 });
    const [pred, gt] = [frame('ssim_a.u8'), frame('ssim_b.u8')];
    const ssimRuns = 10;
    const [simd, scalar] = timeInterleaved([() => ssim(pred, gt), () => ssim(pred, gt, {}, 'ssim', 'scalar')], ssimRuns);
    const ssimRow = compare(`SSIM ${ref.ssim.width}x${ref.ssim.height} RGB`, ref.ssim, simd!, ssimRuns, {
      text: '>= 5x faster than scikit-image, same value to 1e-6',
      met: (speedup) => speedup >= 5,
    }, 'WebAssembly SIMD kernel');
    ssimRow.scalar = { value: scalar!.value, ms: scalar!.ms, impl: 'plain JS (fallback), interleaved A/B' };
    out.push(ssimRow);

    if (ref.frechet) {
      process.stderr.write('divd Fréchet distance ...\n');
      const stats = (i: number) => ({ mu: readF64(path.join(dir, `mu${i}.f64`)), sigma: readF64(path.join(dir, `sigma${i}.f64`)), n: ref.frechet!.samples });
      const [a, b] = [stats(1), stats(2)];
      const runs = 3;
      const threads = os.availableParallelism();
      const timed = timeIt(() => frechetDistance(a, b, { threads }), runs);
      const single = threads > 1 ? timeIt(() => frechetDistance(a, b, { threads: 1 }), runs) : undefined;
      out.push(
        compare(
          `Fréchet distance d=${ref.frechet.dim} full rank (n=${ref.frechet.samples})`,
          ref.frechet,
          { value: timed.value.distance, ms: timed.ms },
          runs,
          { text: '<= 500 ms, same value to 1e-3 relative', met: (_s, ms) => ms <= 500 },
          `method ${timed.value.method}, ${threads} thread(s)`,
        ),
      );
      if (single) {
        out[out.length - 1]!.oneThread = { value: single.value.distance, ms: single.ms };
      }
      const notes: string[] = [];
      const eig = ref.frechet.lapack_eigvalsh_ms;
      if (eig !== undefined) {
        notes.push(
          `context: LAPACK (OpenBLAS) eigvalsh of one ${ref.frechet.dim}x${ref.frechet.dim} matrix alone takes ${eig.toFixed(1)} ms here, ` +
            'the dominant step of every exact eigenvalue route',
        );
      }
      const native = ref.frechet.native_route;
      if (native) {
        // The floor: divd's arithmetic compiled natively (AVX-512 OpenBLAS/LAPACK on every core).
        notes.push(
          `context: divd's route natively (${native.impl}) takes ${native.median_ms.toFixed(1)} ms here ` +
            `(divd ${(timed.ms / native.median_ms).toFixed(2)}x that), value ${native.value.toPrecision(15)}`,
        );
      }
      if (notes.length > 0) out[out.length - 1]!.notes = notes;
    }
    const ok = out.every((c) => (c.what.startsWith('SSIM') ? c.absDiff <= 1e-6 : c.relDiff <= 1e-3));
    if (opts.json) process.stdout.write(`${JSON.stringify({ versions: ref.versions, node: process.version, results: out, valuesAgree: ok })}\n`);
    else process.stdout.write(`${formatComparisons(out, ref.versions)}\n`);
    if (!ok) process.exitCode = 1;
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function formatComparisons(rows: MetricComparison[], versions: Record<string, string>): string {
  const lines = [`reference: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}; divd: Node ${process.version}, median wall ms (SSIM on 1 thread)`, ''];
  for (const r of rows) {
    lines.push(`== ${r.what} ==`);
    lines.push(`  reference  ${r.reference.ms.toFixed(1).padStart(10)} ms  value ${r.reference.value.toPrecision(15)}  (${r.reference.impl})`);
    lines.push(`  divd       ${r.divd.ms.toFixed(1).padStart(10)} ms  value ${r.divd.value.toPrecision(15)}${r.divd.detail ? `  (${r.divd.detail})` : ''}`);
    if (r.scalar) {
      lines.push(`  divd (JS)  ${r.scalar.ms.toFixed(1).padStart(10)} ms  value ${r.scalar.value.toPrecision(15)}  (${r.scalar.impl}: kernel ${(r.scalar.ms / r.divd.ms).toFixed(2)}x faster)`);
    }
    if (r.oneThread) {
      lines.push(`  divd 1 thr ${r.oneThread.ms.toFixed(1).padStart(10)} ms  value ${r.oneThread.value.toPrecision(15)}  (all threads ${(r.oneThread.ms / r.divd.ms).toFixed(2)}x faster)`);
    }
    lines.push(`  speed-up ${r.speedup.toFixed(2)}x, |diff| ${r.absDiff.toExponential(2)} (relative ${r.relDiff.toExponential(2)})`);
    for (const note of r.notes ?? []) lines.push(`  ${note}`);
    lines.push(`  ${r.met ? 'MET ' : 'MISS'} target: ${r.target}`, '');
  }
  return lines.join('\n');
}
