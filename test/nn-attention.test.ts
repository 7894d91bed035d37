/**
 * The attention core's building block (the depthwise "batched matmul" with rows folded into the conv
 * batch) against a plain JS triple loop, and the core's gradients at sizes where several conv batch
 * entries of 8 rows are used (the other attention checks live in nn-gradients.test.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { depthwiseBatchMatMul, rowsPerEntry, windowAttention, windowAttentionReference, Rng } from '../src/nn/index.ts';
import { checkAgainstPlain, inputsFor, randomArray, relErr } from './helpers/gradcheck.ts';
import { useBackend } from './helpers/backends.ts';

/** out[m,b,n] = Σ_k a[m,k,b] · f[k,b,n], written out as loops. */
function loopProduct(a: Float32Array, f: Float32Array, m: number, k: number, b: number, n: number): Float32Array {
  const out = new Float32Array(m * b * n);
  for (let i = 0; i < m; i++) {
    for (let g = 0; g < b; g++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let r = 0; r < k; r++) acc += a[(i * k + r) * b + g]! * f[(r * b + g) * n + j]!;
        out[(i * b + g) * n + j] = acc;
      }
    }
  }
  return out;
}

describe('rowsPerEntry', () => {
  it('picks a divisor between 4 and 8, or all rows when there is none', () => {
    for (const [m, rows] of [[256, 8], [12, 6], [20, 5], [4, 4], [13, 13], [9, 9], [3, 3], [1, 1]] as const) {
      assert.equal(rowsPerEntry(m), rows, `m = ${m}`);
    }
  });
});

describe('depthwiseBatchMatMul', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`matches the loop product on ${backend} for row counts that split into entries and that do not`, async () => {
      await useBackend(backend);
      const rng = new Rng(7);
      for (const [m, k, b, n] of [[24, 5, 3, 7], [12, 9, 4, 2], [13, 6, 2, 5], [2, 3, 5, 4]] as const) {
        const a = randomArray(m * k * b, rng);
        const f = randomArray(k * b * n, rng);
        const got = tf.tidy(() => depthwiseBatchMatMul(tf.tensor3d(a, [m, k, b]), tf.tensor3d(f, [k, b, n])).dataSync().slice());
        const err = relErr(got as Float32Array, loopProduct(a, f, m, k, b, n));
        assert.ok(err <= 1e-6, `[${m},${k},${b}]x[${k},${b},${n}] on ${backend}: rel err ${err}`);
      }
    });
  }

  it('refuses operands whose K or B disagree', async () => {
    await useBackend('cpu');
    assert.throws(
      () => tf.tidy(() => depthwiseBatchMatMul(tf.zeros([4, 3, 2]) as tf.Tensor3D, tf.zeros([3, 5, 4]) as tf.Tensor3D)),
      /\[4,3,2\] x \[3,5,4\]/,
    );
  });
});

describe('window attention with several 8-row conv entries', () => {
  it('gradients (q, k, v, bias) match tf autodiff on cpu at T=24, d=8', async () => {
    const [w, t, h, d] = [3, 24, 2, 8];
    const as4 = (x: tf.Tensor) => x as tf.Tensor4D;
    const r = await checkAgainstPlain(
      (q, k, v, b) => windowAttention(as4(q), as4(k), as4(v), { bias: b as tf.Tensor3D }),
      (q, k, v, b) => windowAttentionReference(as4(q), as4(k), as4(v), { bias: b as tf.Tensor3D }),
      inputsFor([[w, t, h, d], [w, t, h, d], [w, t, h, d], [t, h, t]], 60),
    );
    for (const [backend, c] of Object.entries(r)) {
      assert.ok(c.worst <= 1e-5, `${backend}: value err ${c.value.toExponential(2)}, grad errs ${c.grads.map((g) => g.toExponential(2)).join(', ')}`);
    }
  });
});
