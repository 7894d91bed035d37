import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { loadLpips, requireWeights, WeightsMissingError, WeightsNotPublishedError, type LpipsModel, type LpipsNet } from '../metrics/index.ts';
import { useBackend } from './helpers/backends.ts';
import { writePth } from './helpers/pth-writer.ts';
import { formulaImage, formulaStateDict, formulaTensor } from './helpers/metrics-nets-formula.ts';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'metrics-nets');
const sharedLpips = process.env.DIVD_LPIPS_WEIGHTS ?? '/work/shared/weights/lpips-v0.1';

interface Fixture {
  net: LpipsNet;
  lin_channels: number[];
  backbone_layout: [string, number[]][];
  lin_seed_base: number;
  cases: { name: string; n: number; h: number; w: number; lpips: Record<string, number[]> }[];
}
const NETS: { net: LpipsNet; backboneFile: string }[] = [
  { net: 'alex', backboneFile: 'alexnet-owt-7be5be79.pth' },
  { net: 'vgg', backboneFile: 'vgg16-397923af.pth' },
  { net: 'squeeze', backboneFile: 'squeezenet1_1-b8a52dc0.pth' },
];
const fixtureByNet = new Map(NETS.map(({ net }) => [net, JSON.parse(fs.readFileSync(path.join(fixtures, `lpips-${net}.json`), 'utf8')) as Fixture]));
const fixtureOf = (net: LpipsNet): Fixture => fixtureByNet.get(net)!;

