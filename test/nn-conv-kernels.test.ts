/**
 * The generated conv kernels. The VALID conv (src/nn/conv-forward-kernel.ts: the forward and, through the
 * flipped kernel, the input gradient) on its own memory against a float64 loop, whole and split over helper
 * threads. The filter-gradient kernel (src/nn/conv-filter-kernel.ts): on its own memory against a
 * float64 loop (channel counts with a remainder of 4, 4- and 8-float output blocks, stride 2, non-square
 * kernels), split over helper threads on a shared memory exactly as one thread sums, and conv2d on wasm —
 * which now takes it for every dW (output channels padded to a multiple of 4) — against tf's autodiff on cpu.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { filterGradModule } from '../src/nn/conv-filter-kernel.ts';
import { convForwardModule } from '../src/nn/conv-forward-kernel.ts';
import { rowsCall, runRows, type ConvDims } from '../src/nn/conv-rows.ts';
import { setFusedConv, setFusedFilterGrad } from '../src/nn/conv-wasm.ts';
import { KernelThreads } from '../src/nn/kernel-threads.ts';
import { conv2d, dense, matMulTN, Rng } from '../src/nn/index.ts';
import { checkAgainstPlain, inputsFor, relErr } from './helpers/gradcheck.ts';
import { useBackend } from './helpers/backends.ts';

/** Calls f(x index, w index, output index) for every multiply-add of a VALID conv of the padded input. */
function eachTerm(d: ConvDims, f: (xi: number, wi: number, oi: number) => void): void {
  for (let n = 0; n < d.n; n++)
    for (let y = 0; y < d.ho; y++)
      for (let xo = 0; xo < d.wo; xo++)
        for (let a = 0; a < d.kh; a++)
          for (let b = 0; b < d.kw; b++)
            for (let c = 0; c < d.ci; c++)
              for (let o = 0; o < d.co; o++) {
                f(((n * d.hp + y * d.stride + a) * d.wp + xo * d.stride + b) * d.ci + c, ((a * d.kw + b) * d.ci + c) * d.co + o, ((n * d.ho + y) * d.wo + xo) * d.co + o);
              }
}

function referenceFilterGrad(d: ConvDims, x: Float64Array, dy: Float64Array): Float64Array {
  const dw = new Float64Array(d.kh * d.kw * d.ci * d.co);
  eachTerm(d, (xi, wi, oi) => (dw[wi] += x[xi]! * dy[oi]!));
  return dw;
}

function referenceConv(d: ConvDims, x: Float64Array, w: Float64Array): Float64Array {
  const out = new Float64Array(d.n * d.ho * d.wo * d.co);
  eachTerm(d, (xi, wi, oi) => (out[oi] += x[xi]! * w[wi]!));
  return out;
}

/** dims of a VALID conv of a padded [n, hp, wp, ci] input with a kh x kw kernel at `stride`. */
function dimsFor(n: number, hp: number, wp: number, ci: number, co: number, kh: number, kw: number, stride: number): ConvDims {
  return { n, hp, wp, ci, co, kh, kw, stride, ho: Math.floor((hp - kh) / stride) + 1, wo: Math.floor((wp - kw) / stride) + 1 };
}

const SHAPES: ConvDims[] = [
  dimsFor(2, 7, 6, 6, 8, 3, 3, 1), // ci = 4 + 2: the 1-channel remainder path; 8-float output blocks
  dimsFor(1, 9, 9, 4, 4, 3, 3, 2), // stride 2, 4-float output blocks
  dimsFor(3, 5, 8, 3, 12, 2, 3, 1), // ci < 4, co = 12 (4-float blocks), a 2x3 kernel
  dimsFor(2, 4, 4, 8, 16, 1, 1, 1), // 1x1
];

