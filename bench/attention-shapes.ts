/**
 * `npm run bench -- attention`: the pieces of the attention core's formulation, each against the
 * alternatives it was chosen over, on B = 64 (32 windows x 2 heads), T = 256, d = 32, 1 wasm thread.
 *
 * Variants of one group run interleaved (A B C, C B A, ...) in this process and are compared by the
 * median of per-round ratios, so a machine shared with other jobs still gives usable A/B numbers;
 * process CPU time is reported next to wall time because waiting for a core does not count in it.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../src/backend/index.ts';
import { depthwiseBatchMatMul } from '../src/nn/index.ts';

const W = 32;
const H = 2;
const B = W * H;
const T = 256;
const D = 32;
const ROUNDS = 12;
const WARMUP = 2;

interface Variant {
  name: string;
  run: () => tf.Tensor;
}

interface Group {
  title: string;
  /** Multiply-adds x 2 per run, for GFLOP/s; 0 for data movement. */
  gflop: number;
  variants: Variant[];
}

/** The depthwise product out[m,b,n] = Σ_k a[m,k,b]·f[k,b,n] with `rows` rows of `a` per conv batch entry. */
function product(a: tf.Tensor3D, f: tf.Tensor3D, rows: number): tf.Tensor {
  const [m, k, b] = a.shape;
  return tf.depthwiseConv2d(
    tf.reshape(a, [m / rows, rows, k, b]) as tf.Tensor4D,
    tf.reshape(f, [1, k, b, f.shape[2]]) as tf.Tensor4D,
    1,
    'valid',
  );
}

function productGroup(label: string, m: number, k: number, n: number): Group {
  const a = tf.randomNormal([m, k, B]) as tf.Tensor3D;
  const f = tf.randomNormal([k, B, n]) as tf.Tensor3D;
  return {
    title: `${label}: [${m},${k},${B}] x [${k},${B},${n}]`,
    gflop: (2 * m * k * n * B) / 1e9,
    variants: [
      { name: 'one conv batch entry', run: () => product(a, f, m) },
      ...[16, 8, 4, 2].map((rows) => ({ name: `${rows} rows per entry`, run: () => product(a, f, rows) })),
      { name: 'depthwiseBatchMatMul (src/nn)', run: () => depthwiseBatchMatMul(a, f) },
    ],
  };
}

function groups(): Group[] {
  const p = tf.randomNormal([T, B, T]);
  return [
    productGroup('S = Q·Kᵀ, dP = dO·Vᵀ (small first operand, large output)', T, D, T),
    productGroup('O = P·V, dQ = dS·K (large first operand)', T, T, D),
    productGroup('dVᵀ = dOᵀ·P, dKᵀ = Qᵀ·dS (large filter)', D, T, T),
    {
      title: `P (t,b,s) [${T},${B},${T}] to the layouts a product can take`,
      gflop: 0,
      variants: [
        { name: 'copy (x*1), for scale', run: () => tf.mul(p, 1) },
        { name: '(t,s,b): batched 2-D transpose [0,2,1]', run: () => tf.transpose(p, [0, 2, 1]) },
        { name: '(s,b,t): full reversal [2,1,0]', run: () => tf.transpose(p, [2, 1, 0]) },
        { name: '(s,t,b): [2,0,1]', run: () => tf.transpose(p, [2, 0, 1]) },
      ],
    },
  ];
}

interface Sample {
  cpuMs: number;
  wallMs: number;
}

function timeOnce(run: () => tf.Tensor): Sample {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const out = run();
  // Reading one value waits for the result without copying the whole tensor back.
  tf.tidy(() => tf.slice(tf.reshape(out, [-1]), 0, 1)).dataSync();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  out.dispose();
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function runGroup(g: Group): string[] {
  const samples: Sample[][] = g.variants.map(() => []);
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    const order = g.variants.map((_, i) => i);
    if (round % 2) order.reverse();
    for (const i of order) {
      const s = timeOnce(g.variants[i]!.run);
      if (round >= WARMUP) samples[i]!.push(s);
    }
  }
  const base = samples[0]!;
  const lines = [g.title];
  g.variants.forEach((v, i) => {
    const cpu = median(samples[i]!.map((s) => s.cpuMs));
    const wall = median(samples[i]!.map((s) => s.wallMs));
    const ratio = median(samples[i]!.map((s, r) => base[r]!.cpuMs / s.cpuMs));
    const rate = g.gflop > 0 ? `  ${(g.gflop / (cpu / 1000)).toFixed(1).padStart(5)} GFLOP/s (cpu)` : '';
    lines.push(`  ${v.name.padEnd(44)} cpu ${cpu.toFixed(1).padStart(6)} ms  wall ${wall.toFixed(1).padStart(6)} ms  ${ratio.toFixed(2)}x${rate}`);
  });
  return lines;
}

/** Runs every group with 1 wasm thread and prints one block per group (ratios against its first line). */
export async function runAttentionShapesBench(): Promise<void> {
  const info = await initBackend({ threads: 1 });
  process.stdout.write(
    `attention core pieces, backend ${info.name}, ${info.threads} thread; medians of ${ROUNDS} interleaved rounds; ` +
      `Nx = median per-round speed-up over the group's first line (cpu time)\n\n`,
  );
  for (const g of groups()) process.stdout.write(`${runGroup(g).join('\n')}\n\n`);
  shutdownBackend();
}
