/** Switching between the wasm backend (under test) and tf's cpu backend (the numerical reference). */
import * as tf from '@tensorflow/tfjs';
import { initBackend, silenceCpuBanner } from '../../src/backend/index.ts';

let started = false;

export async function useBackend(name: 'wasm' | 'cpu'): Promise<void> {
  if (!started) {
    await initBackend({ requested: 'wasm' });
    started = true;
  }
  if (tf.getBackend() !== name) {
    await tf.setBackend(name);
    await tf.ready();
  }
  silenceCpuBanner();
}
