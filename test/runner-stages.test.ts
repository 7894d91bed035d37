import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// One tiny trial: 4 steps, 5 test frames of 20x24 in 16-pixel tiles (the runner-e2e pattern).
const SPEC = `
name: stages
base:
  data:
    source: synthetic
    crop: 16
    synthetic: { trainSequences: 2, testSequences: 1, frames: 5, height: 20, width: 24, seed: 3 }
  model: { frames: 4, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, windows: [2, 1], attention: wtsa, headChannels: 8, groups: 4 }
  diffusion: { timesteps: 100 }
  sample: { sampler: ddim, steps: 3, eta: 0, seed: 0, tile: 16, tileOverlap: 4 }
  train: { steps: 4, batch: 1, lr: 0.001, warmupSteps: 1, ema: 0.9, checkpointEvery: 2, keepLast: 1, validateEvery: 2 }
  eval: { metrics: [psnr, ssim] }
  tracking: { uri: ./mlruns }
  report: { enabled: false }
`;

function divd(args: string[], cwd: string) {
  return spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    // One thread: the two ways of running the trial must train bit-identical weights.
    env: { ...process.env, DIVD_DATA_CACHE: path.join(cwd, 'data-cache'), DIVD_THREADS: '1', MLFLOW_TRACKING_URI: '' },
  });
}

const readJson = <T>(file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const status = (dir: string) => readJson<{ stage: string; step?: number; error?: string }>(path.join(dir, 'status.json')).stage;

/** A run directory with only what `divd trial` writes first: the resolved config and the trial's id. */
function freshRunDir(from: string, to: string): string {
  fs.mkdirSync(to, { recursive: true });
  for (const f of ['config.json', 'trial.json']) fs.copyFileSync(path.join(from, f), path.join(to, f));
  return to;
}

describe('divd train|sample|eval --trial', () => {
  let tmp = '';
  let whole = '';
  let staged = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-stages-'));
    fs.writeFileSync(path.join(tmp, 'spec.yaml'), SPEC);
    const r = divd(['trial', 'spec.yaml', '--id', 'base', '--runs', 'whole', '--json', '--quiet'], tmp);
    assert.equal(r.status, 0, r.stderr);
    whole = path.resolve(tmp, (JSON.parse(r.stdout) as { runDir: string }).runDir);
    staged = freshRunDir(whole, path.join(tmp, 'staged', 'stages', path.basename(whole)));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('train, sample and eval one after another give the metrics.json of divd trial', () => {
    const t = divd(['train', '--trial', staged, '--json', '--quiet'], tmp);
    assert.equal(t.status, 0, t.stderr);
    assert.equal(status(staged), 'trained');
    assert.match((JSON.parse(t.stdout) as { checkpoint: string }).checkpoint, /step-000000004\.ckpt$/);
    const s = divd(['sample', '--trial', staged, '--json', '--quiet'], tmp);
    assert.equal(s.status, 0, s.stderr);
    assert.equal(status(staged), 'sampled');
    assert.equal((JSON.parse(s.stdout) as { samples: { frames: number } }).samples.frames, 5);
    const e = divd(['eval', '--trial', staged, '--json'], tmp);
    assert.equal(e.status, 0, e.stderr);
    assert.equal(status(staged), 'done');
    assert.deepEqual(readJson(path.join(staged, 'metrics.json')), readJson(path.join(whole, 'metrics.json')));
    assert.deepEqual(JSON.parse(e.stdout), readJson(path.join(whole, 'metrics.json')), '--json prints metrics.json');
    for (const f of fs.readdirSync(path.join(whole, 'samples', 'seq_002'))) {
      assert.ok(fs.readFileSync(path.join(whole, 'samples', 'seq_002', f)).equals(fs.readFileSync(path.join(staged, 'samples', 'seq_002', f))), `sample ${f} identical`);
    }
    // The stages reattach to one tracker run, which holds the training curve and the test metrics.
    const state = readJson<{ runId: string; experimentId: string }>(path.join(staged, 'tracking.json'));
    const runDir = path.join(tmp, 'mlruns', state.experimentId, state.runId);
    assert.equal(fs.readFileSync(path.join(runDir, 'metrics', 'loss'), 'utf8').trim().split('\n').length, 4);
    assert.ok(fs.existsSync(path.join(runDir, 'metrics', 'test_psnr')));
  });

  it('sample -o with overrides writes elsewhere and leaves the run directory alone', () => {
    const out = path.join(tmp, 'export');
    const r = divd(['sample', '--trial', whole, '-o', out, '--checkpoint', 'best', '--steps', '2', '--tile', '0', '--json', '--quiet'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { samples: { frames: number; sample: { steps: number; tile: number }; checkpoint: { step: number } } };
    assert.equal(res.samples.frames, 5);
    assert.deepEqual([res.samples.sample.steps, res.samples.sample.tile], [2, 0]);
    assert.ok([2, 4].includes(res.samples.checkpoint.step));
    assert.equal(fs.readdirSync(path.join(out, 'seq_002')).length, 5);
    assert.equal(status(whole), 'done');
    const again = divd(['sample', '--trial', whole, '-o', out, '--quiet'], tmp);
    assert.equal(again.status, 2, 'a non-empty -o is not replaced without --force');
    assert.match(again.stderr, /export.*--force/);
  });

  it('exits 2 naming the problem: not a run dir, no checkpoint, no samples, unknown step, mixed eval flags', () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    const notRun = divd(['train', '--trial', empty], tmp);
    assert.equal(notRun.status, 2);
    assert.match(notRun.stderr, /empty: not a run directory \(no config\.json/);
    const fresh = freshRunDir(whole, path.join(tmp, 'fresh', 'stages', 'x'));
    const noCk = divd(['sample', '--trial', fresh], tmp);
    assert.equal(noCk.status, 2);
    assert.match(noCk.stderr, /has no checkpoint.*divd train --trial/);
    const noSamples = divd(['eval', '--trial', fresh], tmp);
    assert.equal(noSamples.status, 2);
    assert.match(noSamples.stderr, /5 of 5 test frame\(s\) have no sample/);
    assert.ok(!fs.existsSync(path.join(fresh, 'status.json')), 'a refused stage does not mark the trial failed');
    const step = divd(['sample', '--trial', whole, '--checkpoint', '3', '-o', path.join(tmp, 'o3')], tmp);
    assert.equal(step.status, 2);
    assert.match(step.stderr, /no checkpoint of step 3; steps present: 2, 4|no checkpoint of step 3; steps present: 4/);
    const mixed = divd(['eval', '--trial', whole, '--pred', 'x'], tmp);
    assert.equal(mixed.status, 2);
    assert.match(mixed.stderr, /drop --pred/);
    const none = divd(['eval'], tmp);
    assert.equal(none.status, 2);
    const config = readJson<{ train: { steps: number } }>(path.join(fresh, 'config.json'));
    config.train.steps = 5;
    fs.writeFileSync(path.join(fresh, 'config.json'), JSON.stringify(config));
    const edited = divd(['train', '--trial', fresh], tmp);
    assert.equal(edited.status, 2);
    assert.match(edited.stderr, /config\.json hashes to trial id/);
  });
});
