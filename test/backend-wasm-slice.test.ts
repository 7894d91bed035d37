/**
 * The wasm backend's Slice and SplitV replaced by in-place versions (src/backend/wasm-slice.ts, installed
 * when the wasm backend starts): every value equals tf's cpu kernels on boxes of every rank and position, float32 and int32, through tf.slice,
 * tf.split (sizes and counts) and their gradients; strings still go to tf's own kernels.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { inPlaceSliceOnWasm } from '../src/backend/index.ts';
import { copyBox } from '../src/backend/wasm-slice.ts';
import { useBackend } from './helpers/backends.ts';

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** The same computation on cpu and on wasm (with the replaced kernels); returns both results' values. */
async function both(make: () => tf.Tensor[]): Promise<{ cpu: number[][]; wasm: number[][] }> {
  await useBackend('cpu');
  const cpu = tf.tidy(make).map((t) => {
    const v = values(t);
    t.dispose();
    return v;
  });
  await useBackend('wasm');
  inPlaceSliceOnWasm();
  const wasm = tf.tidy(make).map((t) => {
    const v = values(t);
    t.dispose();
    return v;
  });
  return { cpu, wasm };
}

function ramp(shape: number[], dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, (_, i) => (dtype === 'int32' ? i - 7 : i * 0.5 - 3)), shape, dtype);
}

describe('in-place Slice and SplitV on wasm', () => {
  before(async () => {
    await useBackend('wasm');
    inPlaceSliceOnWasm();
  });

  it("the kernels are registered in place of tf's, which copy the whole input first", () => {
    for (const name of ['Slice', 'SplitV']) {
      const src = tf.getKernel(name, 'wasm')!.kernelFunc.toString();
      assert.ok(src.includes('own.kernelFunc') && !src.includes('readSync'), `${name} kernel: ${src.slice(0, 80)}`);
    }
    const x = ramp([2, 3]);
    assert.deepEqual(values(tf.slice(x, [1, 1], [1, 2])), [0.5 * 4 - 3, 0.5 * 5 - 3]);
    x.dispose();
  });

  it('slices boxes of rank 1-5 at every offset like the cpu kernel', async () => {
    const cases: [number[], number[], number[]][] = [
      [[17], [3], [9]],
      [[5, 7], [1, 2], [3, 4]],
      [[5, 7], [0, 0], [5, 7]],
      [[4, 5, 6], [1, 0, 2], [2, 5, 3]],
      [[4, 5, 6], [0, 2, 0], [4, 1, 6]],
      [[3, 4, 5, 70], [1, 1, 2, 3], [2, 3, 2, 65]],
      [[3, 4, 5, 70], [2, 0, 0, 0], [1, 4, 5, 70]],
      [[2, 3, 4, 5, 6], [1, 1, 0, 2, 1], [1, 2, 4, 3, 5]],
      [[8, 3, 3, 2], [0, 0, 0, 1], [-1, -1, -1, 1]],
    ];
    for (const [shape, begin, size] of cases) {
      const r = await both(() => [tf.slice(ramp(shape), begin, size)]);
      assert.deepEqual(r.wasm, r.cpu, `slice ${shape} at ${begin} size ${size}`);
    }
  });

  it('int32 and empty slices', async () => {
    const r = await both(() => [tf.slice(ramp([4, 6], 'int32'), [1, 2], [2, 3]), tf.slice(ramp([4, 6]), [1, 0], [0, 6])]);
    assert.deepEqual(r.wasm, r.cpu);
    assert.deepEqual(r.wasm[1], []);
  });

  it('splits by sizes and by count on every axis, long and short runs', async () => {
    const r = await both(() => [
      ...tf.split(ramp([2, 6, 5, 96]), [32, 64], 3),
      ...tf.split(ramp([2, 6, 5, 9]), [2, 3, 4], 3),
      ...tf.split(ramp([4, 6, 5, 3]), 2, 0),
      ...tf.split(ramp([2, 6, 5, 3]), 3, 1),
      ...tf.split(ramp([3, 10], 'int32'), [4, -1], 1),
    ]);
    assert.equal(r.wasm.length, 12);
    assert.deepEqual(r.wasm, r.cpu);
  });

  it('gradients through slice and split match the cpu backend', async () => {
    const r = await both(() => {
      const f = (x: tf.Tensor) => {
        const [a, b] = tf.split(x, [1, 2], 3);
        return tf.add(tf.sum(tf.mul(a!, 3)), tf.sum(tf.mul(tf.slice(b!, [0, 1, 0, 0], [2, 2, 3, 2]), tf.slice(x, [0, 0, 0, 0], [2, 2, 3, 2]))));
      };
      return [tf.grad(f)(ramp([2, 4, 3, 3]))];
    });
    assert.deepEqual(r.wasm, r.cpu);
  });

  it("strings still slice through tf's own kernel", async () => {
    await useBackend('wasm');
    const s = tf.tensor1d(['a', 'b', 'c', 'd']);
    assert.deepEqual(tf.slice(s, [1], [2]).arraySync(), ['b', 'c']);
  });

  it('copyBox copies packed boxes of plain arrays (element runs and set() runs)', () => {
    const shape = [3, 2, 80];
    const x = Float32Array.from({ length: 480 }, (_, i) => i);
    const out = new Float32Array(2 * 1 * 70);
    copyBox(x, shape, [1, 1, 5], [2, 1, 70], out);
    const want: number[] = [];
    for (let a = 1; a < 3; a++) for (let c = 5; c < 75; c++) want.push(a * 160 + 80 + c);
    assert.deepEqual(Array.from(out), want);
    const small = new Float32Array(4);
    copyBox(x, shape, [0, 0, 0], [1, 2, 2], small);
    assert.deepEqual(Array.from(small), [0, 1, 80, 81]);
  });
});
