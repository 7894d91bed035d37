/**
 * What each TensorFlow.js backend needs and whether this machine has it. Probing never loads a
 * native binding; `activate.ts` does that for the one backend that is chosen.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';

const require = createRequire(import.meta.url);

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Automatic choice, fastest first. `cpu` is a numerical reference only and is never auto-chosen. */
export const AUTO_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm'];

export interface BackendProbe {
  name: BackendName;
  available: boolean;
  /** Why it is or is not available, in words a user can act on. */
  reason: string;
}

export function isBackendName(s: string): s is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(s);
}

export function isInstalled(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** A CUDA device is visible when the driver's device nodes exist and CUDA_VISIBLE_DEVICES allows one. */
export function cudaDeviceVisible(env: NodeJS.ProcessEnv = process.env): { visible: boolean; why: string } {
  const cvd = env.CUDA_VISIBLE_DEVICES;
  if (cvd !== undefined && (cvd.trim() === '' || cvd.trim() === '-1')) {
    return { visible: false, why: `CUDA_VISIBLE_DEVICES=${JSON.stringify(cvd)} hides every GPU` };
  }
  if (!fs.existsSync('/dev/nvidiactl') && !fs.existsSync('/dev/nvidia0')) {
    return { visible: false, why: 'no CUDA device visible (/dev/nvidia0 absent)' };
  }
  return { visible: true, why: 'CUDA device visible' };
}

/** wasm SIMD and threads as this Node's engine supports them. */
export function wasmFeatures(): { simd: boolean; threads: boolean } {
  // Smallest module using a v128 instruction (i8x16.splat of i32.const 0): validates only with SIMD.
  const simdModule = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
  ]);
  const simd = WebAssembly.validate(simdModule);
  let threads = false;
  try {
    threads =
      typeof SharedArrayBuffer === 'function' &&
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    threads = false;
  }
  return { simd, threads };
}

export function probeBackend(name: BackendName): BackendProbe {
  switch (name) {
    case 'tensorflow-gpu': {
      if (!isInstalled('@tensorflow/tfjs-node-gpu')) {
        return {
          name,
          available: false,
          reason:
            'not installed: @tensorflow/tfjs-node-gpu is optional; its install downloads libtensorflow 2.9.1 ' +
            '(CUDA 11.2, cuDNN 8.1), which needs an online machine with that CUDA stack',
        };
      }
      const cuda = cudaDeviceVisible();
      return { name, available: cuda.visible, reason: `installed; ${cuda.why}` };
    }
    case 'tensorflow':
      return isInstalled('@tensorflow/tfjs-node')
        ? { name, available: true, reason: 'installed (@tensorflow/tfjs-node, native CPU)' }
        : {
            name,
            available: false,
            reason:
              'not installed: @tensorflow/tfjs-node is optional; its install downloads libtensorflow, ' +
              'which needs an online machine',
          };
    case 'wasm': {
      if (!isInstalled('@tensorflow/tfjs-backend-wasm')) {
        return { name, available: false, reason: 'not installed: run npm ci' };
      }
      const f = wasmFeatures();
      const parts = [f.simd ? 'SIMD' : 'no SIMD', f.threads ? 'threads' : 'no threads (no SharedArrayBuffer)'];
      return { name, available: true, reason: `bundled with divd (${parts.join(', ')})` };
    }
    case 'cpu':
      return {
        name,
        available: true,
        reason: 'pure JavaScript reference (30-100x slower than wasm); only when asked for by name',
      };
  }
}

export function probeAll(): BackendProbe[] {
  return BACKEND_NAMES.map(probeBackend);
}
