import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KNOWN_WEIGHTS, verifyWeights, type WeightsFile } from '../metrics/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('verify: a file whose digest matches is ok, a different file is a mismatch, an absent one missing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-weights-'));
  const good = Buffer.from('the published bytes');
  const digest = createHash('sha256').update(good).digest('hex');
  const files: WeightsFile[] = [
    { ...KNOWN_WEIGHTS[0]!, file: 'full.pth', sha256: digest, sha256Prefix: digest.slice(0, 8) },
    { ...KNOWN_WEIGHTS[3]!, file: 'prefix.pth', sha256: undefined, sha256Prefix: digest.slice(0, 8) },
    { ...KNOWN_WEIGHTS[3]!, file: 'wrong.pth', sha256: undefined, sha256Prefix: digest.slice(0, 8) },
    { ...KNOWN_WEIGHTS[6]!, file: 'absent.pth' },
  ];
  fs.writeFileSync(path.join(dir, 'full.pth'), good);
  fs.writeFileSync(path.join(dir, 'prefix.pth'), good);
  fs.writeFileSync(path.join(dir, 'wrong.pth'), Buffer.from('a truncated download'));
  const checks = await verifyWeights(dir, files);
  assert.deepEqual(checks.map((c) => [c.file, c.status]), [['full.pth', 'ok'], ['prefix.pth', 'ok'], ['wrong.pth', 'mismatch'], ['absent.pth', 'missing']]);
  assert.equal(checks[0]!.sha256, digest);
});

test('divd weights verify exits 1 on a file that is not the published one, naming it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-weights-'));
  fs.writeFileSync(path.join(dir, 'alexnet-owt-7be5be79.pth'), 'not alexnet');
  const r = spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), 'weights', 'verify', '--dir', dir, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  const out = JSON.parse(r.stdout) as { files: { file: string; status: string }[] };
  assert.equal(out.files.find((f) => f.file === 'alexnet-owt-7be5be79.pth')?.status, 'mismatch');
  assert.equal(out.files.filter((f) => f.status === 'missing').length, KNOWN_WEIGHTS.length - 1);
});

test('the published LPIPS linear-layer files match their recorded SHA-256 (when present)', async (t) => {
  const shared = process.env.DIVD_LPIPS_WEIGHTS ?? '/work/shared/weights/lpips-v0.1';
  if (!fs.existsSync(path.join(shared, 'alex.pth'))) return t.skip(`published LPIPS files not at ${shared}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-weights-'));
  for (const net of ['alex', 'vgg', 'squeeze']) fs.copyFileSync(path.join(shared, `${net}.pth`), path.join(dir, `lpips-v0.1-${net}.pth`));
  const checks = await verifyWeights(dir);
  assert.deepEqual(checks.filter((c) => c.status === 'ok').map((c) => c.id).sort(), ['lpips-alex', 'lpips-squeeze', 'lpips-vgg']);
});
