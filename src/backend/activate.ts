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

export interface BackendInfo {
  name: BackendName;
  /** The tfjs backend name actually in use ('tensorflow' for both native variants). */
  tfName: string;
  threads: number;
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
}

let active: BackendInfo | null = null;

export function defaultThreads(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = env.DIVD_THREADS;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1) {
      throw new UsageError(`DIVD_THREADS must be a positive integer, got ${JSON.stringify(fromEnv)}`);
    }
    return n;
  }
  return os.availableParallelism();
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

async function start(name: BackendName, threads: number): Promise<Omit<BackendInfo, 'reason' | 'probes'>> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      // Both packages register their native backend under the one tfjs name 'tensorflow'.
      await import(NATIVE_PACKAGES[name]);
      await setOrThrow('tensorflow');
      return { name, tfName: 'tensorflow', threads: os.availableParallelism(), simd: false };
    case 'wasm': {
      const features = wasmFeatures();
      if (features.threads && features.simd) {
        registerThreadedWasm(threads);
      }
      await setOrThrow('wasm');
      const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
      return { name, tfName: 'wasm', threads: getThreadsCount(), simd: features.simd };
    }
    case 'cpu': {
      await setOrThrow('cpu');
      silenceCpuBanner();
      return { name, tfName: 'cpu', threads: 1, simd: false };
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
      const started = await start(requested, threads);
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
      const started = await start(name, threads);
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
