/**
 * The divd side of the training benchmark, run inside a child process (one per wasm thread count): a training
 * step exactly as src/train's Trainer takes it (lossAndGrads → clipByGlobalNorm → Adam.apply), then optionally
 * DDIM sampling through runSampler + predict, plus the memory it needed.
 */
import * as tf from '@tensorflow/tfjs';
import { activeBackend } from '../src/backend/index.ts';
import { createModel, disposeModel, predict, type DivdModel } from '../src/model/index.ts';
import { createScheduler, makeSchedule, runSampler } from '../src/diffusion/index.ts';
import { initValues, Rng } from '../src/nn/index.ts';
import { Adam, clipByGlobalNorm, lossAndGrads, type TrainBatch } from '../src/train/index.ts';
import { writeJsonAtomicSync } from '../src/atomic-write.ts';
import type { TrainCase } from './train-cases.ts';

export interface DivdRun {
  backend: string;
  threads: number;
  stepMs: number;
  stepMinMs: number;
  runs: number;
  /** Frames per second of DDIM sampling (sample.steps model calls), when the case samples. */
  sampleFps?: number;
  peakRssMb: number;
  /** The wasm linear memory after the steps: emscripten's heap only grows, so this is its high-water mark. */
  wasmHeapMb: number | null;
  /** tfjs's own count of live tensor bytes after the steps (flat when nothing leaks). */
  tensorMb: number;
}

export interface DivdRunOptions {
  steps: number;
  warmup: number;
  /** Write weights, inputs and the prediction of a randomised model here (the PyTorch port's output check). */
  checkFile?: string;
}

function uniformBatch(shape: [number, number, number, number], rng: Rng): tf.Tensor4D {
  const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) v[i] = 2 * rng.next() - 1;
  return tf.tensor4d(v, shape);
}

function wasmHeapBytes(): number | null {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.buffer.byteLength ?? null;
}

const mb = (bytes: number): number => bytes / 2 ** 20;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Gives every weight a random value (zero-initialised residual outputs would make the prediction 0, which
 * proves nothing), predicts one batch and writes it all as JSON for bench/reference/bench_train.py.
 */
function writeOutputCheck(model: DivdModel, batch: TrainBatch, file: string): void {
  const rng = new Rng(7);
  const weights: Record<string, { shape: number[]; data: number[] }> = {};
  const snapshot = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const p of model.params.info()) {
    const data = initValues(p.shape, { kind: 'torchDefault' }, rng.fork(p.name));
    snapshot.set(p.name, { shape: p.shape, data });
    weights[p.name] = { shape: p.shape, data: Array.from(data) };
  }
  model.params.restore(snapshot);
  const t = Array.from({ length: batch.sharp.shape[0] }, (_, i) => (i * 97) % 1000);
  const out = predict(model, batch.sharp, batch.blurry, t);
  const tensor = (x: tf.Tensor) => ({ shape: x.shape, data: Array.from(x.dataSync()) });
  writeJsonAtomicSync(file, { weights, xNoisy: tensor(batch.sharp), blurry: tensor(batch.blurry), t, output: tensor(out) });
  out.dispose();
}

export function runDivdCase(c: TrainCase, o: DivdRunOptions): DivdRun {
  const info = activeBackend();
  if (!info) throw new Error('runDivdCase: start the backend first (initBackend)');
  const model = createModel(c.model, 0);
  const names = model.params.names();
  const vars = model.params.variables();
  const params = new Map(names.map((n, i) => [n, vars[i]!] as const).filter(([, v]) => v.trainable));
  const adam = new Adam(params);
  const rng = new Rng(0);
  const shape: [number, number, number, number] = [c.sequences * c.model.frames, c.crop, c.crop, 3];
  const batch: TrainBatch = { sharp: uniformBatch(shape, rng), blurry: uniformBatch(shape, rng) };
  const objective = { schedule: makeSchedule(c.diffusion), prediction: c.diffusion.prediction };

  const step = (): void => {
    const { grads } = lossAndGrads(model, objective, batch, rng);
    const clip = clipByGlobalNorm(grads, c.gradClip);
    adam.apply(clip.grads, c.lr);
    tf.dispose([...new Set([...grads.values(), ...clip.grads.values()])]);
  };
  for (let i = 0; i < o.warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < o.steps; i++) {
    const t0 = performance.now();
    step(); // lossAndGrads reads the loss back, so the step has finished when it returns
    times.push(performance.now() - t0);
  }
  const heap = wasmHeapBytes();
  const tensorMb = mb(tf.memory().numBytes);

  let sampleFps: number | undefined;
  if (c.sample) {
    let best = Infinity;
    for (let r = 0; r < 2; r++) {
      const scheduler = createScheduler(c.diffusion, c.sample);
      const t0 = performance.now();
      const x = runSampler(scheduler, (xt, t) => predict(model, xt, batch.blurry, t), shape);
      x.dataSync();
      best = Math.min(best, performance.now() - t0);
      x.dispose();
    }
    sampleFps = shape[0] / (best / 1000);
  }
  if (o.checkFile) writeOutputCheck(model, batch, o.checkFile);
  tf.dispose([batch.sharp, batch.blurry]);
  adam.dispose();
  disposeModel(model);
  return {
    backend: info.name,
    threads: info.threads,
    stepMs: median(times),
    stepMinMs: Math.min(...times),
    runs: times.length,
    sampleFps,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    wasmHeapMb: heap === null ? null : mb(heap),
    tensorMb,
  };
}
