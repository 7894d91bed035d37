/**
 * `divd doctor`: what this machine can run and why. Exit 0 when the default pipeline (the smoke
 * spec: synthetic data, wasm or better backend, local mlruns/, HTML report) can run.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo, type BackendProbe } from '../backend/index.ts';
import { weightsDir, weightsPresence, type WeightsPresence } from '../../metrics/index.ts';
import { findChromium, which } from './tools.ts';

export interface DoctorReport {
  ok: boolean;
  node: { version: string; ok: boolean; required: string };
  platform: { os: string; arch: string; cpus: number; cpuModel: string; memoryGiB: number; freeMemoryGiB: number };
  backend: { name: BackendInfo['name']; threads: number; poolThreads: number; simd: boolean; reason: string; selfTest: string };
  backends: BackendProbe[];
  optional: {
    ffmpeg: string | null;
    chromium: string | null;
    weightsDir: string;
    weights: Pick<WeightsPresence, 'file' | 'usedBy' | 'present' | 'path'>[];
    trackingUri: string;
  };
  problems: string[];
}

const REQUIRED_NODE = '20.19.0';

export function nodeVersionOk(version: string, required = REQUIRED_NODE): boolean {
  const a = version.replace(/^v/, '').split('.').map(Number);
  const b = required.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** A 3x3 all-ones conv over all-ones input has 9*C at interior pixels: catches a broken backend. */
function backendSelfTest(): string | null {
  const c = 4;
  const out = tf.tidy(() => tf.conv2d(tf.ones([1, 5, 5, c]) as tf.Tensor4D, tf.ones([3, 3, c, 2]) as tf.Tensor4D, 1, 'same'));
  const v = out.dataSync();
  out.dispose();
  const centre = v[(2 * 5 + 2) * 2]!;
  const corner = v[0]!;
  if (centre !== 9 * c || corner !== 4 * c) {
    return `conv2d self-test gave ${centre} and ${corner}, expected ${9 * c} and ${4 * c}`;
  }
  return null;
}

export async function runDoctor(opts: { backend?: string; threads?: number }): Promise<DoctorReport> {
  const problems: string[] = [];
  const nodeOk = nodeVersionOk(process.version);
  if (!nodeOk) problems.push(`Node ${process.version} is older than the required ${REQUIRED_NODE}`);
  const info = await initBackend({ requested: opts.backend, threads: opts.threads });
  const selfTestProblem = backendSelfTest();
  if (selfTestProblem) problems.push(selfTestProblem);
  const cpus = os.cpus();
  const weights = weightsPresence();
  return {
    ok: problems.length === 0,
    node: { version: process.version, ok: nodeOk, required: `>=${REQUIRED_NODE}` },
    platform: {
      os: `${os.type()} ${os.release()}`,
      arch: os.arch(),
      cpus: os.availableParallelism(),
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      memoryGiB: round1(os.totalmem() / 2 ** 30),
      freeMemoryGiB: round1(os.freemem() / 2 ** 30),
    },
    backend: {
      name: info.name,
      threads: info.threads,
      poolThreads: info.poolThreads,
      simd: info.simd,
      reason: info.reason,
      selfTest: selfTestProblem ?? 'ok',
    },
    backends: info.probes,
    optional: {
      ffmpeg: which('ffmpeg'),
      chromium: findChromium(),
      weightsDir: weightsDir(),
      weights: weights.map(({ file, usedBy, present, path }) => ({ file, usedBy, present, path })),
      trackingUri: process.env.MLFLOW_TRACKING_URI || './mlruns (local FileStore, the default)',
    },
    problems,
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export function formatDoctor(r: DoctorReport): string {
  const mark = (b: boolean) => (b ? '✓' : '✗');
  const lines: string[] = [];
  lines.push(`${mark(r.node.ok)} node        ${r.node.version} (needs ${r.node.required})`);
  lines.push(
    `  machine     ${r.platform.os} ${r.platform.arch}, ${r.platform.cpus} cores (${r.platform.cpuModel}), ` +
      `${r.platform.memoryGiB} GiB (${r.platform.freeMemoryGiB} free)`,
  );
  lines.push(
    `${mark(r.backend.selfTest === 'ok')} backend     ${r.backend.name}: ${r.backend.threads} thread(s), ` +
      `SIMD ${r.backend.simd ? 'yes' : 'no'} — ${r.backend.reason}; self-test ${r.backend.selfTest}` +
      (r.backend.name === 'wasm' ? `\n                tfjs's own op pool: ${r.backend.poolThreads} thread(s) (DIVD_POOL_THREADS; divd's own kernels: ${r.backend.threads})` : ''),
  );
  for (const p of r.backends) {
    const chosen = p.name === r.backend.name ? ' (chosen)' : '';
    lines.push(`    ${mark(p.available)} ${p.name.padEnd(15)} ${p.reason}${chosen}`);
  }
  lines.push('  optional');
  lines.push(`    ${mark(r.optional.ffmpeg !== null)} ffmpeg      ${r.optional.ffmpeg ?? 'not found (video input/output; apt-get install ffmpeg)'}`);
  lines.push(
    `    ${mark(r.optional.chromium !== null)} chromium    ${r.optional.chromium ?? 'not found (PDF/screenshot of reports; apt-get install chromium)'}`,
  );
  lines.push(`      weights     ${r.optional.weightsDir} (set DIVD_WEIGHTS_DIR to change)`);
  for (const w of r.optional.weights) {
    lines.push(`    ${mark(w.present)} ${w.file.padEnd(38)} ${w.usedBy}${w.present ? '' : ' — missing; that metric is skipped'}`);
  }
  lines.push(`      tracking    ${r.optional.trackingUri}`);
  lines.push(r.ok ? 'ready: the default pipeline can run' : `not ready:\n${r.problems.map((p) => `  - ${p}`).join('\n')}`);
  return lines.join('\n');
}
