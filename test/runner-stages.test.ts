import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TINY_BASE } from './helpers/tiny-spec.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// One tiny trial: 4 steps, 5 test frames of 20x24 in 16-pixel tiles (the runner-e2e pattern).
const SPEC = `
name: stages
base:
${TINY_BASE}
  sample: { sampler: ddim, steps: 3, eta: 0, seed: 0, tile: 16, tileOverlap: 4 }
  train: { steps: 4, batch: 1, lr: 0.001, warmupSteps: 1, ema: 0.9, checkpointEvery: 2, keepLast: 1, validateEvery: 2 }
  eval: { metrics: [psnr, ssim], contextProbe: true }
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
    assert.ok(fs.existsSync(path.join(runDir, 'metrics', 'test_input_psnr')));
    // The held-out loss (eval.testLoss, on by default) of the checkpoint the samples came from.
    const m = readJson<{ metrics: { loss: number }; testLoss: { loss: number; checkpointStep: number; levels: number[] } }>(path.join(staged, 'metrics.json'));
    assert.ok(Number.isFinite(m.metrics.loss) && m.metrics.loss > 0, `loss ${m.metrics.loss}`);
    assert.equal(m.testLoss.loss, m.metrics.loss);
    assert.equal(m.testLoss.checkpointStep, 4);
    assert.equal(m.testLoss.levels.length, 6);
    assert.ok(fs.existsSync(path.join(runDir, 'metrics', 'test_loss')));
  });

  it('metrics.json carries the blurry input scored like the samples: what divd eval gives the blurry frames', () => {
    const input = readJson<{ input: { psnr: number; ssim: number } }>(path.join(whole, 'metrics.json')).input;
    // The trial's test split, copied as a prediction folder of blurry frames and a ground-truth folder.
    const [dataset] = fs.readdirSync(path.join(tmp, 'data-cache'));
    const testRoot = path.join(tmp, 'data-cache', dataset!, 'test');
    for (const seq of fs.readdirSync(testRoot)) {
      for (const [from, to] of [['blur', 'pred'], ['sharp', 'gt']] as const) {
        fs.cpSync(path.join(testRoot, seq, from), path.join(tmp, 'input-check', to, seq), { recursive: true });
      }
    }
    const e = divd(['eval', '--pred', 'input-check/pred', '--gt', 'input-check/gt', '--metrics', 'psnr,ssim', '--json'], tmp);
    assert.equal(e.status, 0, e.stderr);
    const direct = (JSON.parse(e.stdout) as { metrics: { psnr: number; ssim: number } }).metrics;
    assert.equal(input.psnr, direct.psnr);
    assert.equal(input.ssim, direct.ssim);
    const trialPsnr = readJson<{ metrics: { psnr: number } }>(path.join(whole, 'metrics.json')).metrics.psnr;
    assert.notEqual(input.psnr, trialPsnr, 'the baseline is not the samples\' score');
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

  it('eval without checkpoints (deleted to save space): the image metrics stand, the test loss is unavailable with the reason', () => {
    const copy = path.join(tmp, 'no-checkpoints', 'stages', path.basename(whole));
    fs.cpSync(whole, copy, { recursive: true });
    fs.rmSync(path.join(copy, 'checkpoints'), { recursive: true });
    fs.rmSync(path.join(copy, 'tracking.json'), { force: true });
    const e = divd(['eval', '--trial', copy], tmp);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stderr, /test loss not computed/);
    const m = readJson<{ metrics: { psnr: number; loss?: number }; unavailable: { loss?: string } }>(path.join(copy, 'metrics.json'));
    assert.equal(m.metrics.psnr, readJson<{ metrics: { psnr: number } }>(path.join(whole, 'metrics.json')).metrics.psnr);
    assert.equal(m.metrics.loss, undefined);
    assert.match(m.unavailable.loss ?? '', /no checkpoint/);
  });

  it('the context probe: eval.contextProbe writes probe-context.json, divd probe computes the same, then reuses it', () => {
    type Probe = { frames: number; checkpointStep: number; withContext: { loss: number; byTimestep: Record<string, number> }; isolated: { loss: number; levels: number[] }; gain: number; relativeGain: number };
    // The trial's eval stage writes it (eval.contextProbe: true in the spec), says so, and logs it to MLflow.
    const ev = divd(['eval', '--trial', whole], tmp);
    assert.equal(ev.status, 0, ev.stderr);
    assert.match(ev.stdout, /loss, frames alone \d\.\d{5}: context gain -?\d+\.\d% \(probe-context\.json\)/);
    const fromEval = readJson<Probe>(path.join(whole, 'probe-context.json'));
    const state = readJson<{ runId: string; experimentId: string }>(path.join(whole, 'tracking.json'));
    const logged = fs.readFileSync(path.join(tmp, 'mlruns', state.experimentId, state.runId, 'metrics', 'test_loss_alone'), 'utf8');
    assert.equal(Number(logged.trim().split(' ')[1]), fromEval.isolated.loss);
    const r = divd(['probe', whole, '--force', '--json', '--quiet'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const p = JSON.parse(r.stdout) as Probe;
    assert.deepEqual(readJson<Probe>(path.join(whole, 'probe-context.json')), p, 'the file holds what --json printed');
    assert.equal(p.isolated.loss, fromEval.isolated.loss, 'divd probe and the eval stage measure the same');
    const m = readJson<{ testLoss: { loss: number; byTimestep: Record<string, number> } }>(path.join(whole, 'metrics.json'));
    assert.equal(p.frames, 4);
    assert.equal(p.checkpointStep, 4);
    assert.equal(p.withContext.loss, m.testLoss.loss, 'the same number the eval stage recorded');
    assert.deepEqual(p.withContext.byTimestep, m.testLoss.byTimestep);
    assert.equal(p.isolated.levels.length, 6);
    assert.ok(Number.isFinite(p.isolated.loss) && p.isolated.loss > 0);
    assert.ok(Math.abs(p.gain - (p.isolated.loss - p.withContext.loss)) < 1e-15);
    // Again: the probe on disk is for this checkpoint, so it is shown, not recomputed (the file is untouched).
    const before = fs.statSync(path.join(whole, 'probe-context.json')).mtimeMs;
    const text = divd(['probe', whole], tmp);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stderr, /already in probe-context\.json/);
    assert.doesNotMatch(text.stderr, /backend/, 'nothing to compute, no backend started');
    assert.equal(fs.statSync(path.join(whole, 'probe-context.json')).mtimeMs, before);
    assert.match(text.stdout, /F = 4/);
    assert.match(text.stdout, /in window\s+alone/);
    // An experiment folder: every trained trial in it, one line each; the report reads the files as columns.
    const experiment = path.dirname(whole);
    const all = divd(['probe', experiment, '--json'], tmp);
    assert.equal(all.status, 0, all.stderr);
    assert.deepEqual((JSON.parse(all.stdout) as Probe[]).map((q) => q.isolated.loss), [p.isolated.loss]);
    const rep = divd(['report', experiment, '--out', path.join(tmp, 'probe-report')], tmp);
    assert.equal(rep.status, 0, rep.stderr);
    const csv = fs.readFileSync(path.join(tmp, 'probe-report', 'results.csv'), 'utf8');
    assert.match(csv.split('\n')[0]!, /loss_alone,context_gain/);
    assert.ok(csv.includes(String(p.isolated.loss)), 'the frame-alone loss in results.csv');
    const bad = divd(['probe', path.join(tmp, 'nowhere')], tmp);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /nowhere: not a directory/);
    const notExperiment = divd(['probe', tmp], tmp);
    assert.equal(notExperiment.status, 2);
    assert.match(notExperiment.stderr, /neither a run directory .* nor an experiment folder/);
  });

  it('exits 2 for a directory that is not a run directory, before the backend starts', () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    const r = divd(['train', '--trial', empty], tmp);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /empty: not a run directory \(no config\.json/);
    assert.doesNotMatch(r.stderr, /backend/);
  });

  // The CLI maps UsageError to exit 2 (test/cli.test.ts); these run in-process to keep the file fast.
  it('refuses a sample without checkpoint, an eval without samples, an unknown step and an edited config', async () => {
    const { runTrialStage, openTrialDir, selectCheckpoint } = await import('../src/runner/index.ts');
    const { UsageError } = await import('../src/errors.ts');
    const fresh = freshRunDir(whole, path.join(tmp, 'fresh', 'stages', 'x'));
    const opts = { quiet: true, dataCacheDir: path.join(tmp, 'data-cache') };
    await assert.rejects(runTrialStage(fresh, 'sample', opts), (e: Error) => e instanceof UsageError && /has no checkpoint.*divd train --trial/.test(e.message));
    await assert.rejects(runTrialStage(fresh, 'eval', opts), (e: Error) => e instanceof UsageError && /5 of 5 test frame\(s\) have no sample/.test(e.message));
    assert.ok(!fs.existsSync(path.join(fresh, 'status.json')), 'a refused stage does not mark the trial failed');
    const { dir, trial } = openTrialDir(whole);
    assert.throws(() => selectCheckpoint(dir, trial.id, 3), (e: Error) => e instanceof UsageError && /no checkpoint of step 3; steps present: (2, )?4$/.test(e.message));
    const config = readJson<{ train: { steps: number } }>(path.join(fresh, 'config.json'));
    config.train.steps = 5;
    fs.writeFileSync(path.join(fresh, 'config.json'), JSON.stringify(config));
    assert.throws(() => openTrialDir(fresh), (e: Error) => e instanceof UsageError && /config\.json hashes to trial id/.test(e.message));
    fs.writeFileSync(path.join(fresh, 'config.json'), '{"data": 1}');
    assert.throws(() => openTrialDir(fresh), (e: Error) => e instanceof UsageError && /not a valid trial config/.test(e.message));
  });

  it('divd eval takes either --trial or --pred/--gt', () => {
    const mixed = divd(['eval', '--trial', whole, '--pred', 'x'], tmp);
    assert.equal(mixed.status, 2);
    assert.match(mixed.stderr, /drop --pred/);
  });
});
