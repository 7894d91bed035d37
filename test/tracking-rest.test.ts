import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTracker, MlflowApiError, MlflowUnavailableError, resolveTracking } from '../src/tracking/index.ts';
import type { Tracker } from '../src/tracking/index.ts';
import { resolveArtifactTarget } from '../src/tracking/rest/artifacts.ts';
import { backoffSeconds, parseErrorBody, parseRetryAfter } from '../src/tracking/rest/http.ts';
import { authorizationHeader, httpSettingsFromEnv, type HttpSettings } from '../src/tracking/rest/settings.ts';
import { FakeMlflow, type RecordedRequest } from './helpers/tracking-fake-mlflow.ts';

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), 'divd-rest-'));

/** A tracker on the fake server whose backoff waits are recorded instead of slept. */
function restTracker(fake: FakeMlflow, opts: { env?: NodeJS.ProcessEnv; experiment?: string; settings?: Partial<HttpSettings> } = {}) {
  const sleeps: number[] = [];
  const warnings: string[] = [];
  const tracker = createTracker({ uri: fake.url, experiment: opts.experiment ?? 'exp' }, { HOME: '/nonexistent', ...opts.env }, {
    settings: { retry: { maxRetries: 3, backoffFactor: 2, backoffJitter: 1, backoffMax: 120, respectRetryAfter: true }, ...opts.settings },
    hooks: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
    onWarning: (m) => warnings.push(m),
  });
  return { tracker, sleeps, warnings };
}

const isPath = (suffix: string) => (r: RecordedRequest) => r.path.endsWith(suffix);

