/**
 * The fused wasm attention kernels (src/nn/attention-kernel.ts, driven by attention-slices.ts, registered
 * as tfjs kernels by attention-wasm.ts): the generated kernels against a float64 loop on their own memory
 * (plain and shared, as the threaded backend's heap is), then windowAttention on wasm — which now takes the
 * fused path — against tf's autodiff of the plain formulation on cpu, at shapes that exercise every code
 * path: token counts with a row remainder and column padding, head sizes that use 8- and 4-float column
 * blocks, a key mask, no bias, one token. The XNNPACK formulation stays checked with the kernels off.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { attentionModule } from '../src/nn/attention-kernel.ts';
import { KernelThreads } from '../src/nn/kernel-threads.ts';
import { attentionBackward, attentionForward, probabilityBytes } from '../src/nn/attention-slices.ts';
import type { AttentionDims } from '../src/nn/attention-slices.ts';
import { fusedAttentionAvailable, setFusedAttention, windowAttention, windowAttentionReference, Rng } from '../src/nn/index.ts';
import { checkAgainstPlain, inputsFor, relErr } from './helpers/gradcheck.ts';
import { useBackend } from './helpers/backends.ts';

interface Problem {
  d: AttentionDims;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  bias: Float64Array;
  mask: Float64Array;
  dy: Float64Array;
}

/** out, dq, dk, dv, dbias of softmax(scale·q·kᵀ + bias + mask)·v, in float64 loops. */
function reference(p: Problem, scale: number): Record<'out' | 'dq' | 'dk' | 'dv' | 'dbias', Float64Array> {
  const { windows: W, tokens: T, heads: H, dim: D } = p.d;
  const at = (w: number, t: number, h: number, e: number) => ((w * T + t) * H + h) * D + e;
  const n = W * T * H * D;
  const r = { out: new Float64Array(n), dq: new Float64Array(n), dk: new Float64Array(n), dv: new Float64Array(n), dbias: new Float64Array(T * H * T) };
  for (let w = 0; w < W; w++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const logits = Array.from({ length: T }, (_, s) => {
          let a = 0;
          for (let e = 0; e < D; e++) a += p.q[at(w, t, h, e)]! * p.k[at(w, s, h, e)]!;
          return a * scale + p.bias[(t * H + h) * T + s]! + p.mask[w * T + s]!;
        });
        const m = Math.max(...logits);
        const ex = logits.map((x) => Math.exp(x - m));
        const z = ex.reduce((a, b) => a + b, 0);
        const P = ex.map((x) => x / z);
        const dP = Array.from({ length: T }, (_, s) => {
          let a = 0;
          for (let e = 0; e < D; e++) a += p.dy[at(w, t, h, e)]! * p.v[at(w, s, h, e)]!;
          return a;
        });
        const rowDot = dP.reduce((a, x, s) => a + x * P[s]!, 0);
        for (let s = 0; s < T; s++) {
          const ds = P[s]! * (dP[s]! - rowDot);
          r.dbias[(t * H + h) * T + s] += ds;
          for (let e = 0; e < D; e++) {
            r.out[at(w, t, h, e)] += P[s]! * p.v[at(w, s, h, e)]!;
            r.dq[at(w, t, h, e)] += scale * ds * p.k[at(w, s, h, e)]!;
            r.dk[at(w, s, h, e)] += scale * ds * p.q[at(w, t, h, e)]!;
            r.dv[at(w, s, h, e)] += P[s]! * p.dy[at(w, t, h, e)]!;
          }
        }
      }
    }
  }
  return r;
}

describe('generated attention kernels on their own memory', () => {
  for (const mode of ['plain', 'shared', 'shared, split over 2 helper threads'] as const) {
    it(`match float64 loops (${mode} memory): values, dq, dk, dv and the window-summed dbias`, () => {
      const shared = mode !== 'plain';
      const memory = shared ? new WebAssembly.Memory({ initial: 128, maximum: 512, shared: true }) : new WebAssembly.Memory({ initial: 128 });
      const kernels = attentionModule(memory);
      const threads = mode === 'plain' || mode === 'shared' ? null : new KernelThreads(kernels.module, memory, 2);
      const rng = new Rng(5);
      for (const [W, T, H, D] of [[3, 9, 2, 8], [2, 13, 3, 4], [2, 16, 1, 12], [1, 1, 1, 4], [2, 4, 2, 16]] as const) {
        const d = { windows: W, tokens: T, heads: H, dim: D };
        const n = W * T * H * D;
        const rand = (m: number) => Float64Array.from({ length: m }, () => rng.normal());
        const mask = Float64Array.from({ length: W * T }, (_, i) => (T > 1 && i % 5 === 3 ? -1e9 : 0));
        const prob: Problem = { d, q: rand(n), k: rand(n), v: rand(n), bias: rand(T * H * T), mask, dy: rand(n) };
        let top = 1 << 16;
        const alloc = (bytes: number) => {
          const p = top;
          top += Math.ceil(bytes / 16) * 16;
          return p;
        };
        const scratch = alloc(1 << 20);
        const put = (data: Float64Array) => {
          const p = alloc(data.length * 4);
          new Float32Array(memory.buffer, p, data.length).set(data);
          return p;
        };
        const f = { q: put(prob.q), k: put(prob.k), v: put(prob.v), bias: put(prob.bias), mask: put(mask), out: alloc(n * 4), p: alloc(probabilityBytes(d)) };
        const g = { dy: put(prob.dy), dq: alloc(n * 4), dk: alloc(n * 4), dv: alloc(n * 4), dbias: alloc(T * H * T * 4) };
        const heap = { memory, kernels, scratch: () => scratch, threads, minWorkPerThread: 0 };
        const scale = 1 / Math.sqrt(D);
        attentionForward(heap, d, f, scale);
        attentionBackward(heap, d, { ...f, ...g }, scale);
        const want = reference(prob, scale);
        const read = (p: number, m: number) => new Float32Array(memory.buffer, p, m).slice();
        for (const [name, p, m] of [['out', f.out, n], ['dq', g.dq, n], ['dk', g.dk, n], ['dv', g.dv, n], ['dbias', g.dbias, T * H * T]] as const) {
          const err = relErr(read(p, m), want[name]);
          assert.ok(err <= 2e-6, `[${W},${T},${H},${D}] ${name}: rel err ${err.toExponential(2)}`);
        }
      }
      threads?.terminate();
    });
  }
});

