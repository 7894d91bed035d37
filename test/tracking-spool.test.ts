import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTracker, syncSpools, type Tracker } from '../src/tracking/index.ts';
import type { HttpSettings } from '../src/tracking/rest/settings.ts';
import { ACK_FILE, SPOOL_FILE } from '../src/tracking/spool/spool.ts';
import { FakeMlflow, type RecordedRequest } from './helpers/tracking-fake-mlflow.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), 'divd-spool-'));
const fast: Partial<HttpSettings> = { retry: { maxRetries: 1, backoffFactor: 0, backoffJitter: 0, backoffMax: 0, respectRetryAfter: true } };
const noRetry: Partial<HttpSettings> = { retry: { ...fast.retry!, maxRetries: 0 } };
const hooks = { sleep: async () => {}, random: () => 0 };

/** A URL nothing listens on: every connection is refused. */
async function deadUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

function tracker(url: string, warnings: string[] = []): Tracker {
  return createTracker({ uri: url, experiment: 'deblur' }, { HOME: '/nonexistent' }, { settings: fast, hooks, onWarning: (m) => warnings.push(m) });
}

/** What a sweep with one trial logs; returns the parent and child run ids the trial saw. */
async function sweep(t: Tracker, runsDir: string, artifact: string) {
  const parent = await t.startRun({ runName: 'sweep', runDir: path.join(runsDir, 'deblur'), startTime: 1000 });
  const child = await t.startRun({ runName: 'trial-1', parentRunId: parent.runId, runDir: path.join(runsDir, 'deblur', 't1'), startTime: 2000, tags: { 'divd.trial': 't1' } });
  await child.logParams({ lr: 0.0002, 'model.windows': '[4,3,2,1]' });
  for (let step = 1; step <= 5; step++) await child.logMetrics({ loss: 1 / step, psnr: step === 3 ? NaN : 20 + step }, { step, timestamp: 10_000 + step });
  await child.logMetricPoints(Array.from({ length: 2500 }, (_, i) => ({ key: 'curve', value: Math.sin(i), timestamp: 20_000 + i, step: i })));
  await child.setTags({ stage: 'eval' });
  await child.logArtifact(artifact, 'config');
  await child.end('FINISHED');
  await parent.end('FINISHED');
  return { parent: parent.runId, child: child.runId };
}

/** A server-side run with ids that differ between servers replaced by stable names. */
function snapshot(fake: FakeMlflow, runId: string, parentId?: string) {
  const run = fake.run(runId);
  const tags = Object.fromEntries([...run.tags].filter(([k]) => k !== 'divd.spoolRunId').map(([k, v]) => [k, k === 'mlflow.parentRunId' && v === parentId ? 'PARENT' : v]));
  const prefix = `${run.info.experiment_id}/${runId}/artifacts/`;
  return {
    status: run.info.status,
    start_time: run.info.start_time,
    has_end_time: typeof run.info.end_time === 'number',
    run_name: run.info.run_name,
    user_id: run.info.user_id,
    params: Object.fromEntries([...run.params].sort()),
    tags,
    metrics: run.metrics,
    artifacts: Object.fromEntries([...fake.artifacts].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v.toString()])),
  };
}

const runIdsByName = (fake: FakeMlflow, name: string) => [...fake.runs.values()].filter((r) => r.info.run_name === name).map((r) => r.info.run_id as string);

