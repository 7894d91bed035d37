import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createTracker } from '../src/tracking/index.ts';
import { experimentIdForName, FileStore } from '../src/tracking/filestore/store.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), 'divd-fs-'));
const read = (...p: string[]) => fs.readFile(path.join(...p), 'utf8');
/** The integer field of a meta.yaml, checked to lie in [from, to]. */
function timeField(text: string, field: string, from: number, to: number): number {
  const v = Number(new RegExp(`^${field}: (\\d+)$`, 'm').exec(text)?.[1]);
  assert.ok(v >= from && v <= to, `${field} ${v} not in [${from}, ${to}]`);
  return v;
}

describe('FileStore layout (mlflow.md §10)', () => {
  it('writes experiment and run meta.yaml, tags, params, metrics and artifacts byte for byte', async () => {
    const dir = await tmp();
    const t0 = Date.now();
    const mlruns = path.join(dir, 'ml runs'); // a space: artifact URIs must be percent-encoded file: URIs
    const tracker = createTracker({ uri: mlruns, experiment: 'deblur: "smoke" é/1' }, { USER: 'x', MLFLOW_TRACKING_USERNAME: 'alice' });
    const parent = await tracker.startRun({ runName: 'sweep', startTime: 1700000000000 });
    const run = await tracker.startRun({ runName: 'trial-0', parentRunId: parent.runId, startTime: 1700000000123, tags: { 'divd.trial': 'abc' } });
    await run.logParams({ 'model/windows': '[4,3,2,1]', note: 'line one\nline two', lr: 0.0002, ema: true });
    await run.logMetrics({ loss: 0.5, 'train/psnr': NaN }, { step: 1, timestamp: 1700000001000 });
    await run.logMetricPoints([
      { key: 'loss', value: Infinity, timestamp: 1700000002000, step: 2 },
      { key: 'loss', value: -Infinity, timestamp: 1700000003000, step: 3 },
      { key: 'loss', value: 1e-7, timestamp: 1700000004000, step: 4 },
    ]);
    const artifact = path.join(dir, 'config.json');
    await fs.writeFile(artifact, '{"a":1}');
    await run.logArtifact(artifact);
    await run.logArtifact(artifact, 'configs/v1');
    await fs.mkdir(path.join(dir, 'samples', 'seq1'), { recursive: true });
    await fs.writeFile(path.join(dir, 'samples', 'seq1', '0001.png'), Buffer.from([137, 80, 78, 71]));
    await run.logArtifact(path.join(dir, 'samples'), 'grids');
    await run.end('FAILED');

    const t1 = Date.now();
    const expId = run.experimentId;
    assert.match(expId, /^[1-9]\d{17}$/);
    assert.equal(expId, parent.experimentId);
    assert.match(run.runId, /^[0-9a-f]{32}$/);
    const expDir = path.join(mlruns, expId);
    const runDir = path.join(expDir, run.runId);
    const expUri = `file://${mlruns.replace(' ', '%20')}/${expId}`;
    const expMeta = await read(expDir, 'meta.yaml');
    assert.equal(
      expMeta,
      `artifact_location: "${expUri}"\n` +
        `creation_time: ${timeField(expMeta, 'creation_time', t0, t1)}\n` +
        `experiment_id: "${expId}"\n` +
        `last_update_time: ${timeField(expMeta, 'last_update_time', t0, t1)}\n` +
        'lifecycle_stage: active\n' +
        'name: "deblur: \\"smoke\\" é/1"\n',
    );
    const runMeta = await read(runDir, 'meta.yaml');
    const endTime = timeField(runMeta, 'end_time', t0, t1);
    assert.equal(
      runMeta,
      `artifact_uri: "${expUri}/${run.runId}/artifacts"\n` +
        `end_time: ${endTime}\n` +
        "entry_point_name: ''\n" +
        `experiment_id: "${expId}"\n` +
        'lifecycle_stage: active\n' +
        `run_id: "${run.runId}"\n` +
        'run_name: "trial-0"\n' +
        `run_uuid: "${run.runId}"\n` +
        "source_name: ''\n" +
        'source_type: 4\n' +
        "source_version: ''\n" +
        'start_time: 1700000000123\n' +
        'status: 4\n' +
        'tags: []\n' +
        'user_id: "alice"\n',
    );
    // Default experiment and trash, as a fresh MLflow store has them.
    const defaultMeta = await read(mlruns, '0', 'meta.yaml');
    assert.equal(
      defaultMeta,
      `artifact_location: "file://${mlruns.replace(' ', '%20')}/0"\n` +
        `creation_time: ${timeField(defaultMeta, 'creation_time', t0, t1)}\n` +
        'experiment_id: "0"\n' +
        `last_update_time: ${timeField(defaultMeta, 'last_update_time', t0, t1)}\n` +
        'lifecycle_stage: active\nname: "Default"\n',
    );
    assert.deepEqual(await fs.readdir(path.join(mlruns, '.trash')), []);
    // Tags: raw values, no trailing newline; system tags and nesting.
    assert.equal(await read(runDir, 'tags', 'mlflow.parentRunId'), parent.runId);
    assert.equal(await read(runDir, 'tags', 'mlflow.runName'), 'trial-0');
    assert.equal(await read(runDir, 'tags', 'mlflow.user'), 'alice');
    assert.equal(await read(runDir, 'tags', 'mlflow.source.type'), 'LOCAL');
    assert.ok(path.isAbsolute(await read(runDir, 'tags', 'mlflow.source.name')));
    assert.equal(await read(runDir, 'tags', 'divd.trial'), 'abc');
    assert.match(await read(runDir, 'tags', 'mlflow.source.git.commit'), /^[0-9a-f]{40}$/); // the tests run in a checkout
    // Params: '/' keys become directories, multi-line values stay raw.
    assert.equal(await read(runDir, 'params', 'model', 'windows'), '[4,3,2,1]');
    assert.equal(await read(runDir, 'params', 'note'), 'line one\nline two');
    assert.equal(await read(runDir, 'params', 'lr'), '0.0002');
    assert.equal(await read(runDir, 'params', 'ema'), 'True');
    // Metrics: "<ts> <value> <step>" lines, appended; non-finite values as Python float() reads them.
    assert.equal(
      await read(runDir, 'metrics', 'loss'),
      '1700000001000 0.5 1\n1700000002000 Infinity 2\n1700000003000 -Infinity 3\n1700000004000 1e-7 4\n',
    );
    assert.equal(await read(runDir, 'metrics', 'train', 'psnr'), '1700000001000 NaN 1\n');
    assert.equal(await read(runDir, 'artifacts', 'config.json'), '{"a":1}');
    assert.equal(await read(runDir, 'artifacts', 'configs', 'v1', 'config.json'), '{"a":1}');
    assert.deepEqual([...(await fs.readFile(path.join(runDir, 'artifacts', 'grids', 'seq1', '0001.png')))], [137, 80, 78, 71]);
    // No temp files left where MLflow would list them.
    for (const sub of ['tags', 'params', 'metrics']) {
      assert.ok((await fs.readdir(path.join(runDir, sub), { recursive: true })).every((f) => !String(f).includes('.tmp')));
    }
    assert.deepEqual((await fs.readdir(runDir)).sort(), ['artifacts', 'meta.yaml', 'metrics', 'params', 'tags']);
    // The parent stays RUNNING (status 1, end_time null) until it is ended.
    assert.match(await read(expDir, parent.runId, 'meta.yaml'), /end_time: null\n[\s\S]*status: 1\n/);
  });

  it('params are write-once: the same value again is accepted, a different one names the key', async () => {
    const tracker = createTracker({ uri: path.join(await tmp(), 'mlruns'), experiment: 'e' });
    const run = await tracker.startRun();
    await run.logParams({ lr: 0.1 });
    await run.logParams({ lr: 0.1 });
    await assert.rejects(run.logParams({ lr: 0.2 }), /param "lr" .* already logged as "0.1"/);
  });

  it('rejects keys MLflow cannot store and over-long values, naming them', async () => {
    const run = await createTracker({ uri: path.join(await tmp(), 'mlruns') }).startRun();
    await assert.rejects(run.logMetrics({ '../escape': 1 }), /normalized relative path/);
    await assert.rejects(run.logMetrics({ 'a*b': 1 }), /metric key "a\*b" has characters MLflow rejects/);
    await assert.rejects(run.logParams({ long: 'x'.repeat(6001) }), /param "long": value is 6001 characters; MLflow stores at most 6000/);
    await assert.rejects(run.setTags({ t: 'x'.repeat(8001) }), /at most 8000/);
    await assert.rejects(run.logParams({ ['k'.repeat(251)]: 1 }), /at most 250/);
    await assert.rejects(run.logMetrics({ ok: 1 }, { step: 1.5 }), /step must be an integer/);
  });

  it('finds an experiment MLflow itself wrote (PyYAML plain scalars) and refuses a deleted one', async () => {
    const mlruns = path.join(await tmp(), 'mlruns');
    await fs.mkdir(path.join(mlruns, '734190263387015101'), { recursive: true });
    await fs.writeFile(
      path.join(mlruns, '734190263387015101', 'meta.yaml'),
      "artifact_location: file:///x/mlruns/734190263387015101\ncreation_time: 1\nexperiment_id: '734190263387015101'\nlast_update_time: 1\nlifecycle_stage: active\nname: made by mlflow\n",
    );
    await fs.mkdir(path.join(mlruns, '.trash', '99'), { recursive: true });
    await fs.writeFile(path.join(mlruns, '.trash', '99', 'meta.yaml'), "experiment_id: '99'\nlifecycle_stage: deleted\nname: gone\n");
    const run = await createTracker({ uri: pathToFileURL(mlruns).href, experiment: 'made by mlflow' }).startRun();
    assert.equal(run.experimentId, '734190263387015101');
    await assert.rejects(createTracker({ uri: mlruns, experiment: 'gone' }).startRun(), /experiment "gone" is deleted .*id 99.*restore it/);
  });

  it('a restarted trial reattaches to its run through tracking.json', async () => {
    const dir = await tmp();
    const tracker = createTracker({ uri: path.join(dir, 'mlruns'), experiment: 'e' });
    const trialDir = path.join(dir, 'runs', 'e', 't1');
    const first = await tracker.startRun({ runDir: trialDir, runName: 't1' });
    await first.logMetrics({ loss: 1 }, { step: 1, timestamp: 10 });
    await first.end('KILLED');
    const second = await tracker.startRun({ runDir: trialDir, runName: 't1' });
    assert.equal(second.runId, first.runId);
    assert.equal(second.resumed, true);
    await second.logMetrics({ loss: 0.5 }, { step: 2, timestamp: 20 });
    const runDir = path.join(dir, 'mlruns', first.experimentId, first.runId);
    assert.match(await read(runDir, 'meta.yaml'), /end_time: null\n[\s\S]*status: 1\n/);
    assert.equal(await read(runDir, 'metrics', 'loss'), '10 1 1\n20 0.5 2\n');
    assert.equal((await fs.readdir(path.join(dir, 'mlruns', first.experimentId))).filter((f) => f !== 'meta.yaml').length, 1);
  });

  it('experiment ids are derived from the name: 18 digits, no leading zero, stable', () => {
    const ids = ['a', 'b', 'Default experiment', 'x'.repeat(500)].map(experimentIdForName);
    for (const id of ids) assert.match(id, /^[1-9]\d{17}$/);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(experimentIdForName('a'), ids[0]);
  });

  it('two processes logging into one store at once create one experiment and two intact runs', async () => {
    const dir = await tmp();
    const mlruns = path.join(dir, 'mlruns');
    const script = `
      import { createTracker } from ${JSON.stringify(pathToFileURL(path.join(root, 'src/tracking/index.ts')).href)};
      const t = createTracker({ uri: ${JSON.stringify(mlruns)}, experiment: 'race' });
      const run = await t.startRun({ runName: process.argv[1] });
      for (let s = 0; s < 200; s++) await run.logMetrics({ loss: s / 7, lr: 1e-4 }, { step: s, timestamp: 1000 + s });
      await run.end();
      process.stdout.write(run.runId);`;
    const launch = (name: string) =>
      new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, name], { cwd: root });
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (err += d));
        p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
      });
    const [a, b] = await Promise.all([launch('a'), launch('b')]);
    const store = new FileStore(mlruns);
    const expIds = (await fs.readdir(mlruns)).filter((d) => d !== '.trash' && d !== '0');
    assert.deepEqual(expIds, [experimentIdForName('race')]);
    assert.deepEqual((await fs.readdir(path.join(mlruns, '.trash'))), []);
    for (const runId of [a, b]) {
      const lines = (await read(store.runDir(expIds[0]!, runId), 'metrics', 'loss')).split('\n').filter(Boolean);
      assert.equal(lines.length, 200);
      lines.forEach((line, s) => assert.equal(line, `${1000 + s} ${s / 7} ${s}`));
      assert.match(await read(store.runDir(expIds[0]!, runId), 'meta.yaml'), /status: 3\n/);
    }
  });
});
