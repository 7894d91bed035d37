/**
 * The training benchmark's PyTorch port has divd's architecture (same parameter count, same prediction for the
 * same weights), and `npm run bench -- train --json` ends with the documented JSON line. Needs /usr/bin/python3
 * with torch; without it the tests skip and say why.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBackend } from './helpers/backends.ts';
import { PYTHON, type CaseResult, type JsonSummary } from '../bench/train.ts';
import { trainCase } from '../bench/train-cases.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const torchProbe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const noTorch = torchProbe.status === 0 ? false : `${PYTHON} cannot import torch (${(torchProbe.stderr ?? torchProbe.error?.message ?? '').trim().split('\n').pop()})`;
if (noTorch) process.stdout.write(`# skipping bench-train tests: ${noTorch}\n`);

before(async () => {
  await useBackend('cpu');
});

function portParameters(model: unknown): number {
  const code = 'import json, sys; from divd_unet import DivdUNet; m = DivdUNet(json.loads(sys.argv[1])); print(sum(p.numel() for p in m.parameters()))';
  const r = spawnSync(PYTHON, ['-c', code, JSON.stringify(model)], { cwd: path.join(root, 'bench', 'reference'), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

test('the PyTorch port has as many parameters as divd for the smoke and the reference model', { skip: noTorch }, () => {
  for (const name of ['smoke', 'reference'] as const) {
    const c = trainCase(name);
    assert.ok(c.parameters > 10_000, `${name}: ${c.parameters} parameters`);
    assert.equal(portParameters(c.model), c.parameters, `${name} parameter count`);
  }
});

test('the port counts differently when the architecture differs (the check can fail)', { skip: noTorch }, () => {
  const c = trainCase('smoke');
  assert.notEqual(portParameters({ ...c.model, mrpe: { framePE: false, relBias: true } }), c.parameters);
});

test('bench train --json (smoke, 1 thread): outputs agree with the port and the last line is the summary', { skip: noTorch, timeout: 180_000 }, () => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'bench/index.ts', 'train', '--json', '--cases', 'smoke', '--threads', '1', '--steps', '2', '--warmup', '1'],
    { cwd: root, encoding: 'utf8', maxBuffer: 16 << 20 },
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const summary = JSON.parse(lines.at(-1)!) as JsonSummary;
  assert.deepEqual(Object.keys(summary), ['divd_ms', 'torch_ms', 'ratio', 'threads', 'peak_rss_mb']);
  const { results } = JSON.parse(lines.at(-2)!) as { results: CaseResult[] };
  const run = results[0]!;
  assert.equal(run.name, 'smoke');
  assert.equal(summary.threads, 1);
  assert.ok(summary.divd_ms! > 0 && summary.torch_ms! > 0);
  assert.ok(Math.abs(summary.ratio! - summary.divd_ms! / summary.torch_ms!) < 0.01 * summary.ratio!);
  assert.ok(summary.peak_rss_mb! > 50, `peak RSS ${summary.peak_rss_mb} MB`);
  assert.ok(run.divd!.wasmHeapMb! > 0 && run.divd!.sampleFps! > 0 && run.torch!.sampleFps! > 0);
  // One prediction with the same random weights: the port computes what divd computes.
  assert.ok(run.torch!.agreement! < 1e-4, `agreement ${run.torch!.agreement}`);
});

test('bench train rejects an unknown --only value with exit code 2', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/index.ts', 'train', '--only', 'jax'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--only: expected divd or torch/);
});
