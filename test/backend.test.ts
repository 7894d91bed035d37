import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, cudaDeviceVisible, defaultPoolThreads, defaultThreads, initBackend, probeAll } from '../src/backend/index.ts';
import { backendHeap } from '../src/nn/wasm-heap.ts';
import { convForwardModule } from '../src/nn/conv-forward-kernel.ts';
import { helperThreads } from '../src/nn/kernel-threads.ts';
import { UsageError } from '../src/errors.ts';

describe('backend selection', () => {
  it('probes every backend with a reason', () => {
    const probes = probeAll();
    assert.deepEqual(
      probes.map((p) => p.name),
      [...BACKEND_NAMES],
    );
    for (const p of probes) assert.ok(p.reason.length > 10, `${p.name} has a reason`);
    assert.equal(probes.find((p) => p.name === 'wasm')!.available, true);
  });

  it('an unknown name is a usage error that lists every backend and why', async () => {
    await assert.rejects(initBackend({ requested: 'tpu' }), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      for (const name of BACKEND_NAMES) assert.match(e.message, new RegExp(`\\b${name}\\b`));
      assert.match(e.message, /"tpu"/);
      return true;
    });
  });

  it('CUDA_VISIBLE_DEVICES=-1 hides the GPU', () => {
    assert.equal(cudaDeviceVisible({ CUDA_VISIBLE_DEVICES: '-1' }).visible, false);
    assert.match(cudaDeviceVisible({ CUDA_VISIBLE_DEVICES: '' }).why, /hides every GPU/);
  });

  it('DIVD_THREADS must be a positive integer', () => {
    assert.equal(defaultThreads({ DIVD_THREADS: '3' }), 3);
    assert.equal(defaultThreads({}), os.availableParallelism());
    assert.throws(() => defaultThreads({ DIVD_THREADS: 'two' }), UsageError);
    assert.throws(() => defaultThreads({ DIVD_THREADS: '0' }), UsageError);
  });

  it("DIVD_POOL_THREADS (tfjs-wasm's own op pool) defaults to 1 and must be a positive integer", () => {
    assert.equal(defaultPoolThreads({}), 1);
    assert.equal(defaultPoolThreads({ DIVD_POOL_THREADS: '2' }), 2);
    assert.throws(() => defaultPoolThreads({ DIVD_POOL_THREADS: '-1' }), /DIVD_POOL_THREADS must be a positive integer, got "-1"/);
  });

  it('auto picks threaded SIMD wasm here with one thread per core, and it computes correctly', async () => {
    const info = await initBackend({ requested: 'auto' });
    // No tfjs-node on this machine, so wasm is the fastest available backend.
    if (info.probes.find((p) => p.name === 'tensorflow')!.available) return;
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(info.simd, true);
    assert.equal(info.threads, os.availableParallelism());
    // tf's own pool stays at one thread; divd's kernels get a helper per extra core all the same.
    assert.equal(info.poolThreads, 1);
    const heap = backendHeap()!;
    const helpers = helperThreads(convForwardModule(heap.memory).module, heap.memory);
    assert.equal(helpers?.size ?? 1, os.availableParallelism());
    helpers?.terminate();
    const y = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]));
    assert.deepEqual([...y.dataSync()], [19, 22, 43, 50]);
  });
});
