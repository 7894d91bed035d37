/**
 * Where a training step's time and memory go: `node --import tsx bench/train-profile.ts [reference|smoke]
 * [--steps n]` runs warm-up steps, then one step under tf.profile, and prints the time per kernel, the peak
 * of live tensor bytes during the step and the wasm heap (DIVD_THREADS picks the thread count).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../src/backend/index.ts';
import { createModel, disposeModel } from '../src/model/index.ts';
import { makeSchedule } from '../src/diffusion/index.ts';
import { Rng } from '../src/nn/index.ts';
import { Adam, clipByGlobalNorm, lossAndGrads } from '../src/train/index.ts';
import { trainCase, type CaseName } from './train-cases.ts';

const name = (process.argv[2] ?? 'reference') as CaseName;
const stepsArg = process.argv.indexOf('--steps');
const warmup = stepsArg >= 0 ? Number(process.argv[stepsArg + 1]) : 2;

const info = await initBackend({ requested: 'wasm' });
const c = trainCase(name);
const model = createModel(c.model, 0);
const params = new Map(model.params.names().map((n, i) => [n, model.params.variables()[i]!] as const));
const adam = new Adam(params);
const rng = new Rng(0);
const shape: [number, number, number, number] = [c.sequences * c.model.frames, c.crop, c.crop, 3];
const batch = { sharp: tf.randomUniform(shape, -1, 1) as tf.Tensor4D, blurry: tf.randomUniform(shape, -1, 1) as tf.Tensor4D };
const objective = { schedule: makeSchedule(c.diffusion), prediction: c.diffusion.prediction };
const heapMb = () => ((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength / 2 ** 20).toFixed(0);

let gradMs = 0;
let updateMs = 0;
const step = () => {
  const t0 = performance.now();
  const { grads } = lossAndGrads(model, objective, batch, rng);
  const t1 = performance.now();
  const clip = clipByGlobalNorm(grads, c.gradClip);
  adam.apply(clip.grads, c.lr);
  tf.dispose([...new Set([...grads.values(), ...clip.grads.values()])]);
  gradMs = t1 - t0;
  updateMs = performance.now() - t1;
};
for (let i = 0; i < warmup; i++) {
  step();
  process.stderr.write(`warm-up ${i + 1}: loss+grads ${gradMs.toFixed(0)} ms, clip+Adam ${updateMs.toFixed(0)} ms, heap ${heapMb()} MB\n`);
}
const before = tf.memory().numBytes;
const prof = await tf.profile(() => {
  step();
});
const byKernel = new Map<string, { ms: number; calls: number }>();
for (const k of prof.kernels) {
  const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  e.calls += 1;
  byKernel.set(k.name, e);
}
const total = [...byKernel.values()].reduce((a, e) => a + e.ms, 0);
process.stdout.write(`${c.name}, ${info.threads} thread(s): kernels ${total.toFixed(0)} ms in ${prof.kernels.length} calls\n`);
for (const [k, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
  process.stdout.write(`  ${k.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms ${String(e.calls).padStart(5)} calls ${((100 * e.ms) / total).toFixed(1).padStart(5)}%\n`);
}
if (process.argv.includes('--big')) {
  const big = prof.kernels.filter((k) => k.bytesAdded > 4 << 20).map((k) => `${k.name} ${JSON.stringify(k.outputShapes)} +${(k.bytesAdded / 2 ** 20).toFixed(1)}MB total ${(k.totalBytesSnapshot / 2 ** 20).toFixed(0)}MB`);
  process.stdout.write(`kernels adding > 4 MB (${big.length}):\n${big.slice(0, 40).join('\n')}\n`);
  const maxAt = prof.kernels.reduce((a, k, i) => (k.totalBytesSnapshot > prof.kernels[a]!.totalBytesSnapshot ? i : a), 0);
  process.stdout.write(`live bytes peak at kernel ${maxAt} of ${prof.kernels.length}: ${prof.kernels[maxAt]!.name}\n`);
}
process.stdout.write(
  `peak live tensors during the step: ${((prof.peakBytes - before) / 2 ** 20).toFixed(0)} MB above the ${(before / 2 ** 20).toFixed(0)} MB held between steps; wasm heap ${heapMb()} MB\n`,
);
step();
process.stdout.write(`unprofiled step: loss+grads ${gradMs.toFixed(0)} ms, clip+Adam ${updateMs.toFixed(0)} ms\n`);
tf.dispose([batch.sharp, batch.blurry]);
adam.dispose();
disposeModel(model);
shutdownBackend();
