import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TINY_BASE } from './helpers/tiny-spec.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// A two-trial sweep (two seeds) small enough to train, sample and score in seconds.
const SPEC = `
name: tiny
description: runner end-to-end test
base:
${TINY_BASE}
  # 20x24 frames in 16-pixel tiles: tiled sampling runs end to end.
  sample: { sampler: ddim, steps: 3, eta: 0, seed: 0, tile: 16, tileOverlap: 4 }
  train: { steps: 4, batch: 1, lr: 0.001, warmupSteps: 1, ema: 0.9, checkpointEvery: 2, keepLast: 1, validateEvery: 2 }
  eval: { metrics: [psnr, ssim, lpips, fid, kid] }
  tracking: { uri: ./mlruns }
  report: { enabled: true }
sweep:
  seeds: [0, 1]
`;

function divd(args: string[], cwd: string) {
  return spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    // An empty weights folder: LPIPS/FID/KID must be reported unavailable, not silently missing.
    env: { ...process.env, DIVD_DATA_CACHE: path.join(cwd, 'data-cache'), DIVD_WEIGHTS_DIR: path.join(cwd, 'no-weights'), MLFLOW_TRACKING_URI: '' },
  });
}

interface RunJson {
  experiment: string;
  trials: { id: string; label: string; state: string; runDir: string; error?: string }[];
  report?: { files: { html: string; markdown: string } };
}

