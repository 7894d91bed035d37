import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  frameWindowRelativeIndex,
  localityBias,
  mergeWindows,
  partitionWindows,
  relativePositionIndex,
  relativeTableSize,
  windowGeometry,
  windowKeyMask,
} from '../src/model/index.ts';
import { Rng } from '../src/nn/index.ts';
import { useBackend } from './helpers/backends.ts';

function randomTensor(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal();
  return tf.tensor4d(data, shape);
}

describe('window partition and merge', () => {
  before(() => useBackend('wasm'));

  for (const [s, f, h, w, c, m] of [
    [2, 3, 7, 5, 2, 3], // padded in both directions
    [1, 4, 8, 8, 3, 4], // exact tiling
    [3, 1, 6, 4, 2, 4], // one frame (per-frame spatial windows), window larger than the width
  ] as const) {
    it(`is an exact inverse and puts pixel (s,f,y,x) at its window token: S=${s} F=${f} ${h}x${w} M=${m}`, () => {
      const x = randomTensor([s * f, h, w, c], 7 + h);
      const g = windowGeometry(x.shape, f, m);
      const tokens = partitionWindows(x, g);
      const nh = Math.ceil(h / m);
      const nw = Math.ceil(w / m);
      assert.deepEqual(tokens.shape, [s * nh * nw, f * m * m, c]);
      const back = mergeWindows(tokens, g);
      assert.deepEqual(back.shape, x.shape);
      assert.deepEqual(Array.from(back.dataSync()), Array.from(x.dataSync()), 'merge(partition(x)) must equal x bit for bit');

      // Independent index arithmetic: window (s,i,j), token (f,y,v) holds x[s·F+f, i·M+y, j·M+v] or padding 0.
      const xs = x.arraySync();
      const ts = tokens.arraySync();
      const mask = windowKeyMask(g);
      for (let si = 0; si < s; si++)
        for (let i = 0; i < nh; i++)
          for (let j = 0; j < nw; j++)
            for (let fi = 0; fi < f; fi++)
              for (let y = 0; y < m; y++)
                for (let v = 0; v < m; v++) {
                  const win = (si * nh + i) * nw + j;
                  const tok = (fi * m + y) * m + v;
                  const inside = i * m + y < h && j * m + v < w;
                  const expected = inside ? xs[si * f + fi]![i * m + y]![j * m + v]! : new Array(c).fill(0);
                  assert.deepEqual(ts[win]![tok], expected, `window ${win} token ${tok}`);
                  const maskValue = mask ? mask[win * f * m * m + tok] : 0;
                  assert.equal(maskValue === 0, inside, `mask of window ${win} token ${tok}`);
                }
      tf.dispose([x, tokens, back]);
    });
  }

  it('gives no mask when the window tiles the map exactly', () => {
    assert.equal(windowKeyMask(windowGeometry([8, 8, 8, 3], 4, 4)), null);
  });

  it('rejects a batch that is not whole sequences', () => {
    assert.throws(() => windowGeometry([6, 8, 8, 3], 4, 4), /6 images are not a whole number of 4-frame sequences/);
  });
});

describe('relative position index', () => {
  /** Swin-Transformer's WindowAttention construction, step by step on coordinate arrays. */
  function swinIndex(m: number): number[] {
    const coordsH: number[] = [];
    const coordsW: number[] = [];
    for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) (coordsH.push(a), coordsW.push(b)); // meshgrid 'ij', flatten
    const t = m * m;
    const out: number[] = [];
    for (let p = 0; p < t; p++)
      for (let q = 0; q < t; q++) {
        let dh = coordsH[p]! - coordsH[q]!;
        let dw = coordsW[p]! - coordsW[q]!;
        dh += m - 1; // shift to start from 0
        dw += m - 1;
        dh *= 2 * m - 1;
        out.push(dh + dw);
      }
    return out;
  }

  for (const m of [1, 2, 3, 4, 7]) {
    it(`equals the Swin formula for M=${m} and spans the (2M−1)² table`, () => {
      const idx = relativePositionIndex(m);
      assert.deepEqual(Array.from(idx), swinIndex(m));
      assert.equal(new Set(idx).size, relativeTableSize(m));
      assert.equal(Math.max(...idx), relativeTableSize(m) - 1);
    });
  }

  it('for F frames repeats the spatial index for every frame pair and is cached', () => {
    const m = 3;
    const f = 3;
    const t = m * m;
    const spatial = relativePositionIndex(m);
    const idx = frameWindowRelativeIndex(m, f);
    assert.equal(idx.length, (f * t) ** 2);
    for (let fa = 0; fa < f; fa++)
      for (let fb = 0; fb < f; fb++)
        for (let a = 0; a < t; a++)
          for (let b = 0; b < t; b++) assert.equal(idx[(fa * t + a) * f * t + fb * t + b], spatial[a * t + b]);
    assert.equal(frameWindowRelativeIndex(m, f), idx);
  });
});

describe('locality start of the relative bias table', () => {
  it('every head starts at −slope × the length of the offset the row stands for', () => {
    const m = 3;
    const heads = 2;
    const table = localityBias(m, heads, 0.5);
    assert.equal(table.length, relativeTableSize(m) * heads);
    const idx = relativePositionIndex(m);
    // Token (0,0) against token (2,1) of the window: offset (−2, −1), length √5.
    const row = idx[0 * m * m + (2 * m + 1)]!;
    for (let h = 0; h < heads; h++) assert.ok(Math.abs(table[row * heads + h]! + 0.5 * Math.sqrt(5)) < 1e-6);
    // A token against itself: the zero offset, the largest entry.
    const self = idx[4 * m * m + 4]!;
    assert.equal(table[self * heads], 0);
    assert.equal(Math.max(...table), 0);
    assert.ok(Math.abs(Math.min(...table) + 0.5 * Math.hypot(m - 1, m - 1)) < 1e-6);
  });
});
