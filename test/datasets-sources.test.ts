import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import {
  checkDataset,
  detectKind,
  DVD_TEST_SEQUENCES,
  GOPRO_TEST_SEQUENCES,
  openDataset,
  writePng,
  type CheckReport,
  type ProblemCode,
  type PublishedCounts,
} from '../datasets/index.ts';

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'divd-sources-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** A frame whose pixels encode a tag, so tests can tell which file a path points at. */
function frame(tag: number, width = 8, height = 6) {
  return { width, height, data: new Uint8Array(width * height * 3).fill(tag % 256) };
}

async function png(file: string, tag = 0, width = 8, height = 6) {
  await writePng(file, frame(tag, width, height));
}

async function jpg(file: string, width = 8, height = 6) {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await sharp(Buffer.from(frame(100, width, height).data), { raw: { width, height, channels: 3 } }).jpeg().toFile(file);
}

async function goproTree(root: string, framesPerTest = 1) {
  // Frame names deliberately listed out of order, with a numeric-order trap (9 < 10 < 100).
  const train = { GOPR0372_07_00: ['000100', '000009', '000010'], GOPR0374_11_00: ['000001', '000002'] };
  for (const [seq, names] of Object.entries(train)) {
    for (const n of names) {
      for (const folder of ['blur', 'blur_gamma', 'sharp']) {
        await png(path.join(root, 'train', seq, folder, `${n}.png`), folder === 'blur' ? 1 : folder === 'blur_gamma' ? 2 : 3);
      }
    }
  }
  for (const seq of GOPRO_TEST_SEQUENCES) {
    for (let i = 0; i < framesPerTest; i++) {
      for (const folder of ['blur', 'blur_gamma', 'sharp']) await png(path.join(root, 'test', seq, folder, `${String(i).padStart(6, '0')}.png`));
    }
  }
}

const codes = (r: CheckReport) => r.problems.map((p) => p.code);
const scaled = (train: [number, number], test: [number, number], strict = true): PublishedCounts => ({
  train: { sequences: train[0], pairs: train[1] },
  test: { sequences: test[0], pairs: test[1] },
  width: 8,
  height: 6,
  sizeIsStrict: strict,
});