describe('tracking spool and divd sync', () => {
  let live: FakeMlflow;
  let liveIds: { parent: string; child: string };
  let artifact: string;
  const servers: FakeMlflow[] = [];
  const fresh = async () => {
    const f = new FakeMlflow();
    await f.start();
    servers.push(f);
    return f;
  };

  before(async () => {
    const dir = await tmp();
    artifact = path.join(dir, 'config.json');
    await fs.writeFile(artifact, '{"model":{"windows":[4,3,2,1]}}');
    live = await fresh();
    const t = tracker(live.url);
    liveIds = await sweep(t, path.join(dir, 'runs'), artifact);
    await t.close();
  });
  after(async () => {
    for (const s of servers) await s.stop();
  });

  it('server down for the whole sweep: everything is spooled, and sync makes the server hold what live logging would have', async () => {
    const dir = await tmp();
    const runsDir = path.join(dir, 'runs');
    const warnings: string[] = [];
    const t = tracker(await deadUrl(), warnings);
    const ids = await sweep(t, runsDir, artifact);
    await t.close();
    assert.match(ids.parent, /^local-[0-9a-f]{32}$/);
    assert.match(warnings.join('\n'), /ECONNREFUSED[\s\S]*spooling tracking records to .*tracking-spool\.jsonl/);
    const childSpool = (await fs.readFile(path.join(runsDir, 'deblur', 't1', SPOOL_FILE), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(childSpool.map((r) => r.op), ['create', 'batch', 'batch', 'batch', 'batch', 'batch', 'batch', 'batch', 'batch', 'artifact', 'update']);
    assert.deepEqual(childSpool.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

    const server = await fresh();
    const syncStart = Date.now();
    const report = await syncSpools(runsDir, { url: server.url, settings: fast, hooks, env: {} });
    assert.deepEqual(report.failed, []);
    assert.deepEqual(report.blocked, []);
    assert.equal(report.replayed, 2 + 11); // parent create + update, and the child's 11 records
    const [parentId] = runIdsByName(server, 'sweep');
    const [childId] = runIdsByName(server, 'trial-1');
    assert.deepEqual(snapshot(server, parentId!), snapshot(live, liveIds.parent));
    assert.deepEqual(snapshot(server, childId!, parentId), snapshot(live, liveIds.child, liveIds.parent));
    assert.ok(server.run(childId!).info.end_time < syncStart, 'end_time is when the trial ended, not when it synced');
    // tracking.json now names the server's run, so a restarted trial continues it.
    assert.equal(JSON.parse(await fs.readFile(path.join(runsDir, 'deblur', 't1', 'tracking.json'), 'utf8')).runId, childId);

    // Idempotent: a second sync sends nothing at all.
    const before = server.requests.length;
    const again = await syncSpools(runsDir, { url: server.url, settings: fast, hooks, env: {} });
    assert.equal(again.replayed, 0);
    assert.equal(server.requests.length, before);
  });

  it('a sync interrupted after the server stored a create or part of a batch never duplicates anything', async () => {
    const runsDir = path.join(await tmp(), 'runs');
    const t = tracker(await deadUrl());
    await sweep(t, runsDir, artifact);
    await t.close();
    const server = await fresh();
    const sync = () => syncSpools(runsDir, { url: server.url, settings: noRetry, hooks, env: {} });
    const childCreate = (r: RecordedRequest) => r.path.endsWith('/runs/create') && r.json?.run_name === 'trial-1';
    const curveBatches = (r: RecordedRequest) => r.path.endsWith('/runs/log-batch') && r.json?.metrics?.[0]?.key === 'curve';

    server.inject(childCreate, 'lose-response', 1);
    const first = await sync();
    assert.equal(first.failed.length, 1);
    assert.equal(runIdsByName(server, 'trial-1').length, 1); // the server made the run; we never heard back

    // Second of the three requests the 2500-point record needs: stored by the server, response lost.
    let seen = 0;
    server.inject((r) => curveBatches(r) && ++seen === 2, 'lose-response', 1);
    const second = await sync();
    assert.equal(second.failed.length, 1);
    const [childId] = runIdsByName(server, 'trial-1');
    assert.equal(server.run(childId!).metrics.filter((m) => m.key === 'curve').length, 2000);

    const third = await sync();
    assert.deepEqual(third.failed, []);
    assert.equal(third.duplicatesSkipped, 2000);
    assert.equal(runIdsByName(server, 'trial-1').length, 1);
    const [parentId] = runIdsByName(server, 'sweep');
    assert.deepEqual(snapshot(server, childId!, parentId), snapshot(live, liveIds.child, liveIds.parent));
  });

  it('a run that loses the server midway spools the rest in order; sync completes it', async () => {
    const runsDir = path.join(await tmp(), 'runs');
    const server = await fresh();
    const warnings: string[] = [];
    const t = tracker(server.url, warnings);
    const run = await t.startRun({ runName: 'flaky', runDir: path.join(runsDir, 'x') });
    await run.logMetrics({ loss: 3 }, { step: 1, timestamp: 1 });
    server.inject((r) => r.path.endsWith('/runs/log-batch'), { status: 503, body: 'overloaded' }, 2);
    await run.logMetrics({ loss: 2 }, { step: 2, timestamp: 2 }); // both attempts fail: spooled
    await run.logMetrics({ loss: 1 }, { step: 3, timestamp: 3 }); // spooled too, to keep the order
    await run.end('FINISHED');
    await t.close();
    assert.equal(warnings.filter((w) => /spooling/.test(w)).length, 1);
    assert.match(warnings.join('\n'), /divd sync/);
    assert.deepEqual(server.run(run.runId).metrics.map((m) => m.value), [3]);
    assert.equal(server.run(run.runId).info.status, 'RUNNING');

    const report = await syncSpools(runsDir, { settings: fast, hooks, env: {} }); // records name this server
    assert.equal(report.replayed, 3);
    assert.deepEqual(server.run(run.runId).metrics.map((m) => [m.step, m.value]), [[1, 3], [2, 2], [3, 1]]);
    assert.equal(server.run(run.runId).info.status, 'FINISHED');
    const acks = (await fs.readFile(path.join(runsDir, 'x', ACK_FILE), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).seq);
    assert.deepEqual(acks, [1, 2, 3]);
  });

  it('a spooling run catches up by itself once the server answers again, keeping the order', async () => {
    const runsDir = path.join(await tmp(), 'runs');
    const server = await fresh();
    const warnings: string[] = [];
    const t = createTracker({ uri: server.url, experiment: 'deblur' }, { HOME: '/nonexistent' }, { settings: fast, hooks, onWarning: (m) => warnings.push(m), recoverAfterMs: 0 });
    const run = await t.startRun({ runName: 'recovering', runDir: path.join(runsDir, 'r') });
    server.inject((r) => r.path.endsWith('/runs/log-batch'), { status: 503 }, 3); // 2 attempts, then 1 failed probe
    await run.logMetrics({ loss: 3 }, { step: 1, timestamp: 1 }); // spooled
    await run.logMetrics({ loss: 2 }, { step: 2, timestamp: 2 }); // probe fails: spooled
    assert.deepEqual(server.run(run.runId).metrics, []);
    await run.logMetrics({ loss: 1 }, { step: 3, timestamp: 3 }); // probe replays steps 1–2, then live
    await run.end();
    await t.close();
    assert.deepEqual(server.run(run.runId).metrics.map((m) => m.step), [1, 2, 3]);
    assert.equal(server.run(run.runId).info.status, 'FINISHED');
    assert.match(warnings.join('\n'), /reachable again; replayed 2 spooled record\(s\), logging live/);
    const report = await syncSpools(runsDir, { settings: fast, hooks, env: {} });
    assert.equal(report.replayed, 0);
  });

  it('a child of a parent that exists only in a spool is spooled too, and sync nests it under the real parent', async () => {
    const runsDir = path.join(await tmp(), 'runs');
    const down = tracker(await deadUrl());
    // The child's directory sorts first, so sync must defer it until the parent exists.
    const parent = await down.startRun({ runName: 'offline-sweep', runDir: path.join(runsDir, 'z-sweep') });
    await down.close();
    const server = await fresh();
    const up = tracker(server.url);
    const child = await up.startRun({ runName: 'child', parentRunId: parent.runId, runDir: path.join(runsDir, 'a-child') });
    await child.logMetrics({ loss: 1 }, { step: 1, timestamp: 1 });
    await child.end();
    await up.close();
    assert.match(child.runId, /^local-/);
    assert.equal(server.runs.size, 0);
    const report = await syncSpools(runsDir, { url: server.url, settings: fast, hooks, env: {} });
    assert.deepEqual([report.failed, report.blocked], [[], []]);
    const [parentId] = runIdsByName(server, 'offline-sweep');
    const [childId] = runIdsByName(server, 'child');
    assert.equal(server.run(childId!).tags.get('mlflow.parentRunId'), parentId);
    assert.deepEqual(server.run(childId!).metrics.map((m) => m.value), [1]);
  });

  it('a trial restarted after a crash reattaches: its spool is replayed and the same run continues live', async () => {
    const runsDir = path.join(await tmp(), 'runs');
    const trialDir = path.join(runsDir, 'e', 't9');
    const down = tracker(await deadUrl());
    const first = await down.startRun({ runName: 't9', runDir: trialDir, startTime: 5 });
    await first.logMetrics({ loss: 9 }, { step: 1, timestamp: 100 });
    await down.close(); // the process dies here, without end()

    const server = await fresh();
    const state = JSON.parse(await fs.readFile(path.join(trialDir, 'tracking.json'), 'utf8'));
    state.location = server.url; // the server came back on another port
    await fs.writeFile(path.join(trialDir, 'tracking.json'), JSON.stringify(state));
    const spool = (await fs.readFile(path.join(trialDir, SPOOL_FILE), 'utf8')).replaceAll(/"url":"[^"]+"/g, `"url":"${server.url}"`);
    await fs.writeFile(path.join(trialDir, SPOOL_FILE), spool);

    const up = tracker(server.url);
    const second = await up.startRun({ runName: 't9', runDir: trialDir });
    assert.equal(second.resumed, true);
    assert.match(second.runId, /^[0-9a-f]{32}$/);
    await second.logMetrics({ loss: 8 }, { step: 2, timestamp: 200 });
    await second.end();
    await up.close();
    assert.equal(server.runs.size, 1);
    const run = server.run(second.runId);
    assert.equal(run.info.start_time, 5);
    assert.deepEqual(run.metrics.map((m) => m.value), [9, 8]);
    assert.equal(run.info.status, 'FINISHED');
    assert.equal(JSON.parse(await fs.readFile(path.join(trialDir, 'tracking.json'), 'utf8')).runId, second.runId);
  });

  it('divd sync replays from the command line and exits 2 for a missing directory', async () => {
    const runsDir = path.join(await tmp(), 'runs');
    const t = tracker(await deadUrl());
    const run = await t.startRun({ runName: 'cli', runDir: path.join(runsDir, 'a') });
    await run.logParams({ k: 'v' });
    await run.end();
    await t.close();
    const server = await fresh();
    const divd = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        // async spawn: the fake server lives in this process and must keep answering
        import('node:child_process').then(({ spawn }) => {
          const p = spawn(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], { cwd: root, env: { ...process.env, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' } });
          let stdout = '';
          let stderr = '';
          p.stdout.on('data', (d) => (stdout += d));
          p.stderr.on('data', (d) => (stderr += d));
          p.on('exit', (status) => resolve({ status, stdout, stderr }));
        });
      });
    const r = await divd(['sync', runsDir, '--tracking-uri', server.url]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /1 spool\(s\) under .*: 3 record\(s\) replayed/);
    assert.equal(server.run(runIdsByName(server, 'cli')[0]!).params.get('k'), 'v');
    const missing = spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), 'sync', path.join(runsDir, 'nope')], { cwd: root, encoding: 'utf8' });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /runs directory .*nope does not exist/);
  });
});
