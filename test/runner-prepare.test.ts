import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpec } from '../src/spec/index.ts';
import { TINY_BASE } from './helpers/tiny-spec.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Two tiny trials (two seeds); seed=0 goes stage by stage from `divd prepare` and is compared with `divd run`.
const SPEC = `
name: prep
base:
${TINY_BASE}
  sample: { sampler: ddim, steps: 3, eta: 0, seed: 0, tile: 16, tileOverlap: 4 }
  train: { steps: 4, batch: 1, lr: 0.001, warmupSteps: 1, ema: 0.9, checkpointEvery: 2, keepLast: 1, validateEvery: 2 }
  eval: { metrics: [psnr, ssim] }
  tracking: { uri: ./mlruns }
  report: { enabled: false }
sweep:
  seeds: [0, 1]
`;

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `divd …` in `cwd`, asynchronously, so independent commands overlap their start-up. */
function divd(args: string[], cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], {
      cwd,
      // One thread: the staged trial and `divd run` must train bit-identical weights.
      env: { ...process.env, DIVD_DATA_CACHE: path.join(cwd, 'data-cache'), DIVD_THREADS: '1', MLFLOW_TRACKING_URI: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const readJson = <T>(file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

/** Every file under `dir` with its bytes and modification time: equal snapshots mean nothing was written. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const file = path.join(dir, rel);
    const stat = fs.statSync(file);
    if (stat.isFile()) out[rel] = `${stat.mtimeMs} ${fs.readFileSync(file).toString('base64')}`;
  }
  return out;
}

describe('divd prepare', () => {
  let tmp = '';
  let wholeCwd = '';
  let whole: Promise<Ran>;
  const plan = () => loadSpec(path.join(tmp, 'spec.yaml'));
  const trial = (label: string) => plan().trials.find((t) => t.label === label)!;
  const staged = (label: string) => path.join(tmp, 'staged', 'prep', trial(label).id);
  const trackerRun = (runDir: string) => {
    const s = readJson<{ experimentId: string; runId: string }>(path.join(runDir, 'tracking.json'));
    return { ...s, dir: path.join(path.dirname(path.dirname(path.dirname(runDir))), 'mlruns', s.experimentId, s.runId) };
  };

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-prepare-'));
    fs.writeFileSync(path.join(tmp, 'spec.yaml'), SPEC);
    // The reference: `divd run` of the same trial, in a folder of its own, while the staged trial goes on here.
    wholeCwd = path.join(tmp, 'whole');
    fs.mkdirSync(wholeCwd);
    fs.writeFileSync(path.join(wholeCwd, 'spec.yaml'), SPEC);
    whole = divd(['run', 'spec.yaml', '--only', 'seed=0', '--json', '--quiet'], wholeCwd);
  });
  after(async () => {
    await whole;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes each trial\'s run directory as divd run does before training, and prints the directories', async () => {
    const r = await divd(['prepare', 'spec.yaml', '--runs', 'staged'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const dirs = ['seed=0', 'seed=1'].map((l) => path.join('staged', 'prep', trial(l).id));
    assert.equal(r.stdout, dirs.map((d) => `${d}\n`).join(''), 'stdout holds only the run directories');
    assert.match(r.stderr, /prep: 2 run directories created, 0 already there/);
    assert.match(r.stderr, new RegExp(`next: divd train --trial ${dirs[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const parent = readJson<{ runId: string }>(path.join(tmp, 'staged', 'prep', 'tracking.json')).runId;
    for (const label of ['seed=0', 'seed=1']) {
      const dir = staged(label);
      const t = trial(label);
      assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'status.json', 'tracking.json', 'trial.json']);
      assert.deepEqual(readJson(path.join(dir, 'config.json')), t.config, 'config.json is the resolved config');
      const run = trackerRun(dir);
      assert.deepEqual(readJson(path.join(dir, 'trial.json')), { id: t.id, label, variant: t.variant, swept: t.swept, seed: t.config.train.seed, index: t.index, mlflowRunId: run.runId });
      const status = readJson<{ stage: string; startedAt?: string }>(path.join(dir, 'status.json'));
      assert.equal(status.stage, 'pending');
      assert.equal(status.startedAt, undefined, 'nothing has started');
      // The tracker run: a child of the sweep's run, named by the label, holding the config as params.
      assert.equal(fs.readFileSync(path.join(run.dir, 'tags', 'mlflow.parentRunId'), 'utf8'), parent);
      assert.equal(fs.readFileSync(path.join(run.dir, 'tags', 'mlflow.runName'), 'utf8'), label);
      assert.equal(fs.readFileSync(path.join(run.dir, 'params', 'train.seed'), 'utf8'), String(t.config.train.seed));
    }
  });

  it('a second prepare changes nothing and says the run directory was left untouched', async () => {
    const before = { runs: snapshot(path.join(tmp, 'staged')), mlruns: snapshot(path.join(tmp, 'mlruns')) };
    const r = await divd(['prepare', 'spec.yaml', '--runs', 'staged', '--only', 'seed=0', '--json'], tmp);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      experiment: 'prep',
      trials: [{ id: trial('seed=0').id, label: 'seed=0', runDir: path.join('staged', 'prep', trial('seed=0').id), state: 'existing', stage: 'pending' }],
    });
    assert.deepEqual({ runs: snapshot(path.join(tmp, 'staged')), mlruns: snapshot(path.join(tmp, 'mlruns')) }, before);
  });

  it('train, sample and eval --trial on a prepared directory give the trial divd run gives', async () => {
    const dir = staged('seed=0');
    const prepared = trackerRun(dir);
    for (const stage of ['train', 'sample', 'eval']) {
      const r = await divd([stage, '--trial', dir, '--json'], tmp);
      assert.equal(r.status, 0, `${stage}: ${r.stderr}`);
    }
    assert.equal(readJson<{ stage: string }>(path.join(dir, 'status.json')).stage, 'done');

    const w = await whole;
    assert.equal(w.status, 0, w.stderr);
    const ref = path.resolve(wholeCwd, (JSON.parse(w.stdout) as { trials: { runDir: string }[] }).trials[0]!.runDir);
    assert.equal(path.basename(ref), path.basename(dir), 'same trial id');
    assert.deepEqual(fs.readdirSync(dir).sort(), fs.readdirSync(ref).sort(), 'the same files');
    assert.deepEqual(readJson(path.join(dir, 'metrics.json')), readJson(path.join(ref, 'metrics.json')), 'the same metrics');
    for (const f of ['config.json', 'samples.json']) {
      const { time: _a, ...a } = readJson<Record<string, unknown>>(path.join(dir, f));
      const { time: _b, ...b } = readJson<Record<string, unknown>>(path.join(ref, f));
      assert.deepEqual(a, b, f);
    }
    // Every stage logged to the tracker run prepare opened, the sweep's child.
    assert.deepEqual(trackerRun(dir), prepared);
    assert.equal(readJson<{ mlflowRunId: string }>(path.join(dir, 'trial.json')).mlflowRunId, prepared.runId);
    assert.equal(fs.readFileSync(path.join(prepared.dir, 'metrics', 'loss'), 'utf8').trim().split('\n').length, 4);
    assert.ok(fs.existsSync(path.join(prepared.dir, 'metrics', 'test_psnr')));
  });

  it('divd run then finds the trial finished; prepare leaves it alone; bad input exits 2 naming it', async () => {
    const [run, again, unknown, missing] = await Promise.all([
      divd(['run', 'spec.yaml', '--runs', 'staged', '--only', 'seed=0', '--json', '--quiet'], tmp),
      divd(['prepare', 'spec.yaml', '--runs', 'staged'], tmp),
      divd(['prepare', 'spec.yaml', '--runs', 'other', '--only', 'seed=7'], tmp),
      divd(['prepare', 'missing.yaml', '--runs', 'other'], tmp),
    ]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual((JSON.parse(run.stdout) as { trials: { state: string }[] }).trials.map((t) => t.state), ['cached']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /prep: 0 run directories created, 2 already there/);
    assert.match(again.stderr, new RegExp(`existing ${trial('seed=0').id}  seed=0  \\(stage done; left untouched\\)`));
    assert.match(again.stderr, /next: divd train --trial .*/, 'seed=1 is still pending');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /no trial "seed=7" in spec\.yaml; did you mean "seed=/);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /spec not found: missing\.yaml/);
    assert.ok(!fs.existsSync(path.join(tmp, 'other')), 'nothing written on bad input');
  });
});
