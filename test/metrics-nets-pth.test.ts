import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePth, readPth, expectTensor, requireWeights, WeightsMissingError, weightsPresence } from '../metrics/index.ts';
import { UsageError } from '../src/errors.ts';
import { pthBytes, type WriteTensor } from './helpers/pth-writer.ts';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'metrics-nets');
/** The published LPIPS linear-layer files; only on machines that have ../shared (never on CI). */
const sharedLpips = process.env.DIVD_LPIPS_WEIGHTS ?? '/work/shared/weights/lpips-v0.1';

interface Expected {
  tensors: Record<string, { shape: number[]; dtype: string; values: number[] }>;
}

for (const format of ['zip', 'legacy'] as const) {
  test(`reads every tensor torch.save wrote in the ${format} format (dtypes, views, non-contiguous strides)`, () => {
    const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'tiny-pth.json'), 'utf8')) as Expected;
    const got = readPth(path.join(fixtures, `tiny-${format}.pth`));
    assert.deepEqual([...got.keys()], Object.keys(expected.tensors), 'names, in state_dict order');
    for (const [name, e] of Object.entries(expected.tensors)) {
      const t = got.get(name)!;
      assert.deepEqual(t.shape, e.shape, name);
      assert.equal(t.dtype, e.dtype, name);
      assert.equal(t.data.length, e.values.length, name);
      e.values.forEach((v, i) => assert.equal(t.data[i], Math.fround(v), `${name}[${i}]`));
    }
  });
}

function sample(): Map<string, WriteTensor> {
  const m = new Map<string, WriteTensor>();
  m.set('features.0.weight', { shape: [4, 3, 2, 2], data: Float32Array.from({ length: 48 }, (_, i) => Math.sin(i) * 1e3) });
  m.set('features.0.bias', { shape: [4], data: new Float32Array([1.5, -2, Number.MIN_VALUE, 3.4e38]) });
  m.set('scalar', { shape: [], data: new Float32Array([42]) });
  return m;
}

for (const format of ['zip', 'legacy'] as const) {
  test(`a ${format} file written by the test's writer reads back bit for bit`, () => {
    const src = sample();
    const got = parsePth(pthBytes(src, format), 'mem.pth');
    assert.deepEqual([...got.keys()], [...src.keys()]);
    for (const [k, t] of src) {
      assert.deepEqual(got.get(k)!.shape, t.shape);
      assert.deepEqual(got.get(k)!.data, t.data);
    }
  });
}

test('the published LPIPS v0.1 linear-layer files read with their documented keys and shapes', (t) => {
  const layout = {
    alex: [64, 192, 384, 256, 256],
    vgg: [64, 128, 256, 512, 512],
    squeeze: [64, 128, 256, 384, 384, 512, 512],
  };
  if (!fs.existsSync(path.join(sharedLpips, 'alex.pth'))) {
    // CI has only the repository; the format itself is covered by the torch-written fixtures above.
    t.skip(`LPIPS files not at ${sharedLpips} (set DIVD_LPIPS_WEIGHTS)`);
    return;
  }
  for (const [net, channels] of Object.entries(layout)) {
    const file = path.join(sharedLpips, `${net}.pth`);
    const w = readPth(file);
    assert.deepEqual([...w.keys()], channels.map((_, i) => `lin${i}.model.1.weight`), net);
    channels.forEach((c, i) => {
      const lin = expectTensor(w, `lin${i}.model.1.weight`, [1, c, 1, 1], file);
      // Learned LPIPS weights are constrained to be non-negative.
      assert.ok(lin.data.every((v) => v >= 0 && Number.isFinite(v)), `${net} lin${i} non-negative`);
      assert.ok(lin.data.some((v) => v > 0.01), `${net} lin${i} not all zero`);
    });
  }
});

test('corrupt or foreign files fail with an error naming the file and the problem', () => {
  const good = pthBytes(sample(), 'zip');
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated.pth', good.subarray(0, good.length - 200), /truncated\.pth: not a readable PyTorch \.pth file/],
    ['text.pth', Buffer.from('hello world, not a pickle'), /text\.pth: .*neither a zip archive nor a legacy torch pickle/],
    ['legacy-cut.pth', pthBytes(sample(), 'legacy').subarray(0, 700), /legacy-cut\.pth: .*truncated|legacy-cut\.pth: .*ends before/],
  ];
  for (const [label, bytes, pattern] of cases) {
    assert.throws(() => parsePth(bytes, label), (e: unknown) => e instanceof UsageError && pattern.test(e.message), label);
  }
  assert.throws(() => readPth('/nonexistent/x.pth'), /cannot read weights file \/nonexistent\/x\.pth/);
});

test('expectTensor names the file and key when a tensor is missing or mis-shaped', () => {
  const w = parsePth(pthBytes(sample(), 'zip'), 'w.pth');
  assert.throws(() => expectTensor(w, 'features.3.weight', [1], 'w.pth'), /w\.pth: missing tensor 'features\.3\.weight'/);
  assert.throws(
    () => expectTensor(w, 'features.0.bias', [5], 'w.pth'),
    /w\.pth: tensor 'features\.0\.bias' has shape \[4\], expected \[5\]/,
  );
});

test('a missing weights file is a WeightsMissingError that says where to put it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-weights-'));
  try {
    assert.throws(
      () => requireWeights('alexnet', dir),
      (e: unknown) =>
        e instanceof WeightsMissingError &&
        e.message.includes(path.join(dir, 'alexnet-owt-7be5be79.pth')) &&
        e.message.includes('https://download.pytorch.org/models/alexnet-owt-7be5be79.pth'),
    );
    fs.writeFileSync(path.join(dir, 'alexnet-owt-7be5be79.pth'), pthBytes(sample(), 'zip'));
    assert.equal(requireWeights('alexnet', dir), path.join(dir, 'alexnet-owt-7be5be79.pth'));
    const presence = weightsPresence(dir);
    assert.equal(presence.find((p) => p.id === 'alexnet')!.present, true);
    assert.equal(presence.find((p) => p.id === 'inception-fid')!.present, false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
