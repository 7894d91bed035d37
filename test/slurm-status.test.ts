import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSpec } from '../src/spec/index.ts';
import { parseSqueue, sweepStatus, type SlurmState } from '../src/runner/index.ts';
import { formatStatus } from '../src/cli/status.ts';

const SPEC = `
name: st
base:
  data: { source: synthetic, crop: 16 }
  train: { steps: 100 }
sweep:
  seeds: [0, 1, 2, 3, 4, 5]
`;

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

describe('sweep status from run directories and the Slurm queue', () => {
  it('tells finished, running with ETA, queued, failed with its log, ended-in-Slurm and pending apart', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-slurm-status-'));
    try {
      const plan = parseSpec(SPEC, 'st.yaml');
      const [done, running, queued, failed, cancelled, pending] = plan.trials.map((t) => t.id) as [string, string, string, string, string, string];
      const dir = (id: string) => path.join(runs, 'st', id);
      write(path.join(dir(done), 'status.json'), JSON.stringify({ stage: 'done', step: 100, steps: 100 }));
      write(path.join(dir(done), 'metrics.json'), '{}');
      write(path.join(dir(running), 'status.json'), JSON.stringify({ stage: 'training', step: 40, steps: 100, updatedAt: '2026-01-01T11:59:59Z' }));
      // 4 steps/s over the logged records: 60 steps left is 15 s.
      write(path.join(dir(running), 'log.jsonl'), [10, 20, 30, 40].map((step, i) => JSON.stringify({ step, loss: 0.5, time: 1000 + 2.5 * i })).join('\n') + '\n');
      write(path.join(dir(failed), 'status.json'), JSON.stringify({ stage: 'failed', step: 7, steps: 100, error: 'NaN loss at step 7' }));
      write(path.join(dir(failed), 'slurm.log'), `${Array.from({ length: 12 }, (_, i) => `line ${i}`).join('\n')}\n`);
      write(path.join(dir(cancelled), 'status.json'), JSON.stringify({ stage: 'training', step: 3, steps: 100, updatedAt: '2026-01-01T11:59:00Z' }));
      const state: SlurmState = { version: 1, submissions: [{ jobId: '42', submittedAt: '', dir: 'slurm/x', trials: [running, queued, failed, cancelled], parentRunId: null }] };
      write(path.join(runs, 'st', 'slurm', 'state.json'), JSON.stringify(state));
      const asked: string[][] = [];
      const status = sweepStatus(plan, runs, {
        readQueue: (ids) => {
          asked.push([...ids]);
          return parseSqueue('42|0|RUNNING|None\n42|1|PENDING|Priority\n42|2|FAILED|None\n42|3|CANCELLED|None\n');
        },
      });
      assert.deepEqual(asked, [['42']]);
      const by = new Map(status.trials.map((t) => [t.id, t]));
      assert.equal(by.get(done)!.state, 'finished');
      assert.equal(by.get(running)!.state, 'running');
      assert.equal(by.get(running)!.etaSeconds, 15);
      assert.deepEqual(by.get(running)!.slurm, { task: '42_0', state: 'RUNNING' });
      assert.equal(by.get(queued)!.state, 'queued');
      assert.deepEqual(by.get(queued)!.slurm, { task: '42_1', state: 'PENDING', reason: 'Priority' });
      assert.equal(by.get(failed)!.state, 'failed');
      assert.equal(by.get(failed)!.error, 'NaN loss at step 7');
      assert.deepEqual(by.get(failed)!.logTail, ['line 4', 'line 5', 'line 6', 'line 7', 'line 8', 'line 9', 'line 10', 'line 11']);
      // Its status.json still says training, but its Slurm task was cancelled: not running any more.
      assert.equal(by.get(cancelled)!.state, 'failed');
      assert.match(by.get(cancelled)!.error!, /42_3 ended CANCELLED/);
      assert.equal(by.get(pending)!.state, 'pending');
      assert.ok(!fs.existsSync(dir(pending)), 'a status query creates no run directory');
      assert.deepEqual(status.counts, { finished: 1, running: 1, queued: 1, failed: 2, pending: 1 });
      const text = formatStatus(status);
      assert.match(text, /^st: 1 finished, 1 running, 1 queued, 1 pending, 2 failed/);
      assert.match(text, new RegExp(`running +${running} .*training 40/100, ETA 15s, Slurm 42_0 RUNNING`));
      assert.match(text, new RegExp(`queued +${queued} .*Slurm 42_1 PENDING \\(Priority\\)`));
      assert.match(text, /NaN loss at step 7\n +\| line 4/);
    } finally {
      fs.rmSync(runs, { recursive: true, force: true });
    }
  });

  it('without Slurm, a trial is running while a live process holds its run directory, else pending (stopped, resumable)', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-slurm-status-'));
    try {
      const plan = parseSpec(SPEC, 'st.yaml');
      const [a, b, c] = plan.trials.map((t) => t.id) as [string, string, string];
      // a: held by this very process; b: its holder has ended (a crash); c: never locked (stopped long ago).
      write(path.join(runs, 'st', a, 'status.json'), JSON.stringify({ stage: 'sampling', updatedAt: '2026-01-01T11:58:00Z' }));
      write(path.join(runs, 'st', a, '.lock'), JSON.stringify({ pid: process.pid, host: os.hostname(), startedAt: 'x', purpose: 'trial a' }));
      const ended = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
      write(path.join(runs, 'st', b, 'status.json'), JSON.stringify({ stage: 'training', step: 5, steps: 100, updatedAt: new Date().toISOString() }));
      write(path.join(runs, 'st', b, '.lock'), JSON.stringify({ pid: Number(ended.stdout), host: os.hostname(), startedAt: 'x', purpose: 'trial b' }));
      write(path.join(runs, 'st', c, 'status.json'), JSON.stringify({ stage: 'training', step: 5, steps: 100, updatedAt: '2026-01-01T10:00:00Z' }));
      const status = sweepStatus(plan, runs, { trialIds: [a, b, c], readQueue: () => assert.fail('no submission: squeue is not asked') });
      assert.deepEqual(status.trials.map((t) => t.state), ['running', 'pending', 'pending']);
      assert.deepEqual(status.trials[0]!.process, { pid: process.pid, host: os.hostname() });
      assert.match(formatStatus(status), new RegExp(`running +${a} .*sampling, pid ${process.pid} on `));
    } finally {
      fs.rmSync(runs, { recursive: true, force: true });
    }
  });
});
