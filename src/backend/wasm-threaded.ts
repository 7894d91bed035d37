/**
 * Loads tfjs-backend-wasm's threaded-SIMD binary under Node, which the stock loader refuses to do.
 *
 * Why: the stock `init()` hard-codes "no threads" under Node and would hand `blob:` URLs to
 * worker_threads; backend.cc also caps the XNNPACK pool at os.cpus()/2 (it assumes SMT), so a
 * 2-vCPU machine gets one thread. wasm-perf.md measured ~1.9x on conv/matmul with 2 threads.
 * The recipe: write the pthread worker script to a real file, pass the threaded JS by path, lift the
 * core cap while the module and the backend are created, and unref the pool's workers so the
 * process still exits by itself.
 */
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

/** The parts of the emscripten module that we touch. */
interface EmscriptenWorker {
  unref(): void;
  terminate(): void;
}
interface ThreadedModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => unknown;
  PThread?: {
    runningWorkers: EmscriptenWorker[];
    unusedWorkers: EmscriptenWorker[];
    terminateAllThreads(): void;
  };
  tfjs?: Record<string, unknown>;
}
type ModuleFactory = (config: Record<string, unknown>) => PromiseLike<ThreadedModule>;

let loadedModule: ThreadedModule | null = null;

function wasmPackageDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
}

/** Writes the pthread worker script once per content (atomic: temp file + rename). */
function workerScriptPath(wasmDir: string): string {
  const { wasmWorkerContents } = require(
    path.join(wasmDir, 'wasm-out/tfjs-backend-wasm-threaded-simd.worker.js'),
  ) as { wasmWorkerContents: string };
  // The contents were a template literal: its "\n" escapes became real newlines inside JS strings.
  const script = wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(script).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), 'divd-wasm');
  const file = path.join(dir, `threaded-simd-worker-${hash}.cjs`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, script);
    fs.renameSync(tmp, file);
  }
  return file;
}

/** Makes os.cpus() report at least `n` entries until the returned function is called. */
function liftCoreCap(n: number): () => void {
  const original = os.cpus;
  const real = original();
  if (real.length >= n) return () => {};
  const fake = Array.from({ length: n }, (_, i) => real[i % Math.max(real.length, 1)]!);
  os.cpus = () => fake;
  return () => {
    os.cpus = original;
  };
}

function instantiate(factory: ModuleFactory, config: Record<string, unknown>): Promise<ThreadedModule> {
  // Never `await` the emscripten module itself: it is a thenable that resolves to itself.
  return new Promise((resolve, reject) => {
    config.onAbort = (what: unknown) => reject(new Error(`wasm module aborted: ${String(what)}`));
    factory(config).then((m) => resolve(m as ThreadedModule), reject);
  });
}

/**
 * Replaces the registered 'wasm' backend factory with one that loads the threaded-SIMD binary
 * with `threads` XNNPACK threads. Kernels stay registered under 'wasm', so every op still applies.
 */
export function registerThreadedWasm(threads: number, priority = 2): void {
  const wasmDir = wasmPackageDir();
  const threadedJs = path.join(wasmDir, 'wasm-out/tfjs-backend-wasm-threaded-simd.js');
  const wasmBinary = path.join(wasmDir, 'dist/tfjs-backend-wasm-threaded-simd.wasm');
  if (tf.findBackendFactory('wasm') != null) tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      const factory = require(threadedJs) as ModuleFactory;
      const worker = workerScriptPath(wasmDir);
      const restore = liftCoreCap(2 * threads);
      try {
        const module = await instantiate(factory, {
          locateFile: (p: string) => (p.endsWith('.worker.js') ? worker : p.endsWith('.wasm') ? wasmBinary : p),
          mainScriptUrlOrBlob: threadedJs,
        });
        // The same C entry points the stock init() wraps.
        module.tfjs = {
          init: module.cwrap('init', null, []),
          initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
          getThreadsCount: module.cwrap('get_threads_count', 'number', []),
          registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
          disposeData: module.cwrap('dispose_data', null, ['number']),
          dispose: module.cwrap('dispose', null, []),
        };
        tfwasm.setThreadsCount(threads);
        const BackendCtor = tfwasm.BackendWasm as unknown as new (m: ThreadedModule) => tf.KernelBackend;
        const backend = new BackendCtor(module);
        loadedModule = module;
        unrefWorkers(module);
        return backend;
      } finally {
        restore();
      }
    },
    priority,
  );
}

/** Idle pthreads must not keep the event loop alive: unref every worker the pool holds. */
function unrefWorkers(module: ThreadedModule): void {
  const pool = module.PThread;
  if (!pool) return;
  for (const w of [...pool.runningWorkers, ...pool.unusedWorkers]) w.unref();
}

/** Ends every pthread worker; call when the wasm backend will not be used again. */
export function terminateWasmThreads(): void {
  loadedModule?.PThread?.terminateAllThreads();
  loadedModule = null;
}
