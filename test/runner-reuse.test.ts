/**
 * A trial shared by two experiments (the same resolved config, so the same id) trains once: the second
 * experiment's run directory takes the first's checkpoints and training log, then samples and scores on its
 * own — to the same metrics as training it again. DIVD_REUSE_TRAINING=0 and `--force` retrain.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TINY_BASE } from './helpers/tiny-spec.ts';
import { RunDir } from '../src/runner/run-dir.ts';
import { adoptTraining, reuseEnabled, trainedTwin } from '../src/runner/reuse.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const spec = (name: string) => `
name: ${name}
base:
${TINY_BASE}
  sample: { sampler: ddim, steps: 2, eta: 0, seed: 0 }
  train: { steps: 4, batch: 1, lr: 0.001, warmupSteps: 1, ema: 0.9, checkpointEvery: 2, keepLast: 2, validateEvery: 2 }
  eval: { metrics: [psnr, ssim] }
  tracking: { uri: ./mlruns }
  report: { enabled: false }
`;

function divd(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    // One thread, so training the same config twice gives bit-identical weights.
    env: { ...process.env, DIVD_DATA_CACHE: path.join(cwd, 'data-cache'), DIVD_THREADS: '1', MLFLOW_TRACKING_URI: '', ...env },
  });
}

const readJson = <T>(file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const metricsOf = (dir: string) => readJson<{ metrics: Record<string, number> }>(path.join(dir, 'metrics.json')).metrics;
const checkpointBytes = (dir: string) =>
  fs.readdirSync(path.join(dir, 'checkpoints')).filter((n) => n.endsWith('.ckpt')).sort().map((n) => fs.readFileSync(path.join(dir, 'checkpoints', n)));

describe('trials shared between experiments train once', () => {
  let tmp = '';
  let first = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-reuse-'));
    for (const name of ['alpha', 'beta', 'gamma', 'delta']) fs.writeFileSync(path.join(tmp, `${name}.yaml`), spec(name));
    const r = divd(['run', 'alpha.yaml', '--no-report', '--json'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const id = (JSON.parse(r.stdout.trim().split('\n').pop()!) as { trials: { id: string }[] }).trials[0]!.id;
    first = path.join(tmp, 'runs', 'alpha', id);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the second experiment takes the checkpoints and log, and scores what training again would', () => {
    const id = path.basename(first);
    const r = divd(['run', 'beta.yaml', '--no-report'], tmp);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /training taken from .*alpha.*\(the same config, trained to step 4\)/);
    const second = path.join(tmp, 'runs', 'beta', id);
    assert.deepEqual(checkpointBytes(second), checkpointBytes(first));
    assert.equal(fs.readFileSync(path.join(second, 'log.jsonl'), 'utf8'), fs.readFileSync(path.join(first, 'log.jsonl'), 'utf8'));
    assert.deepEqual(metricsOf(second), metricsOf(first));
    assert.equal(readJson<{ stage: string }>(path.join(second, 'status.json')).stage, 'done');

    // Retrained from scratch (reuse off): the same weights and metrics, without the note.
    const again = divd(['run', 'gamma.yaml', '--no-report'], tmp, { DIVD_REUSE_TRAINING: '0' });
    assert.equal(again.status, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /training taken from/);
    const third = path.join(tmp, 'runs', 'gamma', id);
    assert.deepEqual(checkpointBytes(third), checkpointBytes(first), 'training is deterministic per config on one thread');
    assert.deepEqual(metricsOf(third), metricsOf(first));
  });

  it('--force retrains instead of taking a twin', () => {
    const r = divd(['run', 'delta.yaml', '--no-report', '--force'], tmp);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /training taken from/);
  });

  it('only a twin trained to the full step count, outside its own experiment, and never over existing checkpoints', () => {
    const runs = path.join(tmp, 'runs');
    const id = path.basename(first);
    assert.equal(trainedTwin(runs, 'alpha', id, 4)?.startsWith(runs), true);
    assert.equal(trainedTwin(runs, 'alpha', id, 5), undefined, 'no checkpoint of step 5');
    assert.equal(trainedTwin(runs, 'zeta', 'ffffffffff', 4), undefined);
    // A twin still training is not taken.
    const busy = path.join(runs, 'busy', 'abc');
    fs.mkdirSync(path.join(busy, 'checkpoints'), { recursive: true });
    fs.copyFileSync(path.join(first, 'checkpoints', 'step-000000004.ckpt'), path.join(busy, 'checkpoints', 'step-000000004.ckpt'));
    fs.writeFileSync(path.join(busy, 'status.json'), JSON.stringify({ stage: 'training', step: 4 }));
    assert.equal(trainedTwin(runs, 'other', 'abc', 4), undefined);
    assert.throws(() => adoptTraining(first, new RunDir(path.join(runs, 'beta', id))), /already holds checkpoints/);
    assert.equal(reuseEnabled({}), true);
    assert.equal(reuseEnabled({ DIVD_REUSE_TRAINING: '0' }), false);
  });
});
