/**
 * Gradient checks: an op's value and its gradients with respect to every input, for the loss
 * Σ f(x)·r with a fixed random upstream r, on a given backend; compared by max|a−b| / max|ref|.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/nn/index.ts';
import { useBackend } from './backends.ts';

export type Op = (...xs: tf.Tensor[]) => tf.Tensor;

export interface Evaluation {
  value: Float32Array;
  grads: Float32Array[];
}

export function randomArray(n: number, rng: Rng, scale = 1, offset = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = offset + scale * rng.normal();
  return a;
}

export async function evaluate(
  backend: 'wasm' | 'cpu',
  op: Op,
  inputs: { data: Float32Array; shape: number[] }[],
  upstreamSeed = 99,
): Promise<Evaluation> {
  await useBackend(backend);
  const xs = inputs.map((i) => tf.tensor(i.data, i.shape, 'float32'));
  const value = op(...xs);
  const r = tf.tensor(randomArray(value.size, new Rng(upstreamSeed)), value.shape, 'float32');
  const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(op(...a), r)))(xs);
  const out = { value: value.dataSync().slice() as Float32Array, grads: grads.map((g) => g.dataSync().slice() as Float32Array) };
  tf.dispose([...xs, value, r, ...grads]);
  return out;
}

export function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

export interface Comparison {
  value: number;
  grads: number[];
  worst: number;
}

export function compare(a: Evaluation, ref: Evaluation): Comparison {
  const value = relErr(a.value, ref.value);
  const grads = a.grads.map((g, i) => relErr(g, ref.grads[i]!));
  return { value, grads, worst: Math.max(value, ...grads) };
}

/**
 * The check the issue asks for: the custom op on wasm and on cpu against tf's autodiff of the plain
 * formulation on cpu.
 */
export async function checkAgainstPlain(
  custom: Op,
  plain: Op,
  inputs: { data: Float32Array; shape: number[] }[],
): Promise<{ wasm: Comparison; cpu: Comparison }> {
  const ref = await evaluate('cpu', plain, inputs);
  const onCpu = await evaluate('cpu', custom, inputs);
  const onWasm = await evaluate('wasm', custom, inputs);
  return { wasm: compare(onWasm, ref), cpu: compare(onCpu, ref) };
}

export function inputsFor(shapes: number[][], seed: number, scale = 1, offset = 0): { data: Float32Array; shape: number[] }[] {
  const rng = new Rng(seed);
  return shapes.map((shape) => ({ data: randomArray(shape.reduce((a, b) => a * b, 1), rng, scale, offset), shape }));
}
