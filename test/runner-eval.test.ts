import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePng } from '../datasets/index.ts';
import { psnr, ssim } from '../metrics/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const divd = (args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), 'eval', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, DIVD_WEIGHTS_DIR: path.join(os.tmpdir(), 'divd-no-weights') },
  });

function image(w: number, h: number, f: (x: number, y: number, c: number) => number): Uint8Array {
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) d[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(f(x, y, c))));
  return d;
}

describe('divd eval --pred --gt', () => {
  let tmp = '';
  const frames = new Map<string, { pred: Uint8Array; gt: Uint8Array }>();
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-eval-'));
    for (const [seq, n] of [['a', 2], ['b', 3]] as const) {
      for (let i = 0; i < n; i++) {
        const gt = image(33, 21, (x, y, c) => 128 + 90 * Math.sin(0.3 * x + 0.2 * y + c + i));
        const pred = image(33, 21, (x, y, c) => 128 + 80 * Math.sin(0.3 * x + 0.2 * y + c + i + 0.1 * (seq === 'a' ? 1 : 2)));
        const key = `${seq}/${String(i).padStart(4, '0')}`;
        frames.set(key, { pred, gt });
        await writePng(path.join(tmp, 'pred', `${key}.png`), { width: 33, height: 21, data: pred });
        await writePng(path.join(tmp, 'gt', `${key}.png`), { width: 33, height: 21, data: gt });
      }
    }
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('scores every pair by relative path: per frame, per sequence and overall, as the metric functions do', () => {
    const r = divd(['--pred', path.join(tmp, 'pred'), '--gt', path.join(tmp, 'gt'), '--json', '--out', path.join(tmp, 'm.json')]);
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(r.stdout) as { metrics: Record<string, number>; frames: { path: string; psnr: number; ssim: number }[]; sequences: Record<string, { psnr: number }>; unavailable: Record<string, string> };
    assert.equal(m.frames.length, 5);
    let sum = 0;
    for (const f of m.frames) {
      const { pred, gt } = frames.get(f.path)!;
      const a = { data: pred, width: 33, height: 21, channels: 3 };
      const b = { data: gt, width: 33, height: 21, channels: 3 };
      assert.equal(f.psnr, psnr(a, b));
      assert.equal(f.ssim, ssim(a, b));
      sum += f.psnr;
    }
    assert.ok(Math.abs(m.metrics.psnr! - sum / 5) < 1e-9);
    assert.deepEqual(Object.keys(m.sequences).sort(), ['a', 'b']);
    assert.ok(m.sequences.a!.psnr > m.sequences.b!.psnr, 'sequence a has the smaller error');
    assert.deepEqual(Object.keys(m.unavailable).sort(), ['fid', 'kid', 'lpips']);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(tmp, 'm.json'), 'utf8')), m);
  });

  it('follows symbolic links to sequence folders (a ground truth made of links into a dataset), and a link cycle ends', () => {
    const linked = path.join(tmp, 'gt-links');
    fs.mkdirSync(linked);
    for (const seq of ['a', 'b']) fs.symlinkSync(path.join(tmp, 'gt', seq), path.join(linked, seq), 'dir');
    fs.symlinkSync(linked, path.join(linked, 'b', 'loop'), 'dir'); // inside the real gt/b: a cycle back to the root
    try {
      const r = divd(['--pred', path.join(tmp, 'pred'), '--gt', linked, '--metrics', 'psnr', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const direct = divd(['--pred', path.join(tmp, 'pred'), '--gt', path.join(tmp, 'gt'), '--metrics', 'psnr', '--json']);
      assert.deepEqual((JSON.parse(r.stdout) as { metrics: unknown }).metrics, (JSON.parse(direct.stdout) as { metrics: unknown }).metrics);
    } finally {
      fs.rmSync(path.join(tmp, 'gt', 'b', 'loop'));
    }
  });

  it('a prediction without ground truth, an unknown metric or a missing folder exits 2 with the reason', async () => {
    const extra = path.join(tmp, 'pred', 'c', '0000.png');
    await writePng(extra, { width: 33, height: 21, data: new Uint8Array(33 * 21 * 3) });
    try {
      const r = divd(['--pred', path.join(tmp, 'pred'), '--gt', path.join(tmp, 'gt'), '--metrics', 'psnr']);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /1 prediction\(s\) .* have no ground truth[\s\S]*c\/0000\.png/);
    } finally {
      fs.rmSync(path.dirname(extra), { recursive: true });
    }
    const bad = divd(['--pred', path.join(tmp, 'pred'), '--gt', path.join(tmp, 'gt'), '--metrics', 'psnr,niqe']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown metric "niqe"/);
    const missing = divd(['--pred', path.join(tmp, 'nope'), '--gt', path.join(tmp, 'gt')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--pred .*nope: not a directory/);
  });
  it('--weights-dir with files that are not the published weights: LPIPS and FID refused with the reason, PSNR/SSIM still scored', () => {
    const wd = path.join(tmp, 'weights');
    fs.mkdirSync(wd, { recursive: true });
    for (const f of ['alexnet-owt-7be5be79.pth', 'lpips-v0.1-alex.pth', 'pt_inception-2015-12-05-6726825d.pth']) fs.writeFileSync(path.join(wd, f), `not the published ${f}`);
    const r = divd(['--pred', path.join(tmp, 'pred'), '--gt', path.join(tmp, 'gt'), '--metrics', 'psnr,lpips,fid', '--weights-dir', wd, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(r.stdout) as { metrics: Record<string, number>; unavailable: Record<string, string> };
    assert.ok(Number.isFinite(m.metrics.psnr));
    assert.match(m.unavailable.lpips!, /alexnet-owt-7be5be79\.pth is not the published alexnet-owt-7be5be79\.pth: its SHA-256 is [0-9a-f]{64}, expected 7be5be79/);
    assert.match(m.unavailable.lpips!, /--trust-weights/);
    assert.match(m.unavailable.fid!, /pt_inception-2015-12-05-6726825d\.pth is not the published/);
  });
});