describe('GoPro source', () => {
  it('pairs blur/sharp by name in numeric frame order, with the published test split', async () => {
    const root = path.join(tmp, 'gp', 'GOPRO_Large');
    await goproTree(root);
    const splits = openDataset({ kind: 'gopro', root: path.dirname(root) }); // the parent is accepted too
    assert.equal(splits.root, root);
    assert.deepEqual(splits.train.map((s) => s.name), ['GOPR0372_07_00', 'GOPR0374_11_00']);
    assert.deepEqual(splits.train[0]!.frames.map((f) => f.name), ['000009.png', '000010.png', '000100.png']);
    assert.deepEqual(splits.test.map((s) => s.name), [...GOPRO_TEST_SEQUENCES]);
    const f = splits.train[0]!.frames[1]!;
    assert.equal(f.blurry, path.join(root, 'train', 'GOPR0372_07_00', 'blur', '000010.png'));
    assert.equal(f.sharp, path.join(root, 'train', 'GOPR0372_07_00', 'sharp', '000010.png'));
    const gamma = openDataset({ kind: 'gopro', root, variant: 'blur_gamma' });
    assert.equal(gamma.train[0]!.frames[1]!.blurry, path.join(root, 'train', 'GOPR0372_07_00', 'blur_gamma', '000010.png'));
    assert.equal(detectKind(root), 'gopro');
    assert.equal(detectKind(path.dirname(root)), 'gopro');
  });

  it('a tiny tree is honestly reported as not the published dataset; scaled expectations pass', async () => {
    const root = path.join(tmp, 'gp', 'GOPRO_Large');
    const r = await checkDataset(root);
    assert.equal(r.kind, 'gopro');
    assert.equal(r.detected, true);
    assert.deepEqual(r.counts, { train: { sequences: 2, pairs: 5 }, test: { sequences: 11, pairs: 11 } });
    assert.equal(r.ok, false);
    // Counts for both splits, and the 8x6 frames against the published 1280x720.
    assert.deepEqual(codes(r).sort(), ['unexpected-count', 'unexpected-count', 'unexpected-size']);
    assert.match(r.problems.find((p) => p.code === 'unexpected-count')!.message, /2,103 pairs in 22 sequences.*not the full dataset/);
    const ok = await checkDataset(root, 'gopro', { expected: scaled([2, 5], [11, 11]) });
    assert.deepEqual(ok.problems, []);
    assert.equal(ok.ok, true);
    assert.deepEqual(ok.sizes, { '8x6': 16 });
  });

  it('a broken tree reports every problem with its code and path', async () => {
    const root = path.join(tmp, 'gp-broken');
    await goproTree(root);
    const seq = path.join(root, 'train', 'GOPR0372_07_00');
    await fs.rm(path.join(root, 'train', 'GOPR0374_11_00', 'sharp'), { recursive: true }); // missing folder
    await fs.rm(path.join(root, 'test', 'GOPR0881_11_01'), { recursive: true }); // missing published test sequence
    await png(path.join(seq, 'blur', '000200.png')); // blurry without sharp
    await png(path.join(seq, 'sharp', '000300.png')); // sharp without blurry
    await fs.writeFile(path.join(seq, 'blur', '000009.png'), 'garbage'); // unreadable
    await png(path.join(seq, 'blur', '000010.png'), 1, 10, 6); // pair of different sizes
    await png(path.join(seq, 'blur', '000050.png')); // the first readable pair sets the sequence's size: 8x6
    await png(path.join(seq, 'sharp', '000050.png'));
    await png(path.join(seq, 'blur', '000100.png'), 1, 4, 4); // a consistent 4x4 pair unlike its sequence
    await png(path.join(seq, 'sharp', '000100.png'), 1, 4, 4);
    const r = await checkDataset(root, 'gopro', { expected: scaled([2, 3], [11, 11]) });
    const byCode = (c: ProblemCode) => r.problems.filter((p) => p.code === c);
    assert.deepEqual(byCode('missing-folder').map((p) => p.path), [path.join(root, 'train', 'GOPR0374_11_00', 'sharp')]);
    assert.deepEqual(byCode('missing-sequence').map((p) => p.path), [path.join(root, 'test', 'GOPR0881_11_01')]);
    assert.deepEqual(byCode('unpaired-frame').map((p) => path.basename(p.path)).sort(), ['000200.png', '000300.png']);
    assert.deepEqual(byCode('unreadable-frame').map((p) => p.path), [path.join(seq, 'blur', '000009.png')]);
    const sizes = byCode('size-mismatch').map((p) => p.message);
    assert.equal(sizes.length, 2, sizes.join('\n'));
    assert.ok(sizes.some((m) => /000010\.png is 10x6 but its sharp frame .* is 8x6/.test(m)));
    assert.ok(sizes.some((m) => /frame 000100\.png is 4x4, unlike/.test(m)));
    // 1 train sequence with 4 pairs + an empty one; 10 test sequences.
    assert.deepEqual(byCode('unexpected-count').map((p) => p.message.slice(0, 40)), [
      'train: found 4 pairs in 2 sequences, exp',
      'test: found 10 pairs in 10 sequences, ex',
    ]);
    assert.throws(
      () => openDataset({ kind: 'gopro', root }),
      (e: Error) => e.name === 'UsageError' && /4 problem\(s\)/.test(e.message) && e.message.includes('000300.png'),
    );
  });

  it('a missing split folder is reported, not thrown', async () => {
    const root = path.join(tmp, 'gp-nosplit');
    await png(path.join(root, 'test', 'GOPR0384_11_00', 'blur_gamma', '000001.png'));
    await png(path.join(root, 'test', 'GOPR0384_11_00', 'blur', '000001.png'));
    await png(path.join(root, 'test', 'GOPR0384_11_00', 'sharp', '000001.png'));
    const r = await checkDataset(root);
    assert.equal(r.kind, 'gopro');
    assert.ok(r.problems.some((p) => p.code === 'missing-folder' && p.path === path.join(root, 'train')));
    assert.equal(r.problems.filter((p) => p.code === 'missing-sequence').length, 10);
  });
});

describe('DVD source', () => {
  it('splits by the published test videos, pairs input/GT jpgs, detects the layout', async () => {
    const base = path.join(tmp, 'dvd');
    const q = path.join(base, 'DeepVideoDeblurring_Dataset', 'quantitative_datasets');
    for (const v of [...DVD_TEST_SEQUENCES, 'IMG_0001', 'IMG_0200']) {
      for (const i of [0, 1]) for (const side of ['input', 'GT']) await jpg(path.join(q, v, side, `0000${i}.jpg`));
    }
    for (const root of [base, path.join(base, 'DeepVideoDeblurring_Dataset'), q]) {
      assert.equal(detectKind(root), 'dvd', root);
      const s = openDataset({ kind: 'dvd', root });
      assert.equal(s.root, q);
      assert.deepEqual(s.train.map((x) => x.name), ['IMG_0001', 'IMG_0200']);
      assert.deepEqual(s.test.map((x) => x.name).sort(), [...DVD_TEST_SEQUENCES].sort());
    }
    const s = openDataset({ kind: 'dvd', root: base });
    assert.deepEqual(s.train[0]!.frames[1], { name: '00001.jpg', blurry: path.join(q, 'IMG_0001', 'input', '00001.jpg'), sharp: path.join(q, 'IMG_0001', 'GT', '00001.jpg') });
    const r = await checkDataset(base);
    assert.equal(r.kind, 'dvd');
    // DVD frame sizes vary between videos in the wild: an unusual size is a note, counts are problems.
    assert.deepEqual(codes(r), ['unexpected-count', 'unexpected-count']);
    assert.ok(r.notes.some((n) => /8x6, the published frame size is 1280x720/.test(n)));
    assert.equal((await checkDataset(base, 'dvd', { expected: scaled([2, 4], [10, 20], false) })).ok, true);
  });

  it('missing test videos and GT folders are problems', async () => {
    const q = path.join(tmp, 'dvd-broken', 'quantitative_datasets');
    await jpg(path.join(q, 'IMG_0003', 'input', '00000.jpg'));
    await jpg(path.join(q, 'IMG_0003', 'GT', '00000.jpg'));
    await jpg(path.join(q, 'IMG_0001', 'input', '00000.jpg'));
    const r = await checkDataset(path.dirname(q), 'dvd', { expected: null });
    assert.equal(r.problems.filter((p) => p.code === 'missing-sequence').length, 9);
    assert.deepEqual(r.problems.filter((p) => p.code === 'missing-folder').map((p) => p.path), [path.join(q, 'IMG_0001', 'GT')]);
  });
});

