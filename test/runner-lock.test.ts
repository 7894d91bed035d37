/**
 * Lock files keep two processes out of one trial's run directory (and out of one Slurm submission): a live
 * holder is named in the error, a crashed one's lock is taken over, a holder on another host is waited for
 * until its heartbeat stops.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireLock, type LockHolder } from '../src/runner/lock.ts';
import { UsageError } from '../src/errors.ts';
import { TINY_BASE } from './helpers/tiny-spec.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function writeHolder(file: string, holder: Partial<LockHolder>, ageSeconds = 0): void {
  fs.writeFileSync(file, JSON.stringify({ startedAt: '2026-01-01T00:00:00.000Z', purpose: 'trial x (abc)', ...holder }));
  const t = new Date(Date.now() - ageSeconds * 1000);
  fs.utimesSync(file, t, t);
}

const holderIn = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;

/** A pid that existed on this host and has ended. */
function endedPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('lock files', () => {
  let tmp: string;
  let sleeper: ChildProcess;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-lock-'));
    sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  });
  after(() => {
    sleeper.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('takes a free lock, records who holds it, and removes it on release', async () => {
    const file = path.join(tmp, 'free.lock');
    const release = await acquireLock(file, 'trial a (1)');
    const h = holderIn(file);
    assert.equal(h.pid, process.pid);
    assert.equal(h.host, os.hostname());
    assert.equal(h.purpose, 'trial a (1)');
    release();
    assert.ok(!fs.existsSync(file));
    release(); // twice is harmless
    const again = await acquireLock(file, 'trial a (1)');
    again();
  });

  it('a live holder on this host: a usage error naming its pid, what it does and the lock file; the lock is untouched', async () => {
    const file = path.join(tmp, 'live.lock');
    writeHolder(file, { pid: sleeper.pid!, host: os.hostname() }, 3600); // old mtime does not matter on the same host
    await assert.rejects(acquireLock(file, 'trial b (2)'), (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, new RegExp(`trial x \\(abc\\) is already running \\(pid ${sleeper.pid} on `));
      assert.ok(e.message.includes(file), e.message);
      return true;
    });
    assert.equal(holderIn(file).pid, sleeper.pid);
  });

  it('a holder on this host whose process has ended is stale: the lock is taken over', async () => {
    const file = path.join(tmp, 'crashed.lock');
    writeHolder(file, { pid: endedPid(), host: os.hostname() });
    const release = await acquireLock(file, 'trial c (3)');
    assert.equal(holderIn(file).pid, process.pid);
    release();
    assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith('crashed.lock.stale')), [], 'nothing left aside');
  });

  it('another host: refused while its heartbeat is fresh, taken once it is older than staleAfterMs', async () => {
    const file = path.join(tmp, 'remote.lock');
    writeHolder(file, { pid: 1, host: 'node-17.cluster' });
    await assert.rejects(acquireLock(file, 'trial d (4)', { staleAfterMs: 60_000 }), /pid 1 on node-17\.cluster/);
    writeHolder(file, { pid: 1, host: 'node-17.cluster' }, 120);
    const release = await acquireLock(file, 'trial d (4)', { staleAfterMs: 60_000 });
    assert.equal(holderIn(file).host, os.hostname());
    release();
  });

  it('another host that stops beating is waited for when waitMs allows (a requeued Slurm task)', async () => {
    const file = path.join(tmp, 'requeue.lock');
    writeHolder(file, { pid: 1, host: 'node-3.cluster' });
    const started = Date.now();
    const release = await acquireLock(file, 'trial e (5)', { staleAfterMs: 400, waitMs: 5000 });
    assert.ok(Date.now() - started >= 300, 'waited for the heartbeat to go stale');
    assert.equal(holderIn(file).pid, process.pid);
    release();
  });

  it('the holder keeps its lock fresh (heartbeat), so others on another host would not take it', async () => {
    const file = path.join(tmp, 'beat.lock');
    const release = await acquireLock(file, 'trial f (6)', { heartbeatMs: 50 });
    const old = new Date(Date.now() - 3600_000);
    fs.utimesSync(file, old, old);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(Date.now() - fs.statSync(file).mtimeMs < 1000, 'mtime touched by the heartbeat');
    release();
  });

  it('release never removes a lock someone else holds now', async () => {
    const file = path.join(tmp, 'replaced.lock');
    const release = await acquireLock(file, 'trial g (7)');
    writeHolder(file, { pid: sleeper.pid!, host: os.hostname() });
    release();
    assert.equal(holderIn(file).pid, sleeper.pid);
  });

  it('an unreadable lock file: waited on while young (being written), taken once old (a crash mid-write)', async () => {
    const file = path.join(tmp, 'torn.lock');
    fs.writeFileSync(file, '{"pid": 12');
    const t = new Date(Date.now() - 60_000);
    fs.utimesSync(file, t, t);
    const release = await acquireLock(file, 'trial h (8)');
    assert.equal(holderIn(file).pid, process.pid);
    release();
  });
});

describe('trial run directories are locked', () => {
  let tmp: string;
  let sleeper: ChildProcess;
  const SPEC = `
name: locked
base:
${TINY_BASE}
  sample: { sampler: ddim, steps: 2, eta: 0, seed: 0 }
  train: { steps: 2, batch: 1, lr: 0.001, warmupSteps: 1, ema: 0.9, checkpointEvery: 2, keepLast: 1, validateEvery: 2 }
  eval: { metrics: [psnr] }
  tracking: { uri: ./mlruns }
  report: { enabled: false }
`;
  const divd = (args: string[]) =>
    spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, DIVD_DATA_CACHE: path.join(tmp, 'data-cache'), DIVD_THREADS: '1', MLFLOW_TRACKING_URI: '' },
    });
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-trial-lock-'));
    fs.writeFileSync(path.join(tmp, 'spec.yaml'), SPEC);
    sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  });
  after(() => {
    sleeper.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('divd train --trial refuses a trial another live process holds (exit 2), divd trial reports it failed; its status is left alone', () => {
    const first = divd(['trial', 'spec.yaml', '--id', 'base', '--quiet']);
    assert.equal(first.status, 0, first.stderr);
    const [id] = fs.readdirSync(path.join(tmp, 'runs/locked'));
    const runDir = path.join(tmp, 'runs/locked', id!);
    assert.ok(!fs.existsSync(path.join(runDir, '.lock')), 'released when the trial ended');
    const statusBefore = fs.readFileSync(path.join(runDir, 'status.json'), 'utf8');

    writeHolder(path.join(runDir, '.lock'), { pid: sleeper.pid!, host: os.hostname(), purpose: `trial base (${id})` });
    const train = divd(['train', '--trial', runDir]);
    assert.equal(train.status, 2, train.stderr);
    assert.match(train.stderr, new RegExp(`trial base \\(${id}\\) is already running \\(pid ${sleeper.pid}`));
    // Not finished any more (metrics gone), so `divd trial` would run it: the lock stops it before any write.
    fs.rmSync(path.join(runDir, 'metrics.json'));
    const again = divd(['trial', 'spec.yaml', '--id', 'base', '--json']);
    assert.equal(again.status, 1, again.stderr);
    const outcome = JSON.parse(again.stdout.trim().split('\n').pop()!) as { state: string; error: string };
    assert.equal(outcome.state, 'failed');
    assert.match(outcome.error, /is already running/);
    assert.equal(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8'), statusBefore, 'status.json untouched');
  });
});
