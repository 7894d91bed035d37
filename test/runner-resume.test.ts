import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unwrapCheckpoint } from '../src/train/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SPEC = `
name: resume
base:
  data: { source: synthetic, crop: 16, synthetic: { trainSequences: 2, testSequences: 1, frames: 4, height: 16, width: 16, seed: 5 } }
  model: { frames: 4, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, windows: [2, 1], headChannels: 8, groups: 4 }
  diffusion: { timesteps: 100 }
  sample: { sampler: ddim, steps: 2, eta: 0, seed: 0 }
  train: { steps: 14, batch: 1, lr: 0.001, warmupSteps: 2, ema: 0.9, checkpointEvery: 3, keepLast: 2, validateEvery: 0 }
  eval: { metrics: [psnr, ssim] }
  tracking: { uri: none }
  report: { enabled: false }
`;

function env(cwd: string) {
  // One thread: XNNPACK splits work the same way every run, so results are bit-identical.
  return { ...process.env, DIVD_DATA_CACHE: path.join(cwd, 'cache'), DIVD_THREADS: '1' };
}

function trialArgs(runs: string) {
  return [path.join(root, 'src/cli/divd.mjs'), 'trial', 'spec.yaml', '--id', 'base', '--runs', runs, '--json'];
}

function lastPayload(runDir: string): Buffer {
  const dir = path.join(runDir, 'checkpoints');
  const last = fs.readdirSync(dir).filter((n) => n.endsWith('.ckpt')).sort().pop()!;
  return unwrapCheckpoint(fs.readFileSync(path.join(dir, last)), last).payload;
}

test('a trial killed with SIGKILL mid-training and run again ends bit-identical to an uninterrupted one', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-resume-'));
  try {
    fs.writeFileSync(path.join(tmp, 'spec.yaml'), SPEC);
    const straight = spawnSync(process.execPath, trialArgs('straight'), { cwd: tmp, env: env(tmp), encoding: 'utf8', timeout: 300_000 });
    assert.equal(straight.status, 0, straight.stderr);
    const runDir = path.resolve(tmp, (JSON.parse(straight.stdout) as { runDir: string }).runDir);
    const id = path.basename(runDir);

    // Kill at steps that are not checkpoint steps (and one right after a checkpoint), then resume.
    const killed = path.join(tmp, 'killed');
    const status = path.join(tmp, 'killed', 'resume', id, 'status.json');
    for (const killAt of [4, 8]) {
      const child = spawn(process.execPath, trialArgs('killed'), { cwd: tmp, env: env(tmp), stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      for (;;) {
        await new Promise((r) => setTimeout(r, 20));
        const s = fs.existsSync(status) ? (JSON.parse(fs.readFileSync(status, 'utf8')) as { step?: number }) : {};
        if ((s.step ?? 0) >= killAt || child.exitCode !== null) break;
      }
      child.kill('SIGKILL');
      await exited;
      const s = JSON.parse(fs.readFileSync(status, 'utf8')) as { stage: string; step: number };
      assert.equal(s.stage, 'training', `killed during training (step ${s.step})`);
      assert.ok(s.step < 14);
    }
    const resumed = spawnSync(process.execPath, trialArgs('killed'), { cwd: tmp, env: env(tmp), encoding: 'utf8', timeout: 300_000 });
    assert.equal(resumed.status, 0, resumed.stderr);
    // It resumed rather than restarted: step 1 was trained once, and steps after a kill repeat only back to
    // the last checkpoint (a multiple of 3).
    const steps = fs.readFileSync(path.join(killed, 'resume', id, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
    assert.equal(steps.filter((x) => x === 1).length, 1, `log steps: ${steps.join(' ')}`);
    const restarts = steps.filter((x, i) => i > 0 && x <= steps[i - 1]!);
    assert.ok(restarts.length >= 1 && restarts.every((x) => (x - 1) % 3 === 0), `log steps: ${steps.join(' ')}`);
    assert.ok(lastPayload(path.join(killed, 'resume', id)).equals(lastPayload(runDir)), 'final checkpoints are byte-identical');
    const metrics = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8')) as { frames: unknown[] };
    assert.deepEqual(metrics(path.join(killed, 'resume', id)).frames, metrics(runDir).frames);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

// SIGINT is Ctrl-C; SIGTERM is what Slurm sends on preemption, scancel and before the time limit.
for (const signal of ['SIGINT', 'SIGTERM'] as const) test(`${signal} stops a trial at a step boundary with a checkpoint of that step; the next run resumes`, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-signal-'));
  try {
    fs.writeFileSync(path.join(tmp, 'spec.yaml'), SPEC);
    const child = spawn(process.execPath, trialArgs('runs'), { cwd: tmp, env: env(tmp), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const runs = path.join(tmp, 'runs', 'resume');
    for (;;) {
      await new Promise((r) => setTimeout(r, 20));
      const ids = fs.existsSync(runs) ? fs.readdirSync(runs) : [];
      const status = ids.length ? path.join(runs, ids[0]!, 'status.json') : '';
      if (status && fs.existsSync(status) && ((JSON.parse(fs.readFileSync(status, 'utf8')) as { step?: number }).step ?? 0) >= 4) break;
    }
    child.kill(signal);
    assert.equal(await exited, 1, err);
    assert.match(err, /stopping after the current step/);
    const outcome = JSON.parse(out.trim().split('\n').pop()!) as { state: string; error: string; runDir: string };
    assert.equal(outcome.state, 'failed');
    const m = /interrupted at step (\d+)/.exec(outcome.error);
    assert.ok(m, outcome.error);
    const step = Number(m[1]);
    assert.ok(step >= 4 && step < 14);
    const ckpts = fs.readdirSync(path.join(tmp, outcome.runDir, 'checkpoints')).filter((n) => n.endsWith('.ckpt'));
    assert.ok(ckpts.includes(`step-${String(step).padStart(9, '0')}.ckpt`), `checkpoint of step ${step} in ${ckpts.join()}`);
    const again = spawnSync(process.execPath, trialArgs('runs'), { cwd: tmp, env: env(tmp), encoding: 'utf8', timeout: 300_000 });
    assert.equal(again.status, 0, again.stderr);
    const steps = fs.readFileSync(path.join(tmp, outcome.runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
    assert.equal(steps.indexOf(step + 1), steps.lastIndexOf(step + 1), 'the step after the interruption ran once: resumed exactly there');
    assert.equal(steps.at(-1), 14);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

// `parent`: a supervisor or `kill` signals divd run alone, which forwards it; `group`: Ctrl-C on a terminal
// reaches every process of the group, and the forwarded copy arrives too — taken as one request, not two.
for (const target of ['parent', 'group'] as const) test(`SIGTERM to the ${target} of \`divd run --jobs 2\`: both trials checkpoint and stop, and the next run finishes them`, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-sweep-signal-'));
  try {
    // Three seeds of the resume spec, long enough to be caught mid-training: two run, one waits.
    fs.writeFileSync(path.join(tmp, 'spec.yaml'), `${SPEC.replace('steps: 14,', 'steps: 60,')}sweep:\n  seeds: [0, 1, 2]\n`);
    const args = [path.join(root, 'src/cli/divd.mjs'), 'run', 'spec.yaml', '--jobs', '2', '--no-report', '--json'];
    // Its own process group, as under a supervisor: the signal goes to the parent only, never to the group.
    const parent = spawn(process.execPath, args, { cwd: tmp, env: env(tmp), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    parent.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => parent.once('exit', (code) => r(code)));
    const runs = path.join(tmp, 'runs', 'resume');
    const steps = () =>
      (fs.existsSync(runs) ? fs.readdirSync(runs) : [])
        .map((id) => path.join(runs, id, 'status.json'))
        .filter((f) => fs.existsSync(f))
        .map((f) => (JSON.parse(fs.readFileSync(f, 'utf8')) as { step?: number }).step ?? 0);
    for (;;) {
      await new Promise((r) => setTimeout(r, 20));
      const s = steps();
      if (s.length === 2 && Math.min(...s) >= 3) break;
    }
    process.kill(target === 'parent' ? parent.pid! : -parent.pid!, 'SIGTERM');
    await exited;
    const result = JSON.parse(out.trim().split('\n').pop()!) as { trials: { state: string; error?: string; runDir: string }[] };
    assert.deepEqual(result.trials.map((t) => t.state), ['failed', 'failed', 'failed'], err);
    assert.equal(result.trials[2]!.error, 'not started: interrupted', 'no trial starts after the signal');
    for (const t of result.trials.slice(0, 2)) {
      const m = /interrupted at step (\d+) \(checkpoint saved\)/.exec(t.error ?? '');
      assert.ok(m, t.error);
      assert.ok(Number(m[1]) < 60);
      assert.ok(fs.readdirSync(path.join(path.resolve(tmp, t.runDir), 'checkpoints')).includes(`step-${m[1]!.padStart(9, '0')}.ckpt`));
    }
    const again = spawnSync(process.execPath, args, { cwd: tmp, env: env(tmp), encoding: 'utf8', timeout: 300_000 });
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual((JSON.parse(again.stdout.trim().split('\n').pop()!) as { trials: { state: string }[] }).trials.map((t) => t.state), ['done', 'done', 'done']);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