describe('generated VALID conv kernel', () => {
  // wo = 4, 9, 7 and 3: whole 4-pixel blocks, a remainder, and rows of single pixels.
  const shapes = [...SHAPES, dimsFor(2, 6, 5, 4, 8, 3, 3, 1)];
  for (const threads of [0, 2]) {
    it(`matches a float64 loop${threads ? ', rows split over 2 helper threads' : ''}`, () => {
      const memory = new WebAssembly.Memory({ initial: 64, maximum: 256, shared: true });
      const m = convForwardModule(memory);
      const pool = threads ? new KernelThreads(m.module, memory, threads) : null;
      try {
        const rng = new Rng(13);
        for (const d of shapes) {
          const x = Float64Array.from({ length: d.n * d.hp * d.wp * d.ci }, () => rng.normal());
          const w = Float64Array.from({ length: d.kh * d.kw * d.ci * d.co }, () => rng.normal());
          const [px, pw, po] = [1 << 12, 1 << 18, 1 << 19];
          new Float32Array(memory.buffer, px, x.length).set(x);
          new Float32Array(memory.buffer, pw, w.length).set(w);
          const size = d.n * d.ho * d.wo * d.co;
          new Float32Array(memory.buffer, po, size).fill(NaN);
          const rows = d.n * d.ho;
          const cut = [0, Math.floor(rows / 3), Math.floor((2 * rows) / 3), rows];
          const calls = pool ? [0, 1, 2].map((i) => rowsCall(d, px, pw, po, cut[i]!, cut[i + 1]!)) : [rowsCall(d, px, pw, po, 0, rows)];
          const local = () => runRows(m, calls[0]!);
          if (pool) pool.run(calls[0]!.name, calls.slice(1).map((c) => c.args), local);
          else local();
          const err = relErr(new Float32Array(memory.buffer, po, size), referenceConv(d, x, w));
          assert.ok(err <= 1e-6, `${JSON.stringify(d)}: rel err ${err.toExponential(2)}`);
        }
      } finally {
        pool?.terminate();
      }
    });
  }
});

describe('generated conv filter-gradient kernel', () => {
  for (const shared of [false, true]) {
    it(`matches a float64 loop on ${shared ? 'a shared' : 'a plain'} memory`, () => {
      const memory = shared ? new WebAssembly.Memory({ initial: 64, maximum: 256, shared: true }) : new WebAssembly.Memory({ initial: 64 });
      const fg = filterGradModule(memory);
      const rng = new Rng(11);
      for (const d of SHAPES) {
        const x = Float64Array.from({ length: d.n * d.hp * d.wp * d.ci }, () => rng.normal());
        const dy = Float64Array.from({ length: d.n * d.ho * d.wo * d.co }, () => rng.normal());
        const [px, pdy, pdw] = [1 << 12, 1 << 18, 1 << 19];
        new Float32Array(memory.buffer, px, x.length).set(x);
        new Float32Array(memory.buffer, pdy, dy.length).set(dy);
        const size = d.kh * d.kw * d.ci * d.co;
        new Float32Array(memory.buffer, pdw, size).fill(0);
        const call = rowsCall(d, px, pdy, pdw, 0, d.n * d.ho);
        runRows(fg, call);
        const err = relErr(new Float32Array(memory.buffer, pdw, size), referenceFilterGrad(d, x, dy));
        assert.ok(err <= 1e-6, `${JSON.stringify(d)}: rel err ${err.toExponential(2)}`);
      }
    });
  }

  it('split over two helper threads, the partial sums add up to the one-thread result', () => {
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 256, shared: true });
    const fg = filterGradModule(memory);
    const threads = new KernelThreads(fg.module, memory, 2);
    try {
      const d = dimsFor(3, 10, 9, 5, 8, 3, 3, 1);
      const rng = new Rng(12);
      const [px, pdy, pdw] = [1 << 12, 1 << 18, 1 << 19];
      const f32 = new Float32Array(memory.buffer);
      for (let i = 0; i < d.n * d.hp * d.wp * d.ci; i++) f32[(px >> 2) + i] = rng.normal();
      for (let i = 0; i < d.n * d.ho * d.wo * d.co; i++) f32[(pdy >> 2) + i] = rng.normal();
      const size = d.kh * d.kw * d.ci * d.co;
      const rows = d.n * d.ho;
      const parts = [0, 7, 15, rows];
      const bufs = [pdw, pdw + size * 4, pdw + 2 * size * 4, pdw + 3 * size * 4];
      f32.fill(0, pdw >> 2, (pdw >> 2) + 4 * size);
      const calls = [0, 1, 2].map((i) => rowsCall(d, px, pdy, bufs[i]!, parts[i]!, parts[i + 1]!));
      threads.run(calls[0]!.name, [calls[1]!.args, calls[2]!.args], () => fg.rows['2'](...calls[0]!.args));
      const whole = rowsCall(d, px, pdy, bufs[3]!, 0, rows);
      fg.rows['2'](...whole.args);
      const sum = new Float32Array(size);
      for (let p = 0; p < 3; p++) for (let i = 0; i < size; i++) sum[i]! += f32[(bufs[p]! >> 2) + i]!;
      const err = relErr(sum, f32.subarray(bufs[3]! >> 2, (bufs[3]! >> 2) + size));
      assert.ok(err <= 1e-6, `rel err ${err}`);
      assert.throws(() => threads.run('no_such_export', [], () => {}), /no export no_such_export/);
    } finally {
      threads.terminate();
    }
  });
});

