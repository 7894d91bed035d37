import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkpointFileName } from '../src/train/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const divd = (args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

interface PlanJson {
  name: string;
  spec: string;
  trials: { id: string; label: string; status: string; swept: Record<string, unknown>; statusFile: Record<string, unknown> | null; runDir: string; reusesTraining?: string }[];
  counts: Record<string, number>;
  pendingTrainSteps: number;
}

describe('divd plan', () => {
  let tmp = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-plan-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('--json prints one object with every trial pending, and exits 0', () => {
    const r = divd(['plan', 'experiments/ablation-windows-cpu.yaml', '--json', '--runs', tmp]);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as PlanJson;
    assert.equal(report.name, 'ablation-windows-cpu');
    assert.equal(report.trials.length, 3);
    for (const t of report.trials) {
      assert.match(t.id, /^[0-9a-f]{10}$/);
      assert.equal(t.status, 'pending');
      assert.equal(t.statusFile, null);
      assert.equal(t.runDir, path.join(tmp, 'ablation-windows-cpu', t.id));
    }
    assert.deepEqual(report.trials.map((t) => t.swept['model.windows']), [[2, 1, 1], [4, 2, 1], [8, 4, 2]]);
    assert.deepEqual(report.counts, { pending: 3 });
    assert.equal(report.pendingTrainSteps, 3 * 4000);
  });

  it('reads the stage from runs/<experiment>/<id>/status.json', () => {
    const first = (JSON.parse(divd(['plan', 'experiments/ablation-mrpe-cpu.yaml', '--json', '--runs', tmp]).stdout) as PlanJson).trials;
    const dir = path.join(tmp, 'ablation-mrpe-cpu', first[1].id);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ stage: 'done', step: 400 }));
    const r = divd(['plan', 'experiments/ablation-mrpe-cpu.yaml', '--json', '--runs', tmp]);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as PlanJson;
    assert.equal(report.trials[1].status, 'done');
    assert.deepEqual(report.trials[1].statusFile, { stage: 'done', step: 400 });
    assert.deepEqual(report.counts, { pending: 3, done: 1 });
    assert.equal(report.pendingTrainSteps, 3 * 4000);
  });

  it('a trial with a trained twin in another experiment counts no training steps and names the twin', () => {
    const runs = fs.mkdtempSync(path.join(tmp, 'twins-'));
    const ids = (JSON.parse(divd(['plan', 'experiments/ablation-windows-cpu.yaml', '--json', '--runs', runs]).stdout) as PlanJson).trials.map((t) => t.id);
    // A finished twin of the second trial; a twin of the third that stopped short of its last step is no twin.
    const twin = path.join(runs, 'another-study', ids[1]!);
    fs.mkdirSync(path.join(twin, 'checkpoints'), { recursive: true });
    fs.writeFileSync(path.join(twin, 'status.json'), JSON.stringify({ stage: 'done', step: 4000 }));
    fs.writeFileSync(path.join(twin, 'checkpoints', checkpointFileName(4000)), 'x');
    const short = path.join(runs, 'another-study', ids[2]!);
    fs.mkdirSync(path.join(short, 'checkpoints'), { recursive: true });
    fs.writeFileSync(path.join(short, 'status.json'), JSON.stringify({ stage: 'failed', step: 600 }));
    fs.writeFileSync(path.join(short, 'checkpoints', checkpointFileName(600)), 'x');
    const report = JSON.parse(divd(['plan', 'experiments/ablation-windows-cpu.yaml', '--json', '--runs', runs]).stdout) as PlanJson;
    assert.deepEqual(report.trials.map((t) => t.reusesTraining), [undefined, twin, undefined]);
    assert.equal(report.pendingTrainSteps, 2 * 4000);
    const text = divd(['plan', 'experiments/ablation-windows-cpu.yaml', '--runs', runs]);
    assert.equal(text.status, 0, text.stderr);
    assert.ok(text.stdout.includes(`${ids[1]} takes its training from ${twin}`), text.stdout);
    assert.match(text.stdout, /work left: 8,000 training steps/);
    // Reuse switched off: every trial trains.
    const off = spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), 'plan', 'experiments/ablation-windows-cpu.yaml', '--json', '--runs', runs], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, DIVD_REUSE_TRAINING: '0' },
    });
    assert.equal((JSON.parse(off.stdout) as PlanJson).pendingTrainSteps, 3 * 4000);
  });

  it('text output lists id, status, label and swept values', () => {
    const r = divd(['plan', 'experiments/ablation-frames-cpu.yaml', '--runs', tmp]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ablation-frames-cpu: 4 trials \(4 pending\)/);
    assert.match(r.stdout, /ID\s+STATUS\s+LABEL\s+SWEPT VALUES/);
    assert.match(r.stdout, /[0-9a-f]{10}\s+pending\s+frames=2 batch=4\s+model\.frames=2 train\.batch=4/);
  });

  it('an invalid spec exits 2 with every problem and no stack trace', () => {
    const spec = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(spec, 'name: bad\nbase:\n  model: { windws: [1] }\nsweep:\n  train.stpes: [1]\n');
    const r = divd(['plan', spec]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /invalid spec \(2 problems\)/);
    assert.match(r.stderr, new RegExp(`${spec.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:12  base\\.model\\.windws: unknown key "windws"; did you mean "windows"\\?`));
    assert.match(r.stderr, /:5:3  sweep\["train\.stpes"\]: unknown key "train\.stpes"; did you mean "train\.steps"\?/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('a missing spec file or argument exits 2', () => {
    const missing = divd(['plan', path.join(tmp, 'nope.yaml')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /spec not found/);
    assert.equal(divd(['plan']).status, 2);
  });
});
