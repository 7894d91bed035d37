import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import {
  averageInLinearLight,
  buildSequenceScene,
  checkDataset,
  openDataset,
  prepareDataset,
  readImage,
  renderSubframe,
  synthesize,
  SYNTH_DEFAULTS,
  type SynthOptions,
} from '../datasets/index.ts';
import { poseAt } from '../datasets/synth/trajectory.ts';

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'divd-synth-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const small: SynthOptions = { ...SYNTH_DEFAULTS, sequences: 3, testSequences: 1, frames: 3, width: 32, height: 24, seed: 7, subframes: 5 };

async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.length));
}

describe('synthetic blur generator', () => {
  it('averages in linear light: 0 and 255 give 186, not the gamma-space 128', () => {
    // 255 · 0.5^(1/2.2) = 186.08
    assert.deepEqual(Array.from(averageInLinearLight([new Uint8Array([0, 7, 255]), new Uint8Array([255, 7, 255])])), [186, 7, 255]);
  });

  it('writes the split layout with the requested counts and sizes; the folders source reads it', async () => {
    const out = path.join(tmp, 'a');
    const r = await synthesize(out, small);
    assert.equal(r.written, 9);
    assert.equal(r.skipped, 0);
    const s = openDataset({ kind: 'folders', root: out });
    assert.deepEqual(s.train.map((x) => x.name), ['seq_000', 'seq_001']);
    assert.deepEqual(s.test.map((x) => x.name), ['seq_002']);
    for (const seq of [...s.train, ...s.test]) assert.deepEqual(seq.frames.map((f) => f.name), ['000000.png', '000001.png', '000002.png']);
    const check = await checkDataset(out);
    assert.equal(check.kind, 'folders');
    assert.deepEqual(check.problems, []);
    assert.deepEqual(check.sizes, { '32x24': 9 });
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'synth.json'), 'utf8'));
    assert.equal(manifest.complete, true);
    assert.deepEqual(manifest.options, { ...small, images: null });
  });

  it('is deterministic for a seed, and a different seed gives different frames', async () => {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => path.join(tmp, n));
    await synthesize(b!, small);
    await synthesize(c!, { ...small, seed: 8 });
    const files = await listFiles(a!);
    assert.deepEqual(await listFiles(b!), files);
    let differing = 0;
    for (const f of files) {
      const bytes = await fs.readFile(path.join(a!, f));
      assert.ok(bytes.equals(await fs.readFile(path.join(b!, f))), f);
      if (f.endsWith('.png') && !bytes.equals(await fs.readFile(path.join(c!, f)))) differing++;
    }
    assert.equal(differing, 18);
  });

  it('blurry frames are the linear-light mean of K sub-frames and sharp frames the middle one', async () => {
    const out = path.join(tmp, 'a');
    for (const [index, split] of [[0, 'train'], [2, 'test']] as const) {
      const scene = await buildSequenceScene(small, index);
      for (const frame of [0, 2]) {
        const dir = path.join(out, split, `seq_00${index}`);
        const blur = await readImage(path.join(dir, 'blur', `00000${frame}.png`));
        const sharpFrame = await readImage(path.join(dir, 'sharp', `00000${frame}.png`));
        const subs = [0, 1, 2, 3, 4].map((i) => renderSubframe(scene, frame * 5 + i));
        assert.deepEqual(sharpFrame.data, subs[2], 'sharp = middle sub-frame');
        // Independent recomputation: decode with x^2.2, average, encode with x^(1/2.2), round.
        let exact = 0;
        let gammaSpaceDiffers = 0;
        for (let p = 0; p < blur.data.length; p++) {
          const linear = subs.reduce((s, f) => s + Math.pow(f[p]! / 255, 2.2), 0) / 5;
          const expected = Math.round(255 * Math.pow(linear, 1 / 2.2));
          assert.ok(Math.abs(blur.data[p]! - expected) <= 1, `value ${p}: ${blur.data[p]} vs ${expected}`);
          if (blur.data[p] === expected) exact++;
          const plain = Math.round(subs.reduce((s, f) => s + f[p]!, 0) / 5);
          if (Math.abs(plain - expected) >= 2) gammaSpaceDiffers++;
        }
        assert.ok(exact >= blur.data.length - 2, `${blur.data.length - exact} values off by one`);
        // The frame has enough motion that averaging gamma-encoded values would have given another image.
        assert.ok(gammaSpaceDiffers > 0, 'linear-light and gamma-space means coincide: no motion?');
      }
    }
  });

  it('exposure: each frame averages only its exposed sub-frames, centred on the sharp one; the scene is unchanged', async () => {
    const opts: SynthOptions = { ...small, sequences: 2, testSequences: 1, frames: 6, exposure: [0.2, 1] };
    const plain = await buildSequenceScene({ ...small, sequences: 2, testSequences: 1, frames: 6 }, 0);
    const scene = await buildSequenceScene(opts, 0);
    assert.equal(plain.exposures, undefined, 'no exposure option: every frame fully open');
    const exposures = scene.exposures!;
    assert.equal(exposures.length, 6);
    assert.ok(exposures.every((e) => Number.isInteger(e) && e >= 1 && e <= 5), exposures.join(','));
    assert.ok(new Set(exposures).size > 1, `exposures drawn per frame, got ${exposures.join(',')}`);
    // The exposure stream is forked: camera, objects and background are those of the dataset without it.
    assert.deepEqual(scene.camera, plain.camera);
    assert.deepEqual(renderSubframe(scene, 7), renderSubframe(plain, 7));
    const out = path.join(tmp, 'exposure');
    await synthesize(out, opts);
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'synth.json'), 'utf8'));
    assert.deepEqual(manifest.options.exposure, [0.2, 1]);
    for (let frame = 0; frame < 6; frame++) {
      const dir = path.join(out, 'train', 'seq_000');
      const name = `00000${frame}.png`;
      const blur = await readImage(path.join(dir, 'blur', name));
      const sharpFrame = await readImage(path.join(dir, 'sharp', name));
      const e = exposures[frame]!;
      const start = frame * 5 + 2 - Math.floor(e / 2);
      const subs = Array.from({ length: e }, (_, i) => renderSubframe(scene, start + i));
      assert.deepEqual(sharpFrame.data, renderSubframe(scene, frame * 5 + 2), 'sharp = middle sub-frame of the full K');
      assert.deepEqual(blur.data, averageInLinearLight(subs), `frame ${frame}: mean of sub-frames ${start}..${start + e - 1}`);
      if (e === 1) assert.deepEqual(blur.data, sharpFrame.data, 'a one-sub-frame exposure is the sharp frame');
    }
  });

  it('exposure ranges are checked: 0 < lo <= hi <= 1', async () => {
    for (const exposure of [[0, 1], [0.5, 0.4], [0.5, 1.2]] as [number, number][]) {
      await assert.rejects(synthesize(path.join(tmp, 'bad-exposure'), { ...small, exposure }), /--exposure must be a fraction range/);
    }
  });

  it('motion: the camera and objects travel X times as far on the same paths; the option is recorded and checked', async () => {
    const base: SynthOptions = { ...small, sequences: 2, testSequences: 1, frames: 4 };
    const plain = await buildSequenceScene(base, 0);
    const fast = await buildSequenceScene({ ...base, motion: 3 }, 0);
    const paths = [[plain.camera, fast.camera], ...plain.objects.map((o, i) => [o.path, fast.objects[i]!.path])];
    assert.equal(fast.objects.length, plain.objects.length, 'the same objects');
    for (const [slow, quick] of paths) {
      const s0 = poseAt(slow!, 0);
      const q0 = poseAt(quick!, 0);
      for (let t = 1; t < 20; t++) {
        const s = poseAt(slow!, t);
        const q = poseAt(quick!, t);
        assert.ok(Math.abs(q.x - q0.x - 3 * (s.x - s0.x)) < 1e-9 && Math.abs(q.y - q0.y - 3 * (s.y - s0.y)) < 1e-9, `t=${t}: displacement tripled`);
        assert.ok(Math.abs(q.angle - s.angle) < 1e-12, 'rotation unchanged');
      }
    }
    const travelled = (t: { knots: { x: number; y: number }[] }) => Math.hypot(t.knots.at(-1)!.x - t.knots[0]!.x, t.knots.at(-1)!.y - t.knots[0]!.y);
    assert.ok(travelled(fast.camera) > 2.9 * travelled(plain.camera), 'the camera moves further');
    assert.ok(fast.canvasWidth >= plain.canvasWidth && fast.canvasHeight >= plain.canvasHeight, 'the canvas holds the longer path');

    const out = path.join(tmp, 'motion');
    await synthesize(out, { ...base, motion: 3 });
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'synth.json'), 'utf8'));
    assert.equal(manifest.options.motion, 3);
    for (const motion of [0, -1, 21, Number.NaN]) {
      await assert.rejects(synthesize(path.join(tmp, 'bad-motion'), { ...base, motion }), /--motion must be a speed multiplier in \(0, 20\]/, String(motion));
    }
  });

  it('motion produces measurable blur: sharp-vs-blurry PSNR in a sane range', async () => {
    const out = path.join(tmp, 'psnr');
    const opts = { ...SYNTH_DEFAULTS, sequences: 6, testSequences: 1, frames: 2, width: 48, height: 48, seed: 1 };
    await synthesize(out, opts);
    const s = openDataset({ kind: 'folders', root: out });
    const values: number[] = [];
    for (const seq of [...s.train, ...s.test]) {
      for (const f of seq.frames) values.push(psnr((await readImage(f.blurry)).data, (await readImage(f.sharp)).data));
    }
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    // GoPro's blurry inputs score ~26 dB against their sharp frames; synthetic data should be in that world.
    assert.ok(mean > 18 && mean < 38, `mean PSNR ${mean.toFixed(2)} dB (${values.map((v) => v.toFixed(1)).join(', ')})`);
    assert.ok(values.every((v) => Number.isFinite(v)), 'a blurry frame equals its sharp frame');
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'synth.json'), 'utf8'));
    for (const seq of manifest.sequences) assert.ok(seq.subframes >= 7 && seq.subframes <= 13, `K = ${seq.subframes}`);
  });

  it('resumes an interrupted run to the same bytes, re-rendering only what is missing', async () => {
    const a = path.join(tmp, 'a');
    const out = path.join(tmp, 'resume');
    await fs.cp(a, out, { recursive: true });
    await fs.rm(path.join(out, 'train', 'seq_001'), { recursive: true });
    await fs.rm(path.join(out, 'test', 'seq_002', 'sharp', '000001.png')); // half-written pair
    await fs.writeFile(path.join(out, 'train', 'seq_000', 'blur', '.000000.png.tmp-1-1'), 'partial'); // a crashed write
    const progress: number[] = [];
    const r = await synthesize(out, small, (p) => progress.push(p.done));
    assert.equal(r.written, 4);
    assert.equal(r.skipped, 5);
    assert.equal(progress.at(-1), 9);
    for (const f of await listFiles(a)) assert.ok((await fs.readFile(path.join(a, f))).equals(await fs.readFile(path.join(out, f))), f);
  });

  it('refuses to mix options in one folder or to write into a foreign folder', async () => {
    await assert.rejects(synthesize(path.join(tmp, 'a'), { ...small, frames: 4 }), /made with other options/);
    const foreign = path.join(tmp, 'foreign');
    await fs.mkdir(foreign);
    await fs.writeFile(path.join(foreign, 'notes.txt'), 'mine');
    await assert.rejects(synthesize(foreign, small), /not a synthetic dataset/);
    await assert.rejects(synthesize(path.join(tmp, 'bad'), { ...small, subframes: [9, 7] }), /--subframes/);
    await assert.rejects(synthesize(path.join(tmp, 'bad'), { ...small, testSequences: 4 }), /--test-sequences/);
  });

  it('uses photographs as backgrounds when given a folder of images', async () => {
    const photos = path.join(tmp, 'photos');
    await fs.mkdir(photos);
    const colour = { r: 10, g: 200, b: 30 };
    await sharp({ create: { width: 50, height: 40, channels: 3, background: colour } }).png().toFile(path.join(photos, 'flat.png'));
    const out = path.join(tmp, 'photo-set');
    const r = await synthesize(out, { ...small, images: photos });
    assert.ok(r.manifest.sequences.every((s) => s.photo === path.join(photos, 'flat.png')));
    const frame = await readImage(path.join(out, 'train', 'seq_000', 'sharp', '000000.png'));
    let background = 0;
    for (let p = 0; p < frame.data.length; p += 3) {
      if (frame.data[p] === 10 && frame.data[p + 1] === 200 && frame.data[p + 2] === 30) background++;
    }
    // Everything not covered by the moving objects is the photograph.
    assert.ok(background > (frame.data.length / 3) * 0.3, `${background} photo pixels`);
    await assert.rejects(synthesize(path.join(tmp, 'no-photos'), { ...small, images: path.join(tmp, 'nothing-here') }), /--images/);
  });

  it('prepareDataset caches a synthetic set by its options and reuses it', async () => {
    const cacheDir = path.join(tmp, 'cache');
    const options = { sequences: 2, testSequences: 1, frames: 2, width: 16, height: 16, subframes: 3 };
    const first = await prepareDataset({ kind: 'synthetic', options }, { cacheDir });
    assert.equal(first.synthetic!.written, 4);
    assert.deepEqual([first.splits.train.length, first.splits.test.length], [1, 1]);
    const again = await prepareDataset({ kind: 'synthetic', options }, { cacheDir });
    assert.equal(again.synthetic!.dir, first.synthetic!.dir);
    assert.equal(again.synthetic!.written, 0);
    const other = await prepareDataset({ kind: 'synthetic', options: { ...options, seed: 1 } }, { cacheDir });
    assert.notEqual(other.synthetic!.dir, first.synthetic!.dir);
    const folders = await prepareDataset({ kind: 'folders', root: first.synthetic!.dir }, { cacheDir });
    assert.deepEqual(folders.splits, first.splits);
  });
});
