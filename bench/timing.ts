/** Wall-clock timing of a repeated pass: warm-up runs, then enough runs to fill a time budget; median and min. */
import * as tf from '@tensorflow/tfjs';
import type { Pass } from './ops-cases.ts';

export interface Timing {
  medianMs: number;
  minMs: number;
  runs: number;
}

export interface TimingOptions {
  warmup: number;
  minRuns: number;
  maxRuns: number;
  /** Stop adding runs once their total passes this many ms (after minRuns). */
  budgetMs: number;
}

export const DEFAULT_TIMING: TimingOptions = { warmup: 2, minRuns: 5, maxRuns: 30, budgetMs: 1500 };

function once(pass: Pass): number {
  const t0 = performance.now();
  const out = pass();
  // Synchronous backends (wasm, cpu, tensorflow) have finished here; reading one value also waits for
  // asynchronous ones (webgpu) without copying a large tensor back.
  tf.tidy(() => tf.slice(tf.reshape(out[0]!, [-1]), 0, 1)).dataSync();
  const ms = performance.now() - t0;
  tf.dispose(out);
  return ms;
}

export function timePass(pass: Pass, opts: TimingOptions = DEFAULT_TIMING): Timing {
  for (let i = 0; i < opts.warmup; i++) once(pass);
  const times: number[] = [];
  let total = 0;
  while (times.length < opts.minRuns || (times.length < opts.maxRuns && total < opts.budgetMs)) {
    const ms = once(pass);
    times.push(ms);
    total += ms;
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
  return { medianMs: median, minMs: times[0]!, runs: times.length };
}
