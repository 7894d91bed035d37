import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  centredWindow,
  cropAndFlip,
  openDataset,
  readImageFloat,
  sequenceShapes,
  synthesize,
  SYNTH_DEFAULTS,
  testWindows,
  WindowBatches,
  windowIndices,
  WindowSampler,
  type SequenceShape,
  type WindowSample,
} from '../datasets/index.ts';

describe('window border policies (hand-computed, BasicSR conventions)', () => {
  it('at the start of a sequence', () => {
    assert.deepEqual(centredWindow(0, 10, 5, 'replicate'), [0, 0, 0, 1, 2]);
    assert.deepEqual(centredWindow(0, 10, 5, 'reflection'), [2, 1, 0, 1, 2]);
    assert.deepEqual(centredWindow(0, 10, 5, 'reflection_circle'), [4, 3, 0, 1, 2]);
    assert.deepEqual(centredWindow(0, 10, 5, 'circle'), [3, 4, 0, 1, 2]);
  });

  it('at the end of a sequence', () => {
    assert.deepEqual(centredWindow(9, 10, 5, 'replicate'), [7, 8, 9, 9, 9]);
    assert.deepEqual(centredWindow(9, 10, 5, 'reflection'), [7, 8, 9, 8, 7]);
    assert.deepEqual(centredWindow(9, 10, 5, 'reflection_circle'), [7, 8, 9, 6, 5]);
    assert.deepEqual(centredWindow(9, 10, 5, 'circle'), [7, 8, 9, 5, 6]);
  });

  it('inside a sequence every policy is the plain range; even F puts ⌊F/2⌋ frames before the centre', () => {
    for (const p of ['replicate', 'reflection', 'reflection_circle', 'circle'] as const) assert.deepEqual(centredWindow(5, 10, 5, p), [3, 4, 5, 6, 7]);
    assert.deepEqual(centredWindow(5, 10, 4, 'replicate'), [3, 4, 5, 6]);
    assert.deepEqual(windowIndices(-1, 10, 4, 'reflection'), [1, 0, 1, 2]);
  });

  it('a sequence too short for a mirrored policy is an error; replicate always works', () => {
    assert.throws(() => windowIndices(0, 2, 5, 'reflection'), /2 frames is too short for reflection/);
    assert.deepEqual(windowIndices(0, 2, 5, 'replicate'), [0, 1, 1, 1, 1]);
  });
});

describe('test-time windows', () => {
  it('cover the sequence once with non-overlapping windows, the last padded by replication', () => {
    assert.deepEqual(testWindows(10, 4), [
      { start: 0, valid: 4, indices: [0, 1, 2, 3] },
      { start: 4, valid: 4, indices: [4, 5, 6, 7] },
      { start: 8, valid: 2, indices: [8, 9, 9, 9] },
    ]);
    assert.deepEqual(testWindows(8, 4).map((w) => w.valid), [4, 4]);
    assert.deepEqual(testWindows(3, 4), [{ start: 0, valid: 3, indices: [0, 1, 2, 2] }]);
    assert.deepEqual(testWindows(10, 4, 'reflection').at(-1)!.indices, [8, 9, 8, 7]);
    // Every frame appears exactly once among the valid outputs.
    const covered = testWindows(23, 4).flatMap((w) => w.indices.slice(0, w.valid));
    assert.deepEqual(covered, Array.from({ length: 23 }, (_, i) => i));
  });
});

const shapes: SequenceShape[] = [
  { name: 'a', length: 6, width: 20, height: 12 },
  { name: 'b', length: 4, width: 16, height: 16 },
  { name: 'short', length: 2, width: 10, height: 10 },
];
const draw = (s: WindowSampler, n: number) => Array.from({ length: n }, () => s.next());

describe('WindowSampler', () => {
  const opts = { frames: 3, crop: 8, seed: 11 };

  it('is deterministic for a seed and differs across seeds', () => {
    assert.deepEqual(draw(new WindowSampler(shapes, opts), 40), draw(new WindowSampler(shapes, opts), 40));
    assert.notDeepEqual(draw(new WindowSampler(shapes, opts), 40), draw(new WindowSampler(shapes, { ...opts, seed: 12 }), 40));
  });

  it('visits every window start once per epoch, with in-bounds aligned crops', () => {
    const s = new WindowSampler(shapes, opts);
    // a: starts 0..3, b: 0..1, short: one padded window.
    assert.equal(s.windowsPerEpoch, 7);
    for (let epoch = 0; epoch < 3; epoch++) {
      const seen = draw(s, 7).map((w) => {
        const first = w.reversed ? w.indices.at(-1)! : w.indices[0]!;
        const shape = shapes[w.sequence]!;
        assert.ok(w.crop.x >= 0 && w.crop.x + 8 <= shape.width && w.crop.y >= 0 && w.crop.y + 8 <= shape.height, JSON.stringify(w));
        assert.equal(w.indices.length, 3);
        return `${w.name}:${first}`;
      });
      assert.deepEqual(seen.sort(), ['a:0', 'a:1', 'a:2', 'a:3', 'b:0', 'b:1', 'short:0']);
    }
  });

  it('centred placement gives one window per frame, borders padded by the policy', () => {
    const s = new WindowSampler([{ name: 'a', length: 4, width: 8, height: 8 }], { ...opts, placement: 'centred', padding: 'reflection', reverse: false });
    assert.equal(s.windowsPerEpoch, 4);
    // F = 3 centred on frames 0..3 of a 4-frame sequence, reflection at both ends.
    assert.deepEqual(draw(s, 4).map((w) => w.indices.join(',')).sort(), ['0,1,2', '1,0,1', '1,2,3', '2,3,2']);
  });

  it('reverses whole windows and flips about half the time; never when disabled', () => {
    const samples = draw(new WindowSampler(shapes, opts), 600);
    for (const key of ['reversed', 'flipH', 'flipV'] as const) {
      const share = samples.filter((w) => w[key]).length / samples.length;
      assert.ok(share > 0.4 && share < 0.6, `${key}: ${share}`);
    }
    for (const w of samples.filter((x) => x.reversed && x.name === 'a')) assert.ok(w.indices[0]! > w.indices[2]!);
    const plain = draw(new WindowSampler(shapes, { ...opts, flips: false, reverse: false }), 100);
    assert.ok(plain.every((w) => !w.reversed && !w.flipH && !w.flipV));
  });

  it('restoring a saved state continues the identical stream, across epoch boundaries', () => {
    const s = new WindowSampler(shapes, opts);
    draw(s, 17);
    const saved = JSON.parse(JSON.stringify(s.state()));
    assert.deepEqual(saved, { seed: 11, epoch: 2, position: 3 });
    const expected = draw(s, 20);
    assert.deepEqual(draw(new WindowSampler(shapes, opts, saved), 20), expected);
    assert.throws(() => new WindowSampler(shapes, { ...opts, seed: 1 }, saved), /seed/);
  });

  it('rejects crops larger than a sequence, naming it', () => {
    assert.throws(() => new WindowSampler(shapes, { ...opts, crop: 12 }), /sequence short is 10x10, smaller than the 12x12 crop/);
  });
});

