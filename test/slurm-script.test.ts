import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  batchScript,
  etaFromLog,
  parseSqueue,
  readSlurmState,
  sbatchArgs,
  taskMap,
  trialsInSlurm,
  validateSlurmOptions,
  type SlurmBatch,
  type SlurmOptions,
  type SlurmState,
} from '../src/runner/index.ts';
import { UsageError } from '../src/errors.ts';
import { launcherFromFlags } from '../src/cli/run.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function batch(dir: string, options: SlurmOptions = {}): SlurmBatch {
  return {
    experiment: 'abl',
    specFile: path.join(dir, "my spec's.yaml"),
    runsDir: path.join(dir, 'runs dir'),
    workDir: dir,
    batchDir: path.join(dir, 'runs dir', 'abl', 'slurm', 'T1'),
    node: '/bin/echo', // the script's "node" prints the command it would run
    divd: '/opt/divd/src/cli/divd.mjs',
    trials: ['aaaa000001', 'bbbb000002', 'cccc000003'],
    parentRunId: 'parent123',
    env: { MLFLOW_TRACKING_URI: "http://mlflow:5000/a b'c" },
    options,
  };
}

describe('Slurm batch script (no Slurm needed)', () => {
  it('array task k runs `divd trial --id trials[k] --parent-run` and appends its output to the trial\'s slurm.log', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-slurm-script-'));
    try {
      const b = batch(dir);
      const script = path.join(dir, 'job.sbatch');
      fs.writeFileSync(script, batchScript(b));
      for (const task of [0, 2]) {
        const r = spawnSync('bash', [script], { env: { PATH: process.env.PATH, SLURM_ARRAY_TASK_ID: String(task), SLURM_ARRAY_JOB_ID: '77' }, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        const log = fs.readFileSync(path.join(b.runsDir, 'abl', b.trials[task]!, 'slurm.log'), 'utf8').trim().split('\n');
        assert.match(log[0]!, new RegExp(`^== divd: Slurm job 77_${task} \\(restart 0\\)`));
        assert.equal(log[1], `/opt/divd/src/cli/divd.mjs trial ${b.specFile} --id ${b.trials[task]} --runs ${b.runsDir} --parent-run parent123`);
      }
      assert.ok(!fs.existsSync(path.join(b.runsDir, 'abl', b.trials[1]!)), 'task 1 did not run');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exports the captured tracking environment exactly, quotes and all', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-slurm-script-'));
    try {
      const b = { ...batch(dir), node: 'bash', divd: '-c', trials: ['x1'] };
      // Run "bash -c trial ..." would not print the env; instead source the export lines alone.
      const exports = batchScript(b).split('\n').filter((l) => l.startsWith('export ')).join('\n');
      const r = spawnSync('bash', ['-c', `${exports}\nprintf %s "$MLFLOW_TRACKING_URI"`], { encoding: 'utf8' });
      assert.equal(r.stdout, "http://mlflow:5000/a b'c");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes one #SBATCH line per resource option, and --requeue only when asked', () => {
    const text = batchScript(batch('/w', { partition: 'gpu', gpusPerTrial: 2, cpusPerTrial: 8, mem: '32G', time: '2-00:00:00', requeue: true, sbatchArgs: ['--account=lab', '--qos=long'] }));
    const lines = text.split('\n').filter((l) => l.startsWith('#SBATCH '));
    for (const want of ['--partition=gpu', '--gres=gpu:2', '--cpus-per-task=8', '--mem=32G', '--time=2-00:00:00', '--requeue', '--account=lab', '--qos=long', '--job-name=divd-abl', '--chdir=/w', '--open-mode=append', '--signal=B:TERM@120']) {
      assert.ok(lines.includes(`#SBATCH ${want}`), `${want} in\n${lines.join('\n')}`);
    }
    assert.ok(lines.includes('#SBATCH "--output=/w/runs dir/abl/slurm/T1/task-%a.out"'), 'a path with a space is quoted for sbatch');
    assert.match(text, /export DIVD_THREADS="\$\{SLURM_CPUS_PER_TASK:-1\}"/);
    const plain = batchScript(batch('/w')).split('\n');
    assert.ok(plain.includes('#SBATCH --no-requeue'));
    assert.ok(!plain.some((l) => /--partition|--gres|--mem|--time|DIVD_THREADS/.test(l)));
  });

  it('sbatch gets the array range, throttled with %K, and the task map matches the script order', () => {
    assert.deepEqual(sbatchArgs(3, { maxConcurrent: 2 }, '/s/job.sbatch'), ['--parsable', '--array=0-2%2', '/s/job.sbatch']);
    assert.deepEqual(sbatchArgs(1, {}, 'j'), ['--parsable', '--array=0-0', 'j']);
    assert.throws(() => sbatchArgs(0, {}, 'j'));
    const m = taskMap(batch('/w'));
    assert.deepEqual(m.tasks, [
      { task: 0, trial: 'aaaa000001' },
      { task: 1, trial: 'bbbb000002' },
      { task: 2, trial: 'cccc000003' },
    ]);
    assert.equal(m.parentRunId, 'parent123');
  });

  it('bad option values are usage errors naming the option', () => {
    const bad: [SlurmOptions, RegExp][] = [
      [{ time: '10h' }, /--time/],
      [{ mem: 'lots' }, /--mem/],
      [{ partition: 'a b' }, /--partition/],
      [{ maxConcurrent: 0 }, /--max-concurrent/],
      [{ cpusPerTrial: 1.5 }, /--cpus-per-trial/],
      [{ gpusPerTrial: -1 }, /--gpus-per-trial/],
      [{ sbatchArgs: ['account=lab'] }, /--sbatch-arg/],
      [{ sbatchArgs: ['--array=0-9'] }, /--sbatch-arg --array=0-9: divd sets/],
    ];
    for (const [o, re] of bad) assert.throws(() => validateSlurmOptions(o), (e: unknown) => e instanceof UsageError && re.test(e.message), JSON.stringify(o));
    for (const time of ['90', '48:00:00', '2-00:00:00', '1-12', '30:00']) validateSlurmOptions({ time });
  });
});

describe('Slurm queue and state', () => {
  it('parses squeue lines and keeps array tasks only', () => {
    const q = parseSqueue('12|0|RUNNING|None\n12|1|PENDING|Resources\n13|N/A|PENDING|Priority\n\n');
    assert.deepEqual(q, [
      { jobId: '12', task: 0, state: 'RUNNING', reason: 'None' },
      { jobId: '12', task: 1, state: 'PENDING', reason: 'Resources' },
    ]);
  });

  it('a trial belongs to its latest submission; ended or forgotten tasks are not in flight', () => {
    const state: SlurmState = {
      version: 1,
      submissions: [
        { jobId: '10', submittedAt: '', dir: 'slurm/a', trials: ['t1', 't2', 't3'], parentRunId: 'p' },
        { jobId: '11', submittedAt: '', dir: 'slurm/b', trials: ['t2'], parentRunId: 'p' },
      ],
    };
    const held = trialsInSlurm(state, parseSqueue('10|0|COMPLETED|None\n10|1|FAILED|None\n11|0|PENDING|Priority\n'));
    assert.deepEqual([...held.keys()].sort(), ['t1', 't2', 't3']);
    assert.equal(held.get('t1')!.inFlight, false);
    assert.equal(held.get('t2')!.name, '11_0');
    assert.equal(held.get('t2')!.inFlight, true);
    assert.equal(held.get('t3')!.state, undefined, 'purged from slurmctld');
    assert.equal(held.get('t3')!.inFlight, false);
  });

  it('a malformed state.json is a usage error naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-slurm-state-'));
    try {
      assert.deepEqual(readSlurmState(dir).submissions, []);
      fs.mkdirSync(path.join(dir, 'slurm'));
      fs.writeFileSync(path.join(dir, 'slurm', 'state.json'), '{"version":1,"submissions":[{"jobId":5}]}');
      assert.throws(() => readSlurmState(dir), (e: unknown) => e instanceof UsageError && e.message.includes(path.join(dir, 'slurm', 'state.json')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ETA comes from the step rate since the last restart', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-slurm-eta-'));
    try {
      const log = path.join(dir, 'log.jsonl');
      // 1 step/s before a restart, then 2 steps/s after it (resumed at step 5 much later).
      const recs = [
        ...[1, 2, 3, 4, 5, 6].map((s) => ({ step: s, loss: 1, time: 1000 + s })),
        { step: 5, valLoss: 1, time: 5000 },
        ...[5, 7, 9, 11].map((s, i) => ({ step: s, loss: 1, time: 9000 + i })),
      ];
      fs.writeFileSync(log, recs.map((r) => JSON.stringify(r)).join('\n') + '\n');
      assert.equal(etaFromLog(log, 31), 10); // (31 - 11) / 2
      assert.equal(etaFromLog(path.join(dir, 'none.jsonl'), 10), undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('divd run --launcher flags', () => {
  const divd = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
    spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], { encoding: 'utf8', env, cwd: root });

  it('bad values are usage errors naming the option; one exits 2 through the CLI before anything runs', () => {
    const flags = { runs: 'runs', report: true };
    for (const [extra, re] of [
      [{ launcher: 'slurm', time: 'soon' }, /--time must be a Slurm time limit/],
      [{ launcher: 'pbs' }, /--launcher must be local or slurm/],
      [{ partition: 'gpu' }, /--partition applies to --launcher slurm/],
      [{ wait: true }, /--wait applies to --launcher slurm/],
      [{ launcher: 'slurm', jobs: 2 }, /--jobs is for --launcher local/],
      [{ launcher: 'slurm', mem: '1 GB' }, /--mem must be a size/],
    ] as const) {
      assert.throws(() => launcherFromFlags({ ...flags, ...extra }), (e: unknown) => e instanceof UsageError && re.test(e.message), JSON.stringify(extra));
    }
    assert.equal(launcherFromFlags({ ...flags, jobs: 2 }), undefined, 'local is the default');
    assert.equal(launcherFromFlags({ ...flags, launcher: 'slurm', partition: 'gpu', requeue: true })?.name, 'slurm');
    const r = divd(['run', 'experiments/smoke.yaml', '--launcher', 'slurm', '--max-concurrent', '0', '--runs', path.join(os.tmpdir(), 'divd-never')]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--max-concurrent must be a positive integer/);
  });

  it('without sbatch on PATH: exit 2, saying local is the default', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-nosbatch-'));
    try {
      const emptyBin = path.join(runs, 'bin');
      fs.mkdirSync(emptyBin);
      const r = divd(['run', 'experiments/smoke.yaml', '--launcher', 'slurm', '--runs', runs], { ...process.env, PATH: emptyBin });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /sbatch not found.*--launcher local, the default/s);
      assert.ok(!fs.existsSync(path.join(runs, 'smoke', 'slurm')), 'no script written');
    } finally {
      fs.rmSync(runs, { recursive: true, force: true });
    }
  });
});