describe('conv2d on wasm with the kernel for dW: gradients match tf autodiff on cpu', () => {
  const as4 = (x: tf.Tensor) => x as tf.Tensor4D;
  const cases: { name: string; x: number[]; w: number[]; stride: 1 | 2; padding: 'same' | 'valid' }[] = [
    { name: '3x3 stride 1 same, 6 -> 8 channels (the UNet input conv)', x: [2, 7, 5, 6], w: [3, 3, 6, 8], stride: 1, padding: 'same' },
    { name: '3x3 stride 2 same (down-sampling), 8 -> 4', x: [2, 8, 6, 8], w: [3, 3, 8, 4], stride: 2, padding: 'same' },
    { name: '5x5 same, 3 -> 12', x: [1, 9, 7, 3], w: [5, 5, 3, 12], stride: 1, padding: 'same' },
    { name: '3x2 valid, 5 -> 8', x: [2, 6, 7, 5], w: [3, 2, 5, 8], stride: 1, padding: 'valid' },
    { name: '3x3 same, 8 -> 3 (the UNet output conv: channels padded to 4)', x: [2, 6, 6, 8], w: [3, 3, 8, 3], stride: 1, padding: 'same' },
  ];
  for (const [i, c] of cases.entries()) {
    it(c.name, async () => {
      const r = await checkAgainstPlain(
        (x, w) => conv2d(as4(x), as4(w), c.stride, c.padding),
        (x, w) => tf.conv2d(as4(x), as4(w), c.stride, c.padding),
        inputsFor([c.x, c.w], 20 + i),
      );
      for (const [backend, cmp] of Object.entries(r)) {
        assert.ok(cmp.worst <= 1e-5, `${backend}: value ${cmp.value.toExponential(2)}, grads ${cmp.grads.map((g) => g.toExponential(2)).join(', ')}`);
      }
    });
  }

  it('tf.conv2d and the convtrick formulation still match with the kernels turned off', async () => {
    setFusedFilterGrad(false);
    setFusedConv(false);
    try {
      const r = await checkAgainstPlain(
        (x, w) => conv2d(as4(x), as4(w), 1),
        (x, w) => tf.conv2d(as4(x), as4(w), 1, 'same'),
        inputsFor([[2, 6, 5, 4], [3, 3, 4, 8]], 30),
      );
      assert.ok(r.wasm.worst <= 1e-5, `wasm: ${r.wasm.worst}`);
    } finally {
      setFusedFilterGrad(true);
      setFusedConv(true);
    }
  });
});

describe('dense dW (aᵀ·b with a long K) through the same kernel on wasm', () => {
  const as2 = (x: tf.Tensor) => x as tf.Tensor2D;
  for (const [k, m, n, seed] of [[96, 5, 8, 40], [544, 12, 4, 41], [64, 3, 12, 42], [48, 6, 3, 43]] as const) {
    it(`matMulTN [${k},${m}]ᵀ·[${k},${n}] and dense's gradients match tf autodiff on cpu`, async () => {
      const r = await checkAgainstPlain(
        (x, w) => dense(as2(x), as2(w)),
        (x, w) => tf.matMul(as2(x), as2(w)),
        inputsFor([[k, m], [m, n]], seed),
      );
      for (const [backend, cmp] of Object.entries(r)) assert.ok(cmp.worst <= 1e-5, `${backend}: ${cmp.worst}`);
      // matMulTN itself (a backward-only op: its value, no gradient of its own).
      const [a, b] = inputsFor([[k, m], [k, n]], seed + 10);
      await useBackend('cpu');
      const want = tf.tidy(() => tf.matMul(tf.tensor2d(a!.data, [k, m]), tf.tensor2d(b!.data, [k, n]), true, false).dataSync().slice());
      await useBackend('wasm');
      const got = tf.tidy(() => matMulTN(tf.tensor2d(a!.data, [k, m]), tf.tensor2d(b!.data, [k, n])).dataSync().slice());
      assert.ok(relErr(got, want) <= 1e-6, `matMulTN rel err ${relErr(got, want)}`);
    });
  }
});