describe('windowAttention on wasm takes the fused kernels', () => {
  it('for head sizes that are multiples of 4, on wasm only', async () => {
    await useBackend('wasm');
    assert.equal(fusedAttentionAvailable({ windows: 2, tokens: 9, heads: 2, dim: 8 }), true);
    assert.equal(fusedAttentionAvailable({ windows: 2, tokens: 9, heads: 2, dim: 3 }), false);
    await useBackend('cpu');
    assert.equal(fusedAttentionAvailable({ windows: 2, tokens: 9, heads: 2, dim: 8 }), false);
  });

  const cases: { name: string; shape: [number, number, number, number]; bias: boolean; mask: boolean }[] = [
    { name: 'T=9 (a row remainder, padded columns), d=8, bias and key mask', shape: [3, 9, 2, 8], bias: true, mask: true },
    { name: 'T=36 (the 4-frame 3x3 window), d=12 (4-float column blocks), bias', shape: [2, 36, 2, 12], bias: true, mask: false },
    { name: 'T=16, d=16, no bias', shape: [4, 16, 1, 16], bias: false, mask: false },
    { name: 'T=1 (the 1x1 window of one frame), d=4', shape: [5, 1, 2, 4], bias: true, mask: false },
  ];
  for (const c of cases) {
    it(`gradients (q, k, v, bias) match tf autodiff on cpu: ${c.name}`, async () => {
      const [w, t, h, d] = c.shape;
      const maskData = new Float32Array(w * t);
      if (c.mask) for (let s = t - 3; s < t; s++) maskData[t + s] = -1e9; // window 1: the last 3 keys are padding
      const opts = (b?: tf.Tensor) => ({
        ...(b ? { bias: b as tf.Tensor3D } : {}),
        ...(c.mask ? { keyMask: tf.tensor2d(maskData, [w, t]) } : {}),
      });
      const as4 = (x: tf.Tensor) => x as tf.Tensor4D;
      const shapes = [[w, t, h, d], [w, t, h, d], [w, t, h, d], ...(c.bias ? [[t, h, t]] : [])];
      const r = await checkAgainstPlain(
        (q, k, v, b) => windowAttention(as4(q), as4(k), as4(v), opts(b)),
        (q, k, v, b) => windowAttentionReference(as4(q), as4(k), as4(v), opts(b)),
        inputsFor(shapes, 70 + t),
      );
      for (const [backend, cmp] of Object.entries(r)) {
        assert.ok(cmp.worst <= 1e-5, `${backend}: value err ${cmp.value.toExponential(2)}, grad errs ${cmp.grads.map((g) => g.toExponential(2)).join(', ')}`);
      }
    });
  }

  it('the XNNPACK formulation still matches with the kernels turned off', async () => {
    setFusedAttention(false);
    try {
      const [w, t, h, d] = [2, 12, 2, 8];
      const as4 = (x: tf.Tensor) => x as tf.Tensor4D;
      const r = await checkAgainstPlain(
        (q, k, v, b) => windowAttention(as4(q), as4(k), as4(v), { bias: b as tf.Tensor3D }),
        (q, k, v, b) => windowAttentionReference(as4(q), as4(k), as4(v), { bias: b as tf.Tensor3D }),
        inputsFor([[w, t, h, d], [w, t, h, d], [w, t, h, d], [t, h, t]], 90),
      );
      assert.ok(r.wasm.worst <= 1e-5, `wasm: ${r.wasm.worst}`);
    } finally {
      setFusedAttention(true);
    }
  });

  it('leaves no tensor behind: a forward + backward frees P and its scratch with the rest', async () => {
    await useBackend('wasm');
    const rng = new Rng(3);
    const shape = [4, 20, 2, 8];
    const make = (s: number[]) => tf.tensor(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()), s);
    const [q, k, v, b] = [make(shape), make(shape), make(shape), make([20, 2, 20])];
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const grads = tf.grads((a, c, e, f) => tf.sum(windowAttention(a as tf.Tensor4D, c as tf.Tensor4D, e as tf.Tensor4D, { bias: f as tf.Tensor3D })))([q!, k!, v!, b!]);
      assert.ok(grads.every((g) => Number.isFinite(g.dataSync()[0]!)));
      tf.dispose(grads);
    }
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([q!, k!, v!, b!]);
  });
});
