import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { loadFidInception, FID_FEATURE_DIMS, WeightsMissingError, type FidInception } from '../metrics/index.ts';
import { useBackend } from './helpers/backends.ts';
import { writePth } from './helpers/pth-writer.ts';
import { formulaImage, formulaStateDict } from './helpers/metrics-nets-formula.ts';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'metrics-nets');

interface Case {
  name: string;
  n: number;
  h: number;
  w: number;
  phase: number;
  coordinate_stride: number;
  coordinates: number[][];
  mean: number[];
  l2: number[];
}
const fixture = JSON.parse(fs.readFileSync(path.join(fixtures, 'inception-fid.json'), 'utf8')) as {
  layout: [string, number[]][];
  cases: Case[];
};

let dir = '';
let net: FidInception;
before(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-inception-'));
  // ~24M formula parameters under pytorch-fid's exact key names and shapes (fc included, as in the real file),
  // written in the legacy format the published file uses, then read back by the real loader.
  writePth(path.join(dir, 'pt_inception-2015-12-05-6726825d.pth'), formulaStateDict(fixture.layout), 'legacy');
  net = loadFidInception({ weightsDir: dir, batchSize: 2 });
});
after(() => {
  net?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

function relErr(got: number, want: number, scale: number): number {
  return Math.abs(got - want) / Math.max(Math.abs(want), scale);
}

test('FID Inception features match the torch reference (pytorch-fid blocks, resize up and down, 2048-d pool)', async () => {
  for (const c of fixture.cases) {
    const x = tf.tensor4d(formulaImage(c.n, c.h, c.w, c.phase), [c.n, c.h, c.w, 3]);
    const f = await net.features(x);
    x.dispose();
    assert.equal(f.length, c.n * FID_FEATURE_DIMS);
    for (let i = 0; i < c.n; i++) {
      const row = f.subarray(i * FID_FEATURE_DIMS, (i + 1) * FID_FEATURE_DIMS);
      let sum = 0;
      let sq = 0;
      for (const v of row) (sum += v), (sq += v * v);
      // Coordinates near zero are compared against the row's typical magnitude, not their own.
      const typical = c.l2[i]! / Math.sqrt(FID_FEATURE_DIMS);
      c.coordinates[i]!.forEach((want, j) => {
        const got = row[j * c.coordinate_stride]!;
        const e = relErr(got, want, typical * 1e-2);
        assert.ok(e < 1e-4, `${c.name} image ${i} feature ${j * c.coordinate_stride}: ${got} vs torch ${want}`);
      });
      assert.ok(relErr(sum / FID_FEATURE_DIMS, c.mean[i]!, 0) < 1e-4, `${c.name} image ${i} mean ${sum / FID_FEATURE_DIMS} vs ${c.mean[i]}`);
      assert.ok(relErr(Math.sqrt(sq), c.l2[i]!, 0) < 1e-4, `${c.name} image ${i} norm ${Math.sqrt(sq)} vs ${c.l2[i]}`);
    }
  }
});

test('batching does not change features, and 8-bit frames equal their [0,1] floats', async () => {
  const h = 32;
  const w = 40;
  const bytes = Uint8Array.from(formulaImage(3, h, w, 0.1), (v) => Math.round(v * 255));
  const px = h * w * 3;
  const frames = [0, 1, 2].map((k) => ({ width: w, height: h, data: bytes.subarray(k * px, (k + 1) * px) }));
  const all = await net.featuresImages(frames); // batchSize 2: batches of 2 and 1
  const floats = await net.featuresImages([{ width: w, height: h, data: Float32Array.from(frames[2]!.data, (v) => v / 255) }]);
  const third = all.subarray(2 * FID_FEATURE_DIMS);
  let maxDiff = 0;
  for (let j = 0; j < FID_FEATURE_DIMS; j++) maxDiff = Math.max(maxDiff, Math.abs(third[j]! - floats[j]!));
  assert.ok(maxDiff < 1e-5, `third frame alone vs in a batch: max diff ${maxDiff}`);
  let apart = 0;
  for (let j = 0; j < FID_FEATURE_DIMS; j++) apart = Math.max(apart, Math.abs(all[j]! - all[FID_FEATURE_DIMS + j]!));
  assert.ok(apart > 1e-3, 'different frames give different features');
});

test('missing Inception weights name the file and where to put it', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-inception-none-'));
  try {
    assert.throws(
      () => loadFidInception({ weightsDir: empty }),
      (e: unknown) =>
        e instanceof WeightsMissingError && e.message.includes(path.join(empty, 'pt_inception-2015-12-05-6726825d.pth')),
    );
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});