describe('MLflow REST client', () => {
  let fake: FakeMlflow;
  const trackers: Tracker[] = [];
  const make = (opts?: Parameters<typeof restTracker>[1]) => {
    const t = restTracker(fake, opts);
    trackers.push(t.tracker);
    return t;
  };
  before(async () => {
    fake = new FakeMlflow('/mlflow'); // a path prefix must be kept in every URL
    await fake.start();
  });
  after(async () => {
    for (const t of trackers) await t.close();
    await fake.stop();
  });

  it('runs a parent and a child run with system tags, params, metrics and an end status', async () => {
    const { tracker } = make({ env: { MLFLOW_TRACKING_USERNAME: undefined } });
    const before = fake.requests.length;
    const t0 = Date.now();
    const parent = await tracker.startRun({ runName: 'sweep' });
    const child = await tracker.startRun({ runName: 'trial-1', parentRunId: parent.runId, tags: { 'divd.trial': 't1' } });
    await child.logParams({ lr: 0.001, 'model.windows': '[4,3,2,1]' });
    await child.logMetrics({ loss: 0.25, psnr: 30.5 }, { step: 7, timestamp: 1234 });
    await child.setTags({ stage: 'train' });
    await child.end('FAILED');
    const reqs = fake.requests.slice(before);

    for (const r of reqs) {
      assert.ok(r.path.startsWith('/mlflow/api/2.0/mlflow/'), r.path);
      assert.match(String(r.headers['user-agent']), /^divd\/\S+ \(mlflow-rest; node v\d+/);
      if (r.method === 'POST') assert.equal(r.headers['content-type'], 'application/json');
    }
    assert.deepEqual(reqs.slice(0, 3).map((r) => `${r.method} ${r.path.split('/mlflow/')[2]}`), [
      'GET experiments/get-by-name',
      'POST experiments/create',
      'POST runs/create',
    ]);
    const create = fake.calls('runs/create').at(-1)!.json;
    assert.equal(create.experiment_id, child.experimentId);
    assert.ok(create.start_time >= t0 && create.start_time <= Date.now());
    assert.equal(create.run_name, 'trial-1');
    assert.equal(create.user_id, os.userInfo().username);
    const tags = Object.fromEntries(create.tags.map((t: { key: string; value: string }) => [t.key, t.value]));
    assert.equal(tags['mlflow.parentRunId'], parent.runId);
    assert.equal(tags['mlflow.runName'], 'trial-1');
    assert.equal(tags['mlflow.source.type'], 'LOCAL');
    assert.equal(tags['mlflow.user'], os.userInfo().username);
    assert.match(tags['mlflow.source.git.commit'], /^[0-9a-f]{40}$/);
    assert.equal(tags['divd.trial'], 't1');

    const run = fake.run(child.runId);
    assert.deepEqual(Object.fromEntries(run.params), { lr: '0.001', 'model.windows': '[4,3,2,1]' });
    assert.deepEqual(run.metrics, [
      { key: 'loss', value: 0.25, timestamp: 1234, step: 7 },
      { key: 'psnr', value: 30.5, timestamp: 1234, step: 7 },
    ]);
    assert.equal(run.tags.get('stage'), 'train');
    assert.equal(run.info.status, 'FAILED');
    assert.ok(run.info.end_time >= t0);
    assert.equal(fake.run(parent.runId).info.status, 'RUNNING');
    // Second tracker, same experiment: found by name, not created again.
    const again = make();
    const r2 = await again.tracker.startRun();
    assert.equal(r2.experimentId, child.experimentId);
    assert.equal(fake.calls('experiments/create').length, 1);
  });

  it('sends NaN and ±Infinity as strings and reads them back from the paged history', async () => {
    const { tracker } = make({ experiment: 'nan' });
    const run = await tracker.startRun();
    await run.logMetricPoints([
      { key: 'm', value: NaN, timestamp: 1, step: 0 },
      { key: 'm', value: Infinity, timestamp: 2, step: 1 },
      { key: 'm', value: -Infinity, timestamp: 3, step: 2 },
      { key: 'm', value: 0.5, timestamp: 4, step: 3 },
      { key: 'm', value: -0.25, timestamp: 5, step: 4 },
    ]);
    const body = fake.calls('runs/log-batch').at(-1)!.body.toString();
    assert.match(body, /"value":"NaN"/);
    assert.match(body, /"value":"Infinity"/);
    assert.match(body, /"value":"-Infinity"/);
    assert.doesNotMatch(body, /null/);

    fake.historyPageSize = 2;
    const { client } = tracker as unknown as { client: import('../src/tracking/rest/client.ts').MlflowClient };
    const before = fake.calls('metrics/get-history').length;
    const history = await client.getMetricHistory(run.runId, 'm');
    fake.historyPageSize = 25000;
    assert.deepEqual(history.map((p) => p.value), [NaN, Infinity, -Infinity, 0.5, -0.25]);
    assert.deepEqual(history.map((p) => p.step), [0, 1, 2, 3, 4]);
    const pages = fake.calls('metrics/get-history').slice(before);
    assert.equal(pages.length, 3);
    assert.deepEqual(pages.map((r) => r.query.get('max_results')), ['25000', '25000', '25000']);
    assert.deepEqual(pages.map((r) => r.query.get('page_token')), [null, 'offset-2', 'offset-4']);
  });

  it('splits log-batch exactly like the Python client: 999/1000/1001 metrics, 100/101 params, mixed', async () => {
    const { tracker } = make({ experiment: 'batch' });
    const run = await tracker.startRun();
    const shapes = async (log: () => Promise<void>) => {
      const before = fake.calls('runs/log-batch').length;
      await log();
      return fake.calls('runs/log-batch').slice(before).map((r) => [r.json.metrics?.length ?? 0, r.json.params?.length ?? 0, r.json.tags?.length ?? 0]);
    };
    const points = (n: number, key = 'x') => Array.from({ length: n }, (_, i) => ({ key, value: i, timestamp: i, step: i }));
    const params = (n: number, prefix: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, i]));
    assert.deepEqual(await shapes(() => run.logMetricPoints(points(999, 'a'))), [[999, 0, 0]]);
    assert.deepEqual(await shapes(() => run.logMetricPoints(points(1000, 'b'))), [[1000, 0, 0]]);
    assert.deepEqual(await shapes(() => run.logMetricPoints(points(1001, 'c'))), [[1000, 0, 0], [1, 0, 0]]);
    assert.deepEqual(await shapes(() => run.logParams(params(100, 'p'))), [[0, 100, 0]]);
    assert.deepEqual(await shapes(() => run.logParams(params(101, 'q'))), [[0, 100, 0], [0, 1, 0]]);
    // 150 params, 250 tags, 2000 metrics: pairs (100,100) (50,100) (0,50) topped up to 1000 entities.
    const client = (tracker as unknown as { client: import('../src/tracking/rest/client.ts').MlflowClient }).client;
    const mixed = {
      metrics: points(2000, 'd').map((p) => ({ ...p, value: p.value as number })),
      params: Array.from({ length: 150 }, (_, i) => ({ key: `r${i}`, value: String(i) })),
      tags: Array.from({ length: 250 }, (_, i) => ({ key: `t${i}`, value: String(i) })),
    };
    assert.deepEqual(await shapes(async () => void (await client.logBatch(run.runId, mixed))), [[800, 100, 100], [850, 50, 100], [350, 0, 50]]);
    const stored = fake.run(run.runId);
    assert.equal(stored.metrics.filter((m) => m.key === 'd').length, 2000);
    assert.deepEqual(stored.metrics.filter((m) => m.key === 'd').map((m) => m.step), Array.from({ length: 2000 }, (_, i) => i));
    assert.equal(stored.params.size, 100 + 101 + 150);
  });

  it('keeps every log-batch body under 1 MB with maximal param and tag values', async () => {
    const { tracker } = make({ experiment: 'big' });
    const run = await tracker.startRun();
    const before = fake.calls('runs/log-batch').length;
    await run.logParams(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${i}`, 'v'.repeat(6000)])));
    await run.setTags(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`t${i}`, 't'.repeat(8000)])));
    const client = (tracker as unknown as { client: import('../src/tracking/rest/client.ts').MlflowClient }).client;
    await client.logBatch(run.runId, {
      metrics: [],
      params: Array.from({ length: 100 }, (_, i) => ({ key: `q${i}`, value: 'v'.repeat(6000) })),
      tags: Array.from({ length: 100 }, (_, i) => ({ key: `u${i}`, value: 't'.repeat(8000) })),
    });
    const sent = fake.calls('runs/log-batch').slice(before);
    for (const r of sent) assert.ok(r.body.length < 1_000_000, `body of ${r.body.length} bytes`);
    assert.ok(sent.length >= 4); // 1.4 MB of params+tags in the last call alone needs splitting
    assert.equal(fake.run(run.runId).params.size, 200);
    assert.equal([...fake.run(run.runId).tags.keys()].filter((k) => /^[tu]\d+$/.test(k)).length, 200);
  });

  it('retries 5xx with the urllib3 backoff (0 s, then factor·2^(n−1) + jitter), POST included', async () => {
    const { tracker, sleeps } = make({ experiment: 'retry' });
    const run = await tracker.startRun();
    fake.inject(isPath('/runs/log-batch'), { status: 500, body: '{"error_code":"INTERNAL_ERROR","message":"boom"}' }, 1);
    fake.inject(isPath('/runs/log-batch'), { status: 502, body: 'bad gateway' }, 1);
    fake.inject(isPath('/runs/log-batch'), { status: 408, body: '' }, 1);
    await run.logMetrics({ loss: 1 }, { step: 1, timestamp: 1 });
    assert.deepEqual(sleeps, [0, 4500, 8500]);
    assert.equal(fake.run(run.runId).metrics.length, 1);
  });

  it('honours Retry-After (seconds or an HTTP date) on 429 and 503', async () => {
    const { tracker, sleeps } = make({ experiment: 'retry-after' });
    const run = await tracker.startRun();
    fake.inject(isPath('/runs/log-batch'), { status: 503, headers: { 'retry-after': '7' } }, 1);
    fake.inject(isPath('/runs/log-batch'), { status: 429, headers: { 'retry-after': new Date(Date.now() + 30_000).toUTCString() } }, 1);
    await run.logMetrics({ loss: 1 });
    assert.equal(sleeps.length, 2);
    assert.equal(sleeps[0], 7000);
    assert.ok(sleeps[1]! > 27_000 && sleeps[1]! <= 30_000, String(sleeps[1]));
  });

  it('retries dropped connections, then gives up with MlflowUnavailableError after 1 + maxRetries attempts', async () => {
    const { tracker, sleeps } = make({ experiment: 'drops' });
    const run = await tracker.startRun();
    fake.inject(isPath('/runs/log-batch'), 'drop', 2);
    await run.logMetrics({ ok: 1 });
    assert.equal(fake.run(run.runId).metrics.length, 1);
    sleeps.length = 0;
    const before = fake.calls('runs/log-batch').length;
    fake.inject(isPath('/runs/log-batch'), { status: 503, body: 'down for maintenance' }, 4);
    const err = await run.logMetrics({ never: 1 }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof MlflowUnavailableError, String(err));
    assert.equal(err.attempts, 4);
    assert.match(err.message, /failed after 4 attempt\(s\): HTTP 503: down for maintenance/);
    assert.equal(fake.calls('runs/log-batch').length - before, 4);
    assert.deepEqual(sleeps, [0, 4500, 8500]);
  });

  it('times out a request that gets no answer', async () => {
    const { tracker } = make({ experiment: 'timeout', settings: { timeoutMs: 200, retry: { maxRetries: 1, backoffFactor: 0, backoffJitter: 0, backoffMax: 0, respectRetryAfter: true } } });
    const run = await tracker.startRun();
    fake.inject(isPath('/runs/log-batch'), 'hang', 2);
    const t0 = Date.now();
    await assert.rejects(run.logMetrics({ x: 1 }), (e: unknown) => e instanceof MlflowUnavailableError && /Timeout/i.test(e.message));
    assert.ok(Date.now() - t0 < 5000);
  });

  it('does not retry client errors and reports plain-text 401 and HTML 404 readably', async () => {
    const { tracker } = make({ experiment: 'errors' });
    const run = await tracker.startRun();
    fake.requireAuthorization = 'Bearer right';
    const before = fake.requests.length;
    const e401 = await run.logMetrics({ x: 1 }).then(() => undefined, (e: unknown) => e);
    fake.requireAuthorization = undefined;
    assert.ok(e401 instanceof MlflowApiError);
    assert.equal(e401.status, 401);
    assert.equal(e401.errorCode, undefined);
    assert.match(e401.message, /HTTP 401: You are not authenticated\..*MLFLOW_TRACKING_USERNAME/);
    assert.equal(fake.requests.length - before, 1);

    const wrongPrefix = restTracker({ url: fake.url.replace('/mlflow', '/other') } as FakeMlflow);
    trackers.push(wrongPrefix.tracker);
    const e404 = await wrongPrefix.tracker.startRun().then(() => undefined, (e: unknown) => e);
    assert.ok(e404 instanceof MlflowApiError);
    assert.match(e404.message, /HTTP 404: 404 Not Found: The requested URL was not found on the server\./);

    // A changed param is a 400 INVALID_PARAMETER_VALUE from the server, surfaced with its message.
    const client = (tracker as unknown as { client: import('../src/tracking/rest/client.ts').MlflowClient }).client;
    await run.logParams({ lr: 1 });
    await assert.rejects(client.logBatch(run.runId, { metrics: [], params: [{ key: 'lr', value: '2' }], tags: [] }), /HTTP 400 INVALID_PARAMETER_VALUE: Changing param values is not allowed/);
  });

  it('get-or-create survives a create race and refuses a deleted experiment', async () => {
    fake.beforeCreateExperiment = (name) => {
      // Another process creates the same experiment between our get-by-name and create.
      fake.beforeCreateExperiment = undefined;
      fake.experiments.set('900', { experiment_id: '900', name, lifecycle_stage: 'active', artifact_location: 'mlflow-artifacts:/900' });
    };
    const { tracker } = make({ experiment: 'raced' });
    const run = await tracker.startRun();
    assert.equal(run.experimentId, '900');
    assert.equal(fake.calls('experiments/get-by-name').filter((r) => r.query.get('experiment_name') === 'raced').length, 2);

    fake.experiments.set('901', { experiment_id: '901', name: 'trashed', lifecycle_stage: 'deleted', artifact_location: 'mlflow-artifacts:/901' });
    const { tracker: t2 } = make({ experiment: 'trashed' });
    await assert.rejects(t2.startRun(), /experiment "trashed" \(id 901\) .* is deleted; restore it/);
  });

  it('uploads files and directories through the artifact proxy, percent-encoding each segment', async () => {
    const { tracker } = make({ experiment: 'artifacts' });
    const run = await tracker.startRun();
    const dir = await tmp();
    await fs.writeFile(path.join(dir, 'metrics file.json'), '{"psnr":31}');
    await fs.mkdir(path.join(dir, 'samples', 'seq#1'), { recursive: true });
    await fs.writeFile(path.join(dir, 'samples', 'a.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]));
    await run.logArtifact(path.join(dir, 'metrics file.json'));
    await run.logArtifact(path.join(dir, 'samples'), 'grids');
    const base = `${run.experimentId}/${run.runId}/artifacts`;
    assert.deepEqual([...fake.artifacts.keys()].filter((k) => k.startsWith(base)).sort(), [`${base}/grids/a.png`, `${base}/metrics file.json`]);
    assert.equal(fake.artifacts.get(`${base}/metrics file.json`)!.toString(), '{"psnr":31}');
    assert.deepEqual([...fake.artifacts.get(`${base}/grids/a.png`)!], [0x89, 0x50, 0x4e, 0x47, 0, 255]);
    const put = fake.requests.find((r) => r.method === 'PUT' && r.path.includes('metrics%20file.json'))!;
    assert.equal(put.path, `/mlflow/api/2.0/mlflow-artifacts/artifacts/${base}/metrics%20file.json`);
    assert.equal(put.headers['content-length'], '11');
    await assert.rejects(run.logArtifact(path.join(dir, 'metrics file.json'), '../up'), /must be relative, without '\.\.'/);
  });

  it('sends Basic auth (preferred) or Bearer auth from the environment on every request', async () => {
    fake.requireAuthorization = `Basic ${Buffer.from('ann:pw').toString('base64')}`;
    const { tracker } = make({ experiment: 'auth', env: { MLFLOW_TRACKING_USERNAME: 'ann', MLFLOW_TRACKING_PASSWORD: 'pw', MLFLOW_TRACKING_TOKEN: 'tok' } });
    const run = await tracker.startRun();
    const dir = await tmp();
    await fs.writeFile(path.join(dir, 'f.txt'), 'x');
    await run.logArtifact(path.join(dir, 'f.txt'));
    await run.end();
    fake.requireAuthorization = 'Bearer tok';
    const { tracker: t2 } = make({ experiment: 'auth', env: { MLFLOW_TRACKING_TOKEN: 'tok' } });
    await (await t2.startRun()).end();
    fake.requireAuthorization = undefined;
  });
});

describe('MLflow REST over TLS', () => {
  const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tracking-tls');
  let fake: FakeMlflow;
  before(async () => {
    const read = (f: string) => fs.readFile(path.join(fixtures, f), 'utf8');
    fake = new FakeMlflow('', { key: await read('server.key'), cert: await read('server.pem') });
    await fake.start();
  });
  after(() => fake.stop());

  it('verifies the server against MLFLOW_TRACKING_SERVER_CERT_PATH, or skips checks when told to', async () => {
    const withCa = restTracker(fake, { env: { MLFLOW_TRACKING_SERVER_CERT_PATH: path.join(fixtures, 'ca.pem') } });
    await (await withCa.tracker.startRun()).end();
    const insecure = restTracker(fake, { env: { MLFLOW_TRACKING_INSECURE_TLS: 'true' } });
    await (await insecure.tracker.startRun()).end();
    const untrusted = restTracker(fake);
    await assert.rejects(untrusted.tracker.startRun(), (e: unknown) => e instanceof MlflowUnavailableError && /cert/i.test(e.message));
    for (const t of [withCa, insecure, untrusted]) await t.tracker.close();
    assert.equal([...fake.runs.values()].length, 2);
  });
});

describe('REST client pieces', () => {
  it('backoff matches urllib3: no wait before the first retry, then 4, 8, 16 … capped at 120 s', () => {
    const policy = { maxRetries: 7, backoffFactor: 2, backoffJitter: 0, backoffMax: 120, respectRetryAfter: true };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => backoffSeconds(n, policy, Math.random)), [0, 4, 8, 16, 32, 64, 120]);
    assert.equal(backoffSeconds(2, { ...policy, backoffJitter: 1 }, () => 0.25), 4.25);
  });

  it('parses Retry-After seconds and dates', () => {
    assert.equal(parseRetryAfter(' 12 '), 12);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 10);
    assert.equal(parseRetryAfter('soon'), undefined);
  });

  it('parses JSON (extra keys ignored), plain-text and HTML error bodies', () => {
    assert.deepEqual(parseErrorBody('{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run x not found","sqlstate":"KAM00","error_class":"RESOURCE_NOT_FOUND"}'), { errorCode: 'RESOURCE_DOES_NOT_EXIST', message: 'Run x not found' });
    assert.deepEqual(parseErrorBody('Permission denied'), { message: 'Permission denied' });
    assert.deepEqual(parseErrorBody('<!doctype html>\n<html><title>405 Method Not Allowed</title><h1>x</h1><p>The method is not allowed for the requested URL.</p>'), { message: '405 Method Not Allowed: The method is not allowed for the requested URL.' });
    assert.deepEqual(parseErrorBody('{broken'), { message: '{broken' });
  });

  it('maps artifact URIs as mlflow.md §8 describes', () => {
    assert.deepEqual(resolveArtifactTarget('http://127.0.0.1:5055', 'mlflow-artifacts:/1/abc/artifacts', 'out/m.json'), { kind: 'http', url: 'http://127.0.0.1:5055/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/out/m.json' });
    assert.deepEqual(resolveArtifactTarget('https://h/prefix', 'mlflow-artifacts:/1/abc/artifacts', 'a b'), { kind: 'http', url: 'https://h/prefix/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/a%20b' });
    assert.deepEqual(resolveArtifactTarget('http://h:1', 'mlflow-artifacts://other:9/1/abc/artifacts', 'x'), { kind: 'http', url: 'http://other:9/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/x' });
    assert.deepEqual(resolveArtifactTarget('http://h', 'https://store/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts', 'x'), { kind: 'http', url: 'https://store/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/x' });
    assert.deepEqual(resolveArtifactTarget('http://h', 'file:///srv/ml%20runs/1/r/artifacts', 'd/x'), { kind: 'local', path: '/srv/ml runs/1/r/artifacts/d/x' });
    assert.throws(() => resolveArtifactTarget('http://h', 's3://bucket/1/r/artifacts', 'x'), /uses 's3:'.*--serve-artifacts/);
  });

  it('reads auth and retry settings from MLflow environment variables, rejecting bad values by name', async () => {
    assert.equal(authorizationHeader({ MLFLOW_TRACKING_TOKEN: 't' }, '/nonexistent'), 'Bearer t');
    assert.equal(authorizationHeader({ MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p', MLFLOW_TRACKING_TOKEN: 't' }, '/nonexistent'), `Basic ${Buffer.from('u:p').toString('base64')}`);
    const home = await tmp();
    await fs.mkdir(path.join(home, '.mlflow'));
    await fs.writeFile(path.join(home, '.mlflow', 'credentials'), '[other]\nmlflow_tracking_username = no\n[mlflow]\nmlflow_tracking_username = fileuser\nmlflow_tracking_password = filepw\n');
    assert.equal(authorizationHeader({}, home), `Basic ${Buffer.from('fileuser:filepw').toString('base64')}`);
    const s = httpSettingsFromEnv({ HOME: '/nonexistent' });
    assert.deepEqual(s.retry, { maxRetries: 7, backoffFactor: 2, backoffJitter: 1, backoffMax: 120, respectRetryAfter: true });
    assert.equal(s.timeoutMs, 120_000);
    assert.equal(httpSettingsFromEnv({ MLFLOW_HTTP_REQUEST_TIMEOUT: '5', MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' }).timeoutMs, 5000);
    assert.throws(() => httpSettingsFromEnv({ MLFLOW_HTTP_REQUEST_MAX_RETRIES: '11' }), /MLFLOW_HTTP_REQUEST_MAX_RETRIES="11": expected an integer from 0 to 10/);
    assert.throws(() => httpSettingsFromEnv({ MLFLOW_TRACKING_INSECURE_TLS: 'maybe' }), /MLFLOW_TRACKING_INSECURE_TLS/);
    assert.throws(() => httpSettingsFromEnv({ MLFLOW_TRACKING_SERVER_CERT_PATH: '/nonexistent/ca.pem' }), /MLFLOW_TRACKING_SERVER_CERT_PATH=\/nonexistent\/ca.pem: cannot read it/);
  });

  it('chooses the tracker from the config, then MLFLOW_TRACKING_URI, defaulting to ./mlruns', () => {
    assert.deepEqual(resolveTracking({}, {}), { kind: 'filestore', root: path.resolve('mlruns'), experiment: 'Default' });
    assert.deepEqual(resolveTracking({}, { MLFLOW_TRACKING_URI: 'http://h:5000/p/', MLFLOW_EXPERIMENT_NAME: 'e' }), { kind: 'mlflow-rest', url: 'http://h:5000/p', experiment: 'e' });
    assert.deepEqual(resolveTracking({}, { MLFLOW_TRACKING_URI: 'https://h', MLFLOW_EXPERIMENT_ID: '12' }), { kind: 'mlflow-rest', url: 'https://h', experiment: 'Default', experimentId: '12' });
    assert.deepEqual(resolveTracking({ uri: 'file:///tmp/x', experiment: 'a' }, { MLFLOW_TRACKING_URI: 'http://ignored' }), { kind: 'filestore', root: '/tmp/x', experiment: 'a' });
    assert.deepEqual(resolveTracking({ uri: 'none' }), { kind: 'none' });
    assert.throws(() => resolveTracking({ uri: 'sqlite:///mlflow.db' }), /scheme 'sqlite:' is not supported.*mlflow server --backend-store-uri sqlite:\/\/\/mlflow.db/);
    assert.equal(createTracker({ uri: 'none' }).kind, 'none');
  });
});
