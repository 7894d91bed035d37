/**
 * divd's wasm kernels follow a restarted backend: after shutdownBackend and a new initBackend (a new
 * emscripten module with a new memory), the kernels are instantiated again on the new heap instead of
 * writing into the old one. Runs test/fixtures/kernels-restart.ts in its own process (the other tests share
 * one backend).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const SCRIPT = path.join(root, 'test', 'fixtures', 'kernels-restart.ts');

describe('wasm kernels after a backend restart', () => {
  it('run on the new heap and give the same values', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { n: number; diff: number; finite: boolean };
    assert.ok(out.n > 0 && out.finite);
    assert.equal(out.diff, 0);
  });
});