describe('divd run (end to end on a tiny synthetic sweep)', () => {
  let tmp = '';
  let first: RunJson;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-run-'));
    fs.writeFileSync(path.join(tmp, 'tiny.yaml'), SPEC);
    const r = divd(['run', 'tiny.yaml', '--json', '--report-dir', 'report'], tmp);
    assert.equal(r.status, 0, r.stderr);
    first = JSON.parse(r.stdout.trim().split('\n').pop()!) as RunJson;
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('trains, samples and scores every trial into its run directory', () => {
    assert.equal(first.experiment, 'tiny');
    assert.deepEqual(first.trials.map((t) => t.state), ['done', 'done']);
    for (const t of first.trials) {
      const dir = path.join(tmp, 'runs', 'tiny', t.id);
      const status = JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as { stage: string; step: number };
      assert.equal(status.stage, 'done');
      assert.equal(status.step, 4);
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { train: { seed: number } };
      assert.equal(typeof config.train.seed, 'number');
      const log = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss?: number; valLoss?: number; valPsnr?: number; valSsim?: number });
      assert.deepEqual(log.filter((l) => l.loss !== undefined).map((l) => l.step), [1, 2, 3, 4]);
      const val = log.filter((l) => l.valLoss !== undefined) as { valLoss: number; valPsnr: number; valSsim: number }[];
      assert.ok(val.length >= 1 && val.every((l) => Number.isFinite(l.valLoss) && l.valPsnr > 0 && l.valPsnr < 100 && l.valSsim > -1 && l.valSsim <= 1), JSON.stringify(val));
      // 5 test frames, in windows of 4 (the last padded by replication): every frame restored once.
      const samples = fs.readdirSync(path.join(dir, 'samples', 'seq_002')).sort();
      assert.equal(samples.length, 5, samples.join());
      const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8')) as {
        metrics: Record<string, number>;
        frames: { path: string; psnr: number; ssim: number }[];
        unavailable: Record<string, string>;
      };
      assert.equal(metrics.frames.length, 5);
      assert.ok(metrics.metrics.psnr > 0 && metrics.metrics.psnr < 60, `psnr ${metrics.metrics.psnr}`);
      const mean = metrics.frames.reduce((a, f) => a + f.psnr, 0) / 5;
      assert.ok(Math.abs(mean - metrics.metrics.psnr) < 1e-9, 'dataset PSNR is the mean over frames');
      assert.deepEqual(Object.keys(metrics.unavailable).sort(), ['fid', 'kid', 'lpips']);
      assert.match(metrics.unavailable.lpips!, /alexnet-owt-7be5be79\.pth/);
    }
  });

  it('the two seeds are different trials with different results', () => {
    const [a, b] = first.trials;
    assert.notEqual(a!.id, b!.id);
    const m = (t: { id: string }) => fs.readFileSync(path.join(tmp, 'runs', 'tiny', t.id, 'metrics.json'), 'utf8');
    assert.notEqual(m(a!), m(b!));
  });

  it('logs a parent run with one child run per trial to the local mlruns/ store', () => {
    const exps = fs.readdirSync(path.join(tmp, 'mlruns')).filter((e) => /^\d+$/.test(e) && e !== '0');
    assert.equal(exps.length, 1);
    const expDir = path.join(tmp, 'mlruns', exps[0]!);
    assert.match(fs.readFileSync(path.join(expDir, 'meta.yaml'), 'utf8'), /name: "tiny"/);
    const runs = fs.readdirSync(expDir).filter((r) => fs.statSync(path.join(expDir, r)).isDirectory());
    assert.equal(runs.length, 3);
    const parents = runs.map((r) => {
      const f = path.join(expDir, r, 'tags', 'mlflow.parentRunId');
      return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : null;
    });
    const parent = runs[parents.indexOf(null)]!;
    assert.equal(parents.filter((p) => p === parent).length, 2, 'both trials are children of the sweep run');
    assert.ok(fs.existsSync(path.join(expDir, parent, 'artifacts', 'report', 'index.html')), 'the report is an artifact of the sweep run');
    for (const r of runs.filter((x) => x !== parent)) {
      const loss = fs.readFileSync(path.join(expDir, r, 'metrics', 'loss'), 'utf8').trim().split('\n');
      assert.equal(loss.length, 4);
      assert.ok(fs.existsSync(path.join(expDir, r, 'metrics', 'test_psnr')));
      assert.ok(fs.existsSync(path.join(expDir, r, 'metrics', 'val_psnr')), 'sampled validation PSNR curve');
      assert.ok(fs.existsSync(path.join(expDir, r, 'params', 'model.baseChannels')));
      for (const a of ['metrics.json', 'config.json', 'samples/seq_002']) assert.ok(fs.existsSync(path.join(expDir, r, 'artifacts', a)), `artifact ${a}`);
      assert.match(fs.readFileSync(path.join(expDir, r, 'meta.yaml'), 'utf8'), /status: 3/); // FINISHED
    }
  });

  it('writes the report', () => {
    assert.ok(first.report);
    const html = fs.readFileSync(path.resolve(tmp, first.report!.files.html), 'utf8');
    for (const t of first.trials) assert.ok(html.includes(t.id), `report mentions trial ${t.id}`);
    assert.ok(fs.existsSync(path.join(tmp, 'report', 'tables.tex')));
    const again = divd(['report', 'tiny.yaml', '--out', 'report2'], tmp);
    assert.equal(again.status, 0, again.stderr);
    assert.ok(fs.existsSync(path.join(tmp, 'report2', 'index.html')), 'divd report <spec> finds runs/<experiment>/');
  });

  it('a second run reuses finished trials; divd plan shows them done', () => {
    const r = divd(['run', 'tiny.yaml', '--json', '--no-report'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const again = JSON.parse(r.stdout.trim().split('\n').pop()!) as RunJson;
    assert.deepEqual(again.trials.map((t) => t.state), ['cached', 'cached']);
    const plan = divd(['plan', 'tiny.yaml', '--json'], tmp);
    assert.equal(plan.status, 0, plan.stderr);
    assert.deepEqual((JSON.parse(plan.stdout) as { counts: Record<string, number> }).counts, { done: 2 });
  });

  it('a broken dataset tree stops the run before training, exit 2 listing the problem', async () => {
    const { writePng } = await import('../datasets/index.ts');
    const frame = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3) };
    for (const [split, seq, n] of [['train', 's1', 4], ['test', 's2', 4]] as const) {
      for (let i = 0; i < n; i++) {
        await writePng(path.join(tmp, 'tree', split, seq, 'blur', `${i}.png`), frame);
        if (!(split === 'test' && i === 2)) await writePng(path.join(tmp, 'tree', split, seq, 'sharp', `${i}.png`), frame);
      }
    }
    fs.writeFileSync(path.join(tmp, 'bad.yaml'), SPEC.replace('name: tiny', 'name: bad').replace(/source: synthetic/, 'source: folders\n    root: tree'));
    const r = divd(['run', 'bad.yaml', '--no-report'], tmp);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /tree.*problem[\s\S]*s2/);
    assert.ok(!fs.existsSync(path.join(tmp, 'runs', 'bad')) || !fs.readdirSync(path.join(tmp, 'runs', 'bad')).some((id) => fs.existsSync(path.join(tmp, 'runs', 'bad', id, 'checkpoints'))), 'nothing trained');
  });

  it('--jobs 2 runs the trials in two processes, both logged under one new sweep run', () => {
    const r = divd(['run', 'tiny.yaml', '--jobs', '2', '--runs', 'runs-parallel', '--no-report', '--json'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as RunJson;
    assert.deepEqual(out.trials.map((t) => t.state), ['done', 'done']);
    for (const t of out.trials) assert.ok(fs.existsSync(path.join(tmp, 'runs-parallel', 'tiny', t.id, 'metrics.json')));
    const exps = fs.readdirSync(path.join(tmp, 'mlruns')).filter((e) => /^\d+$/.test(e) && e !== '0');
    const tiny = exps.find((e) => /name: "tiny"/.test(fs.readFileSync(path.join(tmp, 'mlruns', e, 'meta.yaml'), 'utf8')))!;
    const expDir = path.join(tmp, 'mlruns', tiny);
    const runs = fs.readdirSync(expDir).filter((x) => fs.statSync(path.join(expDir, x)).isDirectory());
    assert.equal(runs.length, 6, 'a second sweep run with two children');
    const parentOf = (x: string) => {
      const f = path.join(expDir, x, 'tags', 'mlflow.parentRunId');
      return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : null;
    };
    const roots = runs.filter((x) => parentOf(x) === null);
    assert.equal(roots.length, 2);
    for (const root of roots) assert.equal(runs.filter((x) => parentOf(x) === root).length, 2);
  });

  it('a folders dataset with its own frame folder names (data.folders) trains and is scored', async () => {
    const { writePng } = await import('../datasets/index.ts');
    for (const [split, seq] of [['train', 'a'], ['test', 'b']] as const) {
      for (let i = 0; i < 4; i++) {
        const frame = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).map((_, j) => (j * 7 + i * 13) % 256) };
        await writePng(path.join(tmp, 'reds', split, seq, 'input', `${i}.png`), frame);
        await writePng(path.join(tmp, 'reds', split, seq, 'gt', `${i}.png`), frame);
      }
    }
    const spec = SPEC.replace('name: tiny', 'name: reds')
      .replace(/source: synthetic/, 'source: folders\n    root: reds\n    folders: { blurDir: input, sharpDir: gt }')
      .replace(/sweep:\n  seeds: \[0, 1\]\n/, '');
    fs.writeFileSync(path.join(tmp, 'reds.yaml'), spec);
    const r = divd(['run', 'reds.yaml', '--no-report', '--json'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as RunJson;
    assert.deepEqual(out.trials.map((t) => t.state), ['done']);
    const m = JSON.parse(fs.readFileSync(path.join(tmp, out.trials[0]!.runDir, 'metrics.json'), 'utf8')) as { frames: { path: string }[] };
    assert.deepEqual(m.frames.map((f) => f.path), ['b/0', 'b/1', 'b/2', 'b/3']);
  });

  it('divd trial --id with an unknown id exits 2 naming it', () => {
    const r = divd(['trial', 'tiny.yaml', '--id', 'ffffffffff'], tmp);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /ffffffffff/);
  });

  it('--force re-runs a finished trial from scratch', () => {
    const id = first.trials[0]!.id;
    const r = divd(['run', 'tiny.yaml', '--only', id, '--force', '--no-report', '--json'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as RunJson;
    assert.deepEqual(out.trials.map((t) => [t.id, t.state]), [[id, 'done']]);
    const log = fs.readFileSync(path.join(tmp, 'runs', 'tiny', id, 'log.jsonl'), 'utf8').trim().split('\n');
    assert.equal(log.filter((l) => (JSON.parse(l) as { step: number; loss?: number }).loss !== undefined).length, 4, 'a fresh log, not appended');
  });
});