let dir = '';
before(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-lpips-'));
  // Backbones go through the real loader in the format torchvision published them (legacy pickle).
  for (const { net, backboneFile } of NETS) writePth(path.join(dir, backboneFile), formulaStateDict(fixtureOf(net).backbone_layout), 'legacy');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeFormulaLin(into: string, net: LpipsNet): void {
  const f = fixtureOf(net);
  const lin = new Map(
    f.lin_channels.map((c, k) => [`lin${k}.model.1.weight`, formulaTensor(`lin${k}.model.1.weight`, [1, c, 1, 1], f.lin_seed_base + k)]),
  );
  writePth(path.join(into, `lpips-v0.1-${net}.pth`), lin, 'zip');
}

async function checkCases(model: LpipsModel, linKind: string): Promise<void> {
  for (const c of fixtureOf(model.net).cases) {
    const a = tf.tensor4d(formulaImage(c.n, c.h, c.w, 0), [c.n, c.h, c.w, 3]);
    const b = tf.tensor4d(formulaImage(c.n, c.h, c.w, 0.3), [c.n, c.h, c.w, 3]);
    const got = await model.distance(a, b);
    const want = c.lpips[linKind]!;
    assert.equal(got.length, want.length);
    want.forEach((w, i) => {
      const rel = Math.abs(got[i]! - w) / Math.abs(w);
      assert.ok(rel < 1e-5, `${model.net} ${c.name} [${i}] (${linKind} lin): ${got[i]} vs torch ${w} (rel ${rel.toExponential(2)})`);
    });
    const same = await model.distance(a, a);
    same.forEach((v) => assert.ok(Math.abs(v) < 1e-9, `identical images give LPIPS 0, got ${v}`));
    a.dispose();
    b.dispose();
  }
}

for (const { net, backboneFile } of NETS) {
  test(`LPIPS (${net}) matches the torch reference with formula backbone and formula linear layers`, async () => {
    writeFormulaLin(dir, net);
    const model = loadLpips({ net, weightsDir: dir });
    try {
      await checkCases(model, 'formula');
    } finally {
      model.dispose();
    }
  });

  test(`LPIPS (${net}) matches the torch reference with the published v0.1 linear layers when present`, async (t) => {
    const published = path.join(sharedLpips, `${net}.pth`);
    if (!fs.existsSync(published)) {
      // CI: only the repository is there; the formula test above covers the same code path.
      t.skip(`published LPIPS weights not at ${published} (set DIVD_LPIPS_WEIGHTS)`);
      return;
    }
    const pubDir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-lpips-pub-'));
    try {
      fs.copyFileSync(path.join(dir, backboneFile), path.join(pubDir, backboneFile));
      fs.copyFileSync(published, path.join(pubDir, `lpips-v0.1-${net}.pth`));
      const model = loadLpips({ net, weightsDir: pubDir });
      try {
        await checkCases(model, 'published');
      } finally {
        model.dispose();
      }
    } finally {
      fs.rmSync(pubDir, { recursive: true, force: true });
    }
  });
}

test('8-bit frames and [0,1] float frames give the same LPIPS', async () => {
  writeFormulaLin(dir, 'alex');
  const model = loadLpips({ weightsDir: dir });
  try {
    const h = 40;
    const w = 56;
    const f = formulaImage(2, h, w, 0);
    const bytes = Uint8Array.from(f, (v) => Math.round(v * 255));
    const px = h * w * 3;
    const asU8 = [0, 1].map((k) => ({ width: w, height: h, data: bytes.subarray(k * px, (k + 1) * px) }));
    const asF32 = [0, 1].map((k) => ({ width: w, height: h, data: Float32Array.from(bytes.subarray(k * px, (k + 1) * px), (v) => v / 255) }));
    const d8 = await model.distanceImages([asU8[0]!], [asU8[1]!]);
    const d32 = await model.distanceImages([asF32[0]!], [asF32[1]!]);
    assert.ok(d8[0]! > 0.01, `distinct frames are apart (${d8[0]})`);
    assert.ok(Math.abs(d8[0]! - d32[0]!) < 1e-7, `${d8[0]} vs ${d32[0]}`);
  } finally {
    model.dispose();
  }
});

test('missing LPIPS weights name the file and where to put it', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-lpips-none-'));
  try {
    assert.throws(
      () => loadLpips({ weightsDir: empty }),
      (e: unknown) => e instanceof WeightsMissingError && e.message.includes(path.join(empty, 'alexnet-owt-7be5be79.pth')),
    );
    writePth(path.join(empty, 'alexnet-owt-7be5be79.pth'), formulaStateDict(fixtureOf('alex').backbone_layout.slice(0, 2)), 'zip');
    writeFormulaLin(empty, 'alex');
    assert.throws(() => loadLpips({ weightsDir: empty }), /alexnet-owt-7be5be79\.pth: missing tensor 'features\.3\.weight'/);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('the evaluation policy refuses weights that are not the published files unless trusted, and says so', () => {
  writeFormulaLin(dir, 'alex');
  // The formula files are deterministic test weights, so their SHA-256 cannot be the published one.
  assert.throws(
    () => loadLpips({ weightsDir: dir, policy: { trust: false, warnings: [] } }),
    (e: unknown) =>
      e instanceof WeightsNotPublishedError &&
      e.message.includes(path.join(dir, 'alexnet-owt-7be5be79.pth')) &&
      e.message.includes('7be5be79… (published prefix)') &&
      e.message.includes('--trust-weights'),
  );
  const policy = { trust: true, warnings: [] as string[] };
  const model = loadLpips({ weightsDir: dir, policy });
  model.dispose();
  assert.equal(policy.warnings.length, 2, policy.warnings.join('\n'));
  assert.match(policy.warnings[0]!, /alexnet-owt-7be5be79\.pth is not the published file .*not comparable with published numbers/);
  assert.match(policy.warnings[1]!, /lpips-v0\.1-alex\.pth is not the published file/);
});

test('the published LPIPS linear-layer file passes the evaluation policy without a warning', (t) => {
  const published = path.join(sharedLpips, 'alex.pth');
  if (!fs.existsSync(published)) {
    t.skip(`published LPIPS weights not at ${published}`);
    return;
  }
  const pubDir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-lpips-policy-'));
  try {
    fs.copyFileSync(published, path.join(pubDir, 'lpips-v0.1-alex.pth'));
    const policy = { trust: false, warnings: [] as string[] };
    assert.equal(requireWeights('lpips-alex', pubDir, policy), path.join(pubDir, 'lpips-v0.1-alex.pth'));
    assert.deepEqual(policy.warnings, []);
  } finally {
    fs.rmSync(pubDir, { recursive: true, force: true });
  }
});
