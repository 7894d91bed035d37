/**
 * What holds the wasm heap during a training step: `node --import tsx bench/train-memory.ts [reference|smoke]
 * [--steps n]` runs n steps (default 1) in this fresh process and prints, from the backend's own malloc/free
 * calls (exact, unlike tf.memory().numBytes, which counts a reshaped view once per tensor), the peak of live
 * tensor bytes, the live tensors at that peak grouped by shape, and the wasm heap (emscripten's heap only
 * grows, so the heap after the steps is its high-water mark: the peak plus allocator fragmentation plus
 * XNNPACK's own buffers).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../src/backend/index.ts';
import { createModel, disposeModel } from '../src/model/index.ts';
import { makeSchedule } from '../src/diffusion/index.ts';
import { Rng } from '../src/nn/index.ts';
import { Adam, clipByGlobalNorm, lossAndGrads } from '../src/train/index.ts';
import { trainCase, type CaseName } from './train-cases.ts';

interface WasmModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}
interface DataInfo {
  memoryOffset: number | null;
  shape: number[];
  dtype: string;
}
interface WasmBackendView {
  wasm: WasmModule;
  dataIdMap: { data: WeakMap<object, DataInfo>; dataIdsCount: number };
}

Error.stackTraceLimit = 60;
const name = (process.argv[2] ?? 'reference') as CaseName;
const stepsArg = process.argv.indexOf('--steps');
const steps = stepsArg >= 0 ? Number(process.argv[stepsArg + 1]) : 1;

const info = await initBackend({ requested: 'wasm' });
const backend = tf.backend() as unknown as WasmBackendView;
const wasm = backend.wasm;
const mb = (b: number) => (b / 2 ** 20).toFixed(0);

// Every tensor buffer the backend allocates, by address: the exact live bytes at any moment.
const sizes = new Map<number, number>();
let live = 0;
let peak = 0;
let peakShapes = '';
let recordAbove = 0;
let peakSizes: [number, number][] = [];
let peakOrigins: [string, number][] = [];
// --trace: the project source lines that allocated each live buffer of 256 KB or more (slow: a stack per malloc).
const tracing = process.argv.includes('--trace');
const origins = new Map<number, string>();
const root = new URL('..', import.meta.url).pathname;
function origin(stack: string): string {
  const lines = stack.split('\n').filter((l) => l.includes(`${root}src/`) && !l.includes('/src/nn/custom.ts'));
  return lines.slice(0, 2).map((l) => l.trim().replace(`${root}`, '').replace(/^at /, '')).join(' < ') || '(outside src/)';
}
// emscripten's first _malloc call replaces Module._malloc with the raw export; call it once before wrapping.
wasm._free(wasm._malloc(16));
const malloc = wasm._malloc.bind(wasm);
const free = wasm._free.bind(wasm);
wasm._malloc = (bytes: number) => {
  const p = malloc(bytes) >>> 0;
  sizes.set(p, bytes);
  if (tracing && bytes >= 1 << 18) origins.set(p, origin(new Error().stack ?? ''));
  live += bytes;
  if (live > peak) {
    peak = live;
    // Snapshot only on a clear new high (each snapshot walks the stack of the current allocation).
    if (peak > recordAbove) {
      recordAbove = peak + (8 << 20);
      peakShapes = new Error().stack ?? '';
      const bySize = new Map<number, number>();
      for (const b of sizes.values()) bySize.set(b, (bySize.get(b) ?? 0) + 1);
      peakSizes = [...bySize].sort((a, b) => b[0] * b[1] - a[0] * a[1]);
      if (tracing) {
        const byOrigin = new Map<string, number>();
        for (const [ptr, o] of origins) byOrigin.set(o, (byOrigin.get(o) ?? 0) + sizes.get(ptr)!);
        peakOrigins = [...byOrigin].sort((a, b) => b[1] - a[1]);
      }
    }
  }
  return p;
};
wasm._free = (p: number) => {
  const bytes = sizes.get(p >>> 0);
  if (bytes !== undefined) {
    live -= bytes;
    sizes.delete(p >>> 0);
    origins.delete(p >>> 0);
  }
  free(p);
};

const c = trainCase(name);
const model = createModel(c.model, 0);
const params = new Map(model.params.names().map((n, i) => [n, model.params.variables()[i]!] as const));
const adam = new Adam(params);
const rng = new Rng(0);
const shape: [number, number, number, number] = [c.sequences * c.model.frames, c.crop, c.crop, 3];
const batch = { sharp: tf.randomUniform(shape, -1, 1) as tf.Tensor4D, blurry: tf.randomUniform(shape, -1, 1) as tf.Tensor4D };
const objective = { schedule: makeSchedule(c.diffusion), prediction: c.diffusion.prediction };
const between = live;
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const { grads } = lossAndGrads(model, objective, batch, rng);
  const afterGrads = live;
  const clip = clipByGlobalNorm(grads, c.gradClip);
  adam.apply(clip.grads, c.lr);
  tf.dispose([...new Set([...grads.values(), ...clip.grads.values()])]);
  const cpu = process.cpuUsage(cpu0);
  // CPU time of this process (all threads) is steadier than wall time on a machine shared with other jobs.
  process.stdout.write(
    `step ${i + 1}: ${(performance.now() - t0).toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms cpu; live tensor bytes: ${mb(between)} MB between steps, ` +
      `${mb(afterGrads)} MB after the backward, peak ${mb(peak)} MB; wasm heap ${mb(wasm.HEAPU8.buffer.byteLength)} MB\n`,
  );
}
process.stdout.write(`${c.name}, ${info.threads} thread(s): peak live ${mb(peak)} MB; wasm heap ${mb(wasm.HEAPU8.buffer.byteLength)} MB\n`);
if (process.argv.includes('--where')) {
  const frames = peakShapes.split('\n').filter((l) => l.includes(`${root}src/`));
  process.stdout.write(`last new peak allocated at:\n${frames.slice(0, 12).join('\n')}\n`);
  process.stdout.write('live buffers at that peak, by size (MB x count = MB):\n');
  for (const [b, n] of peakSizes.slice(0, 20)) process.stdout.write(`  ${(b / 2 ** 20).toFixed(2)} x ${n} = ${mb(b * n)}\n`);
  if (tracing) {
    process.stdout.write('live buffers at that peak, by the source line that made them (MB):\n');
    for (const [o, b] of peakOrigins.slice(0, 40)) process.stdout.write(`  ${mb(b).padStart(5)}  ${o}\n`);
  }
}
tf.dispose([batch.sharp, batch.blurry]);
adam.dispose();
disposeModel(model);
shutdownBackend();
