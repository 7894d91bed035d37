/**
 * Helper threads for divd's generated wasm kernels: with the threaded tfjs backend (a shared heap) and
 * more than one wasm thread, each helper is a worker_thread holding its own instance of a kernel module on
 * the same memory. A call hands each helper one export and its arguments through a small shared control
 * block, runs the caller's own share on the main thread, and waits (Atomics) until every helper is done,
 * so a kernel split in row ranges runs on all cores while XNNPACK's pool is idle.
 *
 * The worker is a few lines of plain JS (no loader needed); it blocks in Atomics.wait between calls and is
 * unref'd, so it never keeps the process alive.
 */
import { Worker } from 'node:worker_threads';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { activeBackend } from '../backend/index.ts';
import { isShared } from './wasm-heap.ts';

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const names = Object.keys(exports).filter((k) => typeof exports[k] === 'function');
const ctl = new Int32Array(control, 0, 4);
const args = new Float64Array(control, 16);
for (;;) {
  Atomics.wait(ctl, 0, 0);
  const fn = exports[names[ctl[1]]];
  const n = ctl[2];
  let failed = 0;
  try {
    fn(...Array.from(args.subarray(0, n)));
  } catch (e) {
    failed = 1;
  }
  ctl[3] = failed;
  Atomics.store(ctl, 0, 0);
  Atomics.notify(ctl, 0);
}
`;

const MAX_ARGS = 32;

interface Helper {
  worker: Worker;
  ctl: Int32Array;
  args: Float64Array;
}

export class KernelThreads {
  private readonly helpers: Helper[];
  private readonly names: string[];

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, count: number) {
    this.names = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);
    this.helpers = Array.from({ length: count }, () => {
      const control = new SharedArrayBuffer(16 + 8 * MAX_ARGS);
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control } });
      worker.unref();
      return { worker, ctl: new Int32Array(control, 0, 4), args: new Float64Array(control, 16) };
    });
  }

  /** Threads a split call runs on: the helpers and the caller. */
  get size(): number {
    return this.helpers.length + 1;
  }

  /**
   * Runs `main` here and export `name` with `helperArgs[i]` on helper i, concurrently; returns when all
   * are done. Throws if a helper's call trapped.
   */
  run(name: string, helperArgs: number[][], main: () => void): void {
    const index = this.names.indexOf(name);
    if (index < 0) throw new Error(`kernel threads: no export ${name}`);
    if (helperArgs.length > this.helpers.length) throw new Error(`kernel threads: ${helperArgs.length} calls for ${this.helpers.length} helpers`);
    helperArgs.forEach((a, i) => {
      const h = this.helpers[i]!;
      if (a.length > MAX_ARGS) throw new Error(`kernel threads: ${a.length} arguments, at most ${MAX_ARGS}`);
      h.args.set(a);
      h.ctl[1] = index;
      h.ctl[2] = a.length;
      Atomics.store(h.ctl, 0, 1);
      Atomics.notify(h.ctl, 0);
    });
    try {
      main();
    } finally {
      let failed = false;
      for (let i = 0; i < helperArgs.length; i++) {
        const h = this.helpers[i]!;
        while (Atomics.load(h.ctl, 0) !== 0) Atomics.wait(h.ctl, 0, 1);
        failed ||= h.ctl[3] !== 0;
      }
      if (failed) throw new Error(`kernel threads: ${name} trapped on a helper thread`);
    }
  }

  terminate(): void {
    for (const h of this.helpers) void h.worker.terminate();
  }
}

/**
 * One helper per extra kernel thread when the heap is shared (threaded build), else null. The count is
 * divd's `threads` (src/backend: one per core by default), not the size of tfjs's own op pool, which is kept
 * small because it slows small ops down; without initBackend (tf.setBackend by hand) it is tf's pool size.
 */
export function helperThreads(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelThreads | null {
  const active = activeBackend();
  const threads = active?.tfName === 'wasm' ? active.threads : getThreadsCount();
  const helpers = isShared(memory) ? threads - 1 : 0;
  return helpers > 0 ? new KernelThreads(module, memory, helpers) : null;
}

/** The bounds of `parts` contiguous, near-equal ranges covering [0, total). */
export function rangeBounds(total: number, parts: number): number[] {
  return Array.from({ length: parts + 1 }, (_, i) => Math.round((i * total) / parts));
}

/**
 * Runs range 0 here through `local` and ranges 1..parts-1 on the helpers through export `name`;
 * `args(i)` gives range i's arguments.
 */
export function runSplit(
  threads: KernelThreads | null | undefined,
  name: string,
  local: (...a: number[]) => void,
  parts: number,
  args: (range: number) => number[],
): void {
  if (parts === 1 || !threads) {
    local(...args(0));
    return;
  }
  threads.run(name, Array.from({ length: parts - 1 }, (_, i) => args(i + 1)), () => local(...args(0)));
}