describe('crops, flips and batches', () => {
  it('cropAndFlip matches hand-computed pixels', () => {
    // 3x2 frame, each pixel's channels = (10·x + y, 100 + 10·x + y, 200 + 10·x + y)
    const data = new Float32Array(3 * 2 * 3);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) for (let c = 0; c < 3; c++) data[(y * 3 + x) * 3 + c] = 100 * c + 10 * x + y;
    const frame = { width: 3, height: 2, data };
    const r = (crop: { x: number; y: number; width: number; height: number }, h: boolean, v: boolean) => {
      const out = new Float32Array(crop.width * crop.height * 3);
      cropAndFlip(frame, crop, h, v, out);
      return Array.from(out.filter((_, i) => i % 3 === 0)); // the first channel, 10·x + y
    };
    assert.deepEqual(r({ x: 1, y: 0, width: 2, height: 2 }, false, false), [10, 20, 11, 21]);
    assert.deepEqual(r({ x: 1, y: 0, width: 2, height: 2 }, true, false), [20, 10, 21, 11]);
    assert.deepEqual(r({ x: 1, y: 0, width: 2, height: 2 }, false, true), [11, 21, 10, 20]);
    assert.deepEqual(r({ x: 0, y: 1, width: 3, height: 1 }, true, true), [21, 11, 1]);
    assert.throws(() => r({ x: 2, y: 0, width: 2, height: 2 }, false, false), /outside a 3x2 frame/);
  });

  let tmp: string;
  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'divd-windows-'));
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('batches hold the decoded, cropped, flipped frames in window order, and resume exactly', async () => {
    await synthesize(tmp, { ...SYNTH_DEFAULTS, sequences: 3, testSequences: 1, frames: 5, width: 24, height: 20, subframes: 3, seed: 2 });
    const { train } = openDataset({ kind: 'folders', root: tmp });
    const shapesFound = await sequenceShapes(train);
    assert.deepEqual(shapesFound, [
      { name: 'seq_000', length: 5, width: 24, height: 20 },
      { name: 'seq_001', length: 5, width: 24, height: 20 },
    ]);
    const samplerOpts = { frames: 4, crop: { width: 8, height: 6 }, seed: 3 };
    const batches = new WindowBatches(train, new WindowSampler(shapesFound, samplerOpts), 2, 2);
    const first = await batches.next();
    const second = await batches.next();
    assert.deepEqual(first.shape, [2, 4, 6, 8, 3]);
    assert.equal(first.blurry.length, 2 * 4 * 6 * 8 * 3);
    // Independent check of one batch element: decode, then index the crop by hand.
    const check = async (sample: WindowSample, batchIndex: number, batch: typeof first) => {
      for (const [f, index] of sample.indices.entries()) {
        for (const side of ['blurry', 'sharp'] as const) {
          const frame = await readImageFloat(train[sample.sequence]!.frames[index]![side]);
          for (let y = 0; y < 6; y++)
            for (let x = 0; x < 8; x++) {
              const sx = sample.crop.x + (sample.flipH ? 7 - x : x);
              const sy = sample.crop.y + (sample.flipV ? 5 - y : y);
              for (let c = 0; c < 3; c++) {
                const got = batch[side][(((batchIndex * 4 + f) * 6 + y) * 8 + x) * 3 + c];
                assert.equal(got, frame.data[(sy * 24 + sx) * 3 + c]);
              }
            }
        }
      }
    };
    for (const [b, s] of first.samples.entries()) await check(s, b, first);
    // Resuming from the state stored with the first batch yields the second batch again.
    const resumed = new WindowBatches(train, new WindowSampler(shapesFound, samplerOpts, first.state), 2, 0);
    const again = await resumed.next();
    assert.deepEqual(again.samples, second.samples);
    assert.deepEqual(again.blurry, second.blurry);
    assert.deepEqual(again.sharp, second.sharp);
  });
});