describe('generic folders source', () => {
  it('split layout: train/ and test/ folders of <seq>/{blur,sharp}', async () => {
    const root = path.join(tmp, 'folders-split');
    for (const [split, seq] of [['train', 'a'], ['train', 'b'], ['test', 'c']]) {
      for (const n of ['f2.png', 'f10.png', 'f1.jpg']) {
        await png(path.join(root, split!, seq!, 'blur', n.replace('.jpg', '.png')));
        await png(path.join(root, split!, seq!, 'sharp', n.replace('.jpg', '.png')));
      }
    }
    assert.equal(detectKind(root), 'folders');
    const s = openDataset({ kind: 'folders', root });
    assert.deepEqual(s.train.map((x) => x.name), ['a', 'b']);
    assert.deepEqual(s.test.map((x) => x.name), ['c']);
    assert.deepEqual(s.test[0]!.frames.map((f) => f.name), ['f1.png', 'f2.png', 'f10.png']);
    const r = await checkDataset(root);
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.equal(r.expected, null); // no published counts for a user's own data
  });

  it('flat layout: testSequences picks the test split; unknown names are problems', async () => {
    const root = path.join(tmp, 'folders-flat');
    for (const seq of ['s1', 's2', 's3']) {
      await png(path.join(root, seq, 'Blur', '0.png'));
      await png(path.join(root, seq, 'GT', '0.png'));
    }
    const opts = { blurDir: 'Blur', sharpDir: 'GT' };
    const s = openDataset({ kind: 'folders', root, ...opts, testSequences: ['s2'] });
    assert.deepEqual(s.train.map((x) => x.name), ['s1', 's3']);
    assert.deepEqual(s.test.map((x) => x.name), ['s2']);
    const all = openDataset({ kind: 'folders', root, ...opts });
    assert.deepEqual([all.train.length, all.test.length], [0, 3]);
    assert.throws(() => openDataset({ kind: 'folders', root, ...opts, testSequences: ['s9'] }), /test sequence s9/);
    // With the default folder names nothing pairs: every sequence lacks blur/ and sharp/.
    const r = await checkDataset(root, 'folders');
    assert.equal(r.problems.filter((p) => p.code === 'missing-folder').length, 6);
  });

  it('an unrecognised tree is one unknown-layout problem describing the layouts', async () => {
    const root = path.join(tmp, 'nothing');
    await fs.mkdir(path.join(root, 'x', 'y'), { recursive: true });
    const r = await checkDataset(root);
    assert.deepEqual(codes(r), ['unknown-layout']);
    assert.match(r.problems[0]!.message, /GOPRO_Large.*quantitative_datasets.*blur,sharp/);
  });

  it('deep checks decode pixels and catch a truncated frame whose header is intact', async () => {
    const root = path.join(tmp, 'folders-truncated');
    await png(path.join(root, 'test', 's', 'blur', '0.png'), 0, 64, 64);
    await png(path.join(root, 'test', 's', 'sharp', '0.png'), 0, 64, 64);
    const file = path.join(root, 'test', 's', 'sharp', '0.png');
    const bytes = await fs.readFile(file);
    // Random pixels compress poorly, so the truncation lands inside the image data.
    const noisy = new Uint8Array(64 * 64 * 3).map((_, i) => (i * 2654435761) >>> 24);
    const big = await sharp(Buffer.from(noisy), { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
    await fs.writeFile(file, big.subarray(0, Math.floor(big.length / 2)));
    assert.ok(bytes.length > 0);
    const r = await checkDataset(root, 'folders', { deep: true });
    assert.deepEqual(r.problems.map((p) => [p.code, p.path]), [['unreadable-frame', file]]);
  });
});
