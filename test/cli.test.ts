import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const divd = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000, // a process kept alive by pthread workers would hit this
    env: { ...process.env, DIVD_BACKEND: '', ...env },
  });

describe('divd doctor', () => {
  it('--json reports the backend, threads and SIMD, exits 0 and terminates by itself', () => {
    const r = divd(['doctor', '--json'], { DIVD_BACKEND: 'auto' });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      backend: { name: string; threads: number; simd: boolean };
      backends: { name: string }[];
    };
    assert.equal(report.ok, true);
    assert.ok(['wasm', 'tensorflow', 'tensorflow-gpu'].includes(report.backend.name));
    if (report.backend.name === 'wasm') {
      assert.equal(report.backend.threads, os.availableParallelism());
      assert.equal(report.backend.simd, true);
    }
    assert.equal(report.backends.length, 4);
  });

  it('text output names the chosen backend and the optional pieces', () => {
    const r = divd(['doctor', '--threads', '1', '--backend', 'wasm']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /backend\s+wasm: 1 thread\(s\), SIMD yes/);
    for (const piece of ['ffmpeg', 'chromium', 'weights', 'tracking']) assert.match(r.stdout, new RegExp(piece));
  });

  it('an unknown backend exits 2 and lists every backend with its reason', () => {
    const r = divd(['doctor', '--backend', 'quantum']);
    assert.equal(r.status, 2);
    for (const name of ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']) assert.match(r.stderr, new RegExp(name));
  });

  it('DIVD_BACKEND is honoured and validated', () => {
    assert.equal(divd(['doctor', '--json'], { DIVD_BACKEND: 'nope' }).status, 2);
    const r = divd(['doctor', '--json'], { DIVD_BACKEND: 'cpu' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { backend: { name: string } }).backend.name, 'cpu');
  });

  it('bad flags exit 2', () => {
    assert.equal(divd(['doctor', '--threads', 'many']).status, 2);
    assert.equal(divd(['no-such-command']).status, 2);
  });

  it('--help teaches', () => {
    const r = divd(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /doctor/);
  });
});
