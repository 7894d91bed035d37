import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { localityBias, resolveModelConfig } from '../src/model/index.ts';
import { applyAttention, createAttention, type AttentionParams } from '../src/model/wtsa.ts';
import { groupNormReference, ParamStore } from '../src/nn/index.ts';
import { useBackend } from './helpers/backends.ts';
import { randomImages } from './helpers/model.ts';

/**
 * WTSA written out pixel by pixel from the paper's description: each pixel of frame f attends to the
 * pixels of the same M×M window in the frames of its sequence (or only its own frame for 'spatial'),
 * skipping positions outside the image, with logits q·k/√d + table[Swin index of the spatial offset].
 */
function naiveAttention(p: AttentionParams, x: tf.Tensor4D, frames: number): Float32Array {
  const [n, hgt, wid, c] = x.shape;
  const val = (v: tf.Variable | null) => (v ? (v.dataSync() as Float32Array) : null);
  let h = groupNormReference(x, p.norm.gamma as tf.Tensor1D, p.norm.beta as tf.Tensor1D, p.norm.groups);
  const pe = val(p.framePE);
  if (pe) {
    const peImages = tf.tensor4d(Array.from({ length: n }, (_, i) => Array.from(pe.subarray((i % frames) * c, (i % frames + 1) * c))).flat(), [n, 1, 1, c]);
    h = tf.add(h, peImages);
  }
  const hd = h.dataSync();
  const proj = (w: Float32Array, bias: Float32Array | null) => {
    const b = bias ?? new Float32Array(c);
    const out = new Float32Array(n * hgt * wid * c);
    for (let i = 0; i < n * hgt * wid; i++)
      for (let o = 0; o < c; o++) {
        let s = b[o]!;
        for (let k = 0; k < c; k++) s += hd[i * c + k]! * w[k * c + o]!;
        out[i * c + o] = s;
      }
    return out;
  };
  const q = proj(val(p.q.w)!, val(p.q.b));
  const k = proj(val(p.k.w)!, val(p.k.b));
  const v = proj(val(p.v.w)!, val(p.v.b));
  const table = val(p.relTable);
  const wo = val(p.out.w)!;
  const bo = val(p.out.b) ?? new Float32Array(c);
  const xd = x.dataSync();
  const m = p.window;
  const heads = p.heads;
  const d = c / heads;
  const group = p.kind === 'wtsa' ? frames : 1;
  const out = new Float32Array(xd);
  const pix = (img: number, y: number, xx: number) => (img * hgt + y) * wid + xx;
  for (let img = 0; img < n; img++)
    for (let y = 0; y < hgt; y++)
      for (let xx = 0; xx < wid; xx++) {
        const wy = Math.floor(y / m) * m;
        const wx = Math.floor(xx / m) * m;
        const first = img - (img % group);
        const keys: [number, number, number][] = []; // (pixel index, dy, dx)
        for (let g = first; g < first + group; g++)
          for (let ky = wy; ky < Math.min(wy + m, hgt); ky++)
            for (let kx = wx; kx < Math.min(wx + m, wid); kx++) keys.push([pix(g, ky, kx), y - ky, xx - kx]);
        const attended = new Float32Array(c);
        for (let hh = 0; hh < heads; hh++) {
          const logits = keys.map(([kp, dy, dx]) => {
            let s = 0;
            for (let e = 0; e < d; e++) s += q[pix(img, y, xx) * c + hh * d + e]! * k[kp * c + hh * d + e]!;
            s /= Math.sqrt(d);
            if (table) s += table[((dy + m - 1) * (2 * m - 1) + (dx + m - 1)) * heads + hh]!;
            return s;
          });
          const mx = Math.max(...logits);
          const ex = logits.map((l) => Math.exp(l - mx));
          const z = ex.reduce((a, b) => a + b, 0);
          keys.forEach(([kp], j) => {
            for (let e = 0; e < d; e++) attended[hh * d + e]! += (ex[j]! / z) * v[kp * c + hh * d + e]!;
          });
        }
        for (let o = 0; o < c; o++) {
          let s = bo[o]!;
          for (let e = 0; e < c; e++) s += attended[e]! * wo[e * c + o]!;
          out[pix(img, y, xx) * c + o]! += s;
        }
      }
  return out;
}

describe('WTSA block', () => {
  before(() => useBackend('wasm'));

  for (const [kind, window, framePE, relBias] of [
    ['wtsa', 3, true, true],
    ['wtsa', 2, false, true],
    ['wtsa', 4, true, false],
    ['spatial', 3, true, true],
  ] as const) {
    it(`equals the pixel-by-pixel definition: ${kind}, M=${window}, frame PE ${framePE}, relative bias ${relBias}`, () => {
      const frames = 3;
      const config = resolveModelConfig({ frames, attention: kind, headChannels: 4, mrpe: { framePE, relBias } });
      const store = new ParamStore(5);
      const p = createAttention(store.scope('a'), 8, window, config);
      // Random weights everywhere (the zero-initialised out projection would hide the attention).
      for (const [i, v] of store.variables().entries()) v.assign(tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 100 + i), 0.5));
      const x = randomImages([2 * frames, 5, 7, 8], 9); // 5x7 pads for every window size here
      const got = applyAttention(p, x).dataSync();
      const want = naiveAttention(p, x, frames);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      assert.ok(worst < 2e-4, `max abs difference ${worst}`);
      store.dispose();
    });
  }
});

describe('mrpe.locality', () => {
  before(() => useBackend('wasm'));

  it('starts the bias table at Swin\'s random values minus slope × offset length, the same noise as without it', () => {
    const table = (locality: number): Float32Array => {
      const store = new ParamStore(3);
      const config = resolveModelConfig({ frames: 2, headChannels: 4, mrpe: { framePE: true, relBias: true, locality } });
      const p = createAttention(store.scope('a'), 8, 4, config);
      const values = p.relTable!.dataSync() as Float32Array;
      store.dispose();
      return values;
    };
    const plain = table(0);
    const local = table(1.5);
    const start = localityBias(4, 2, 1.5);
    let worst = 0;
    for (let i = 0; i < plain.length; i++) worst = Math.max(worst, Math.abs(local[i]! - plain[i]! - start[i]!));
    assert.ok(worst < 1e-5, `differs from plain + locality start by ${worst}`);
    assert.ok(Math.max(...plain.map(Math.abs)) < 0.2, 'the plain start stays Swin\'s small random table');
  });

  it('makes a wide window attend near the same position at the start', () => {
    // With locality the attended output of a token stays close to its own window position's values.
    const spread = (locality: number): number => {
      const store = new ParamStore(4);
      const config = resolveModelConfig({ frames: 1, attention: 'spatial', headChannels: 8, mrpe: { framePE: false, relBias: true, locality } });
      const p = createAttention(store.scope('a'), 8, 8, config);
      const t = p.relTable!.dataSync() as Float32Array;
      // The softmax weight the zero offset gets among the 64 keys of one centre token, q·k aside.
      const m = 8;
      const side = 2 * m - 1;
      let z = 0;
      for (let y = 0; y < m; y++) for (let x = 0; x < m; x++) z += Math.exp(t[((y - 4 + m - 1) * side + (x - 4 + m - 1)) * p.heads]!);
      const self = Math.exp(t[((m - 1) * side + (m - 1)) * p.heads]!) / z;
      store.dispose();
      return self;
    };
    assert.ok(spread(0) < 0.03, `plain start: about uniform over 64 keys (${spread(0)})`);
    assert.ok(spread(2) > 0.4, `locality 2: the same position takes most of the weight (${spread(2)})`);
  });
});
