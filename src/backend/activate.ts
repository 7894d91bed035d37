/**
 * Chooses and starts a TensorFlow.js backend: the one asked for (flag or DIVD_BACKEND), or the
 * fastest available in AUTO_ORDER. A backend that probes as available but fails to start is
 * reported and the next one is tried (only in automatic mode; an explicit request fails loudly).
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.ts';
import {
  AUTO_ORDER,
  BACKEND_NAMES,
  type BackendName,
  type BackendProbe,
  isBackendName,
  probeAll,
  wasmFeatures,
} from './probe.ts';
import { registerThreadedWasm, terminateWasmThreads } from './wasm-threaded.ts';
import { inPlaceSliceOnWasm } from './wasm-slice.ts';

export interface BackendInfo {
  name: BackendName;
  /** The tfjs backend name actually in use ('tensorflow' for both native variants). */
  tfName: string;
  /** Threads divd's own kernels run on (src/nn's generated wasm kernels); all of tf's for native backends. */
  threads: number;
  /** Threads of tfjs-wasm's XNNPACK pool, which runs every tf op divd has no kernel for (= threads elsewhere). */
  poolThreads: number;
  simd: boolean;
  /** Why this backend was chosen. */
  reason: string;
  /** Every backend with why it is or is not available (after any failed start). */
  probes: BackendProbe[];
}

export interface BackendOptions {
  /** A backend name, or undefined/'auto' to choose automatically. Defaults to $DIVD_BACKEND. */
  requested?: string;
  /** wasm threads; defaults to $DIVD_THREADS or one per core. */
  threads?: number;
  /** Threads of tfjs-wasm's own op pool; defaults to $DIVD_POOL_THREADS or 1 (see defaultPoolThreads). */
  poolThreads?: number;
}

let active: BackendInfo | null = null;

export function defaultThreads(env: NodeJS.ProcessEnv = process.env): number {
  return positiveIntegerFromEnv(env, 'DIVD_THREADS') ?? os.availableParallelism();
}

/**
 * tfjs-wasm's XNNPACK pool splits every op over its threads, however small: a training step of the smoke
 * model (~6,000 small ops) took 276 ms with a pool of 2 against 192–211 ms with a pool of 1, while divd's
 * own conv and attention kernels, which carry the large products, split over `threads` on their own helper
 * threads (the reference UNet: pool 1 + 2 kernel threads 1724 ms, pool 2 + 2 kernel threads 1762 ms). So the
 * pool gets one thread unless $DIVD_POOL_THREADS asks for more.
 */
export function defaultPoolThreads(env: NodeJS.ProcessEnv = process.env): number {
  return positiveIntegerFromEnv(env, 'DIVD_POOL_THREADS') ?? 1;
}

function positiveIntegerFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const fromEnv = env[name];
  if (fromEnv === undefined || fromEnv === '') return undefined;
  const n = Number(fromEnv);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got ${JSON.stringify(fromEnv)}`);
  return n;
}

function describeAll(probes: BackendProbe[]): string {
  return probes.map((p) => `  ${p.available ? '✓' : '✗'} ${p.name.padEnd(15)} ${p.reason}`).join('\n');
}

const NATIVE_PACKAGES: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/**
 * The cpu backend's first write prints an "install tfjs-node" banner; `divd doctor` already explains
 * backends. Call after switching to 'cpu' (tests switch to it as their numerical reference).
 */
export function silenceCpuBanner(): void {
  if (tf.getBackend() === 'cpu') (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
}

async function start(name: BackendName, threads: number, poolThreads: number): Promise<Omit<BackendInfo, 'reason' | 'probes'>> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      // Both packages register their native backend under the one tfjs name 'tensorflow'.
      await import(NATIVE_PACKAGES[name]);
      await setOrThrow('tensorflow');
      return { name, tfName: 'tensorflow', threads: os.availableParallelism(), poolThreads: os.availableParallelism(), simd: false };
    case 'wasm': {
      const features = wasmFeatures();
      const threaded = features.threads && features.simd;
      if (threaded) registerThreadedWasm(Math.min(poolThreads, threads));
      await setOrThrow('wasm');
      inPlaceSliceOnWasm();
      const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
      // Without the threaded build there is one thread for everything.
      return { name, tfName: 'wasm', threads: threaded ? threads : 1, poolThreads: getThreadsCount(), simd: features.simd };
    }
    case 'cpu': {
      await setOrThrow('cpu');
      silenceCpuBanner();
      return { name, tfName: 'cpu', threads: 1, poolThreads: 1, simd: false };
    }
  }
}

async function setOrThrow(tfName: string): Promise<void> {
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new Error(`tf.setBackend('${tfName}') failed`);
  await tf.ready();
}

/** Starts the requested or best backend once per process; later calls return the same info. */
export async function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  const requested = options.requested ?? process.env.DIVD_BACKEND ?? 'auto';
  const threads = options.threads ?? defaultThreads();
  const poolThreads = options.poolThreads ?? defaultPoolThreads();
  if (active) {
    if (requested !== 'auto' && requested !== active.name) {
      throw new Error(`backend already initialised as ${active.name}; cannot switch to ${requested}`);
    }
    return active;
  }
  const probes = probeAll();
  if (requested !== 'auto') {
    if (!isBackendName(requested)) {
      throw new UsageError(
        `unknown backend ${JSON.stringify(requested)} (from --backend or DIVD_BACKEND); ` +
          `expected one of ${BACKEND_NAMES.join(', ')} or auto:\n${describeAll(probes)}`,
      );
    }
    const probe = probes.find((p) => p.name === requested)!;
    if (!probe.available) {
      throw new UsageError(`backend ${requested} is not available here:\n${describeAll(probes)}`);
    }
    try {
      const started = await start(requested, threads, poolThreads);
      active = { ...started, reason: 'requested', probes };
      return active;
    } catch (e) {
      probe.available = false;
      probe.reason = `failed to start: ${(e as Error).message}`;
      throw new UsageError(`backend ${requested} could not start:\n${describeAll(probes)}`);
    }
  }
  for (const name of AUTO_ORDER) {
    const probe = probes.find((p) => p.name === name)!;
    if (!probe.available) continue;
    try {
      const started = await start(name, threads, poolThreads);
      active = { ...started, reason: `fastest available (${probe.reason})`, probes };
      return active;
    } catch (e) {
      probe.available = false;
      probe.reason = `failed to start: ${(e as Error).message}`;
    }
  }
  throw new Error(`no TensorFlow.js backend could start:\n${describeAll(probes)}`);
}

export function activeBackend(): BackendInfo | null {
  return active;
}

/** Ends wasm pthread workers and forgets the active backend. */
export function shutdownBackend(): void {
  terminateWasmThreads();
  active = null;
}
