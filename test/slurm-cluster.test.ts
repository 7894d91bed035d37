/**
 * `divd run --launcher slurm` against a real single-node Slurm cluster started here (munged, slurmctld,
 * slurmd from Debian's slurm-wlm, all in a temp dir with their own ports, socket and key; stopped by pid).
 * Needs root (slurmd runs jobs as their user); skipped with the reason otherwise.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TINY_BASE } from './helpers/tiny-spec.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PREFIX = 'divd-slurm-cluster-';
const DAEMONS = ['slurmd', 'slurmctld', 'munged'] as const;

// Three seeds of a tiny model: seconds per trial.
const SPEC = `
name: tiny
base:
${TINY_BASE}
  sample: { sampler: ddim, steps: 2, eta: 0, seed: 0 }
  train: { steps: 3, batch: 1, lr: 0.001, warmupSteps: 1, ema: 0.9, checkpointEvery: 2, keepLast: 1, validateEvery: 3 }
  eval: { metrics: [psnr, ssim] }
  tracking: { uri: ./mlruns }
  report: { enabled: true }
sweep:
  seeds: [0, 1, 2]
`;

const skipReason = process.getuid?.() !== 0 ? 'needs root to start slurmd (run the tests as root, as CI does)' : undefined;
if (skipReason) process.stdout.write(`# slurm-cluster skipped: ${skipReason}\n`);

function processName(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Stops the daemons whose pid files are in `dir` (only if the pid still is that daemon). */
function stopDaemons(dir: string): void {
  for (const name of DAEMONS) {
    const file = path.join(dir, `${name}.pid`);
    if (!fs.existsSync(file)) continue;
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    if (pid > 1 && processName(pid) === name) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** A crashed earlier run may have left daemons behind: stop them by their pid files and drop their dirs. */
function reapLeftovers(): void {
  for (const d of fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(PREFIX))) {
    const dir = path.join(os.tmpdir(), d);
    stopDaemons(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function must(cmd: string, args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.error?.message ?? ''}`);
}

/** Starts munged, slurmctld and slurmd configured entirely inside `dir`; resolves when the node is idle. */
async function startCluster(dir: string): Promise<NodeJS.ProcessEnv> {
  for (const sub of ['state', 'spool', 'log']) fs.mkdirSync(path.join(dir, sub));
  fs.writeFileSync(path.join(dir, 'munge.key'), crypto.randomBytes(1024), { mode: 0o600 });
  const port = 20000 + crypto.randomInt(20000);
  const conf = path.join(dir, 'slurm.conf');
  fs.writeFileSync(
    conf,
    [
      'ClusterName=divdtest',
      'SlurmctldHost=localhost',
      `SlurmctldPort=${port}`,
      `SlurmdPort=${port + 1}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      `AuthInfo=socket=${dir}/munge.sock`,
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/log/slurmctld.log`,
      `SlurmdLogFile=${dir}/log/slurmd.log`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'JobCompType=jobcomp/filetxt',
      `JobCompLoc=${dir}/log/jobcomp.txt`,
      'ReturnToService=2',
      'MpiDefault=none',
      `NodeName=localhost CPUs=${os.cpus().length} RealMemory=${Math.floor(os.totalmem() / 2 ** 20) - 512} State=UNKNOWN`,
      'PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  must('munged', ['--force', `--socket=${dir}/munge.sock`, `--key-file=${dir}/munge.key`, `--pid-file=${dir}/munged.pid`, `--seed-file=${dir}/munged.seed`, `--log-file=${dir}/log/munged.log`], env);
  must('slurmctld', ['-f', conf], env);
  must('slurmd', ['-N', 'localhost', '-f', conf], env);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = spawnSync('sinfo', ['--noheader', '--format=%t'], { env, encoding: 'utf8' });
    if (r.stdout.trim() === 'idle') return env;
    if (Date.now() > deadline) throw new Error(`the Slurm node did not come up: ${r.stdout}${r.stderr}\n${fs.readFileSync(path.join(dir, 'log', 'slurmctld.log'), 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface RunJson {
  trials: { id: string; label: string; state: string; runDir: string }[];
  report?: { files: { html: string } };
}

describe('divd run --launcher slurm on a real single-node Slurm', { skip: skipReason }, () => {
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  const work = () => path.join(dir, 'work');
  const divdArgs = (args: string[]) => [path.join(root, 'src/cli/divd.mjs'), ...args];
  const divd = (args: string[]) => spawnSync(process.execPath, divdArgs(args), { cwd: work(), env, encoding: 'utf8', timeout: 120_000 });
  const last = <T>(stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as T;
  let slurmRun: RunJson;
  let seenInSlurm: { state: string; slurm?: { task: string } }[] = [];

  before(async () => {
    reapLeftovers();
    const sbatch = spawnSync('sbatch', ['--version']);
    assert.ok(!sbatch.error, 'sbatch missing: apt-get install -y --no-install-recommends slurm-wlm munge (.ci/run does)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
    process.on('exit', () => stopDaemons(dir)); // even when the test process dies mid-way
    env = await startCluster(dir);
    fs.mkdirSync(work());
    fs.writeFileSync(path.join(work(), 'tiny.yaml'), SPEC);
    // One wasm thread everywhere: the Slurm and local results must match bit for bit.
    Object.assign(env, { DIVD_DATA_CACHE: path.join(dir, 'data-cache'), DIVD_WEIGHTS_DIR: path.join(dir, 'no-weights'), DIVD_THREADS: '1', MLFLOW_TRACKING_URI: '' });

    const child = spawn(process.execPath, divdArgs(['run', 'tiny.yaml', '--launcher', 'slurm', '--wait', '--poll', '0.5', '--max-concurrent', '2', '--cpus-per-trial', '1', '--json', '--report-dir', 'report']), { cwd: work(), env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // While the array runs, `divd status` shows trials held by Slurm tasks.
    let code: number | null | undefined;
    void exited.then((c) => (code = c));
    while (code === undefined && !seenInSlurm.some((t) => t.slurm)) {
      await new Promise((r) => setTimeout(r, 1000));
      const s = divd(['status', 'tiny.yaml', '--json']);
      if (s.status === 0) seenInSlurm = last<{ trials: { state: string; slurm?: { task: string } }[] }>(s.stdout).trials;
    }
    assert.equal(await exited, 0, err);
    slurmRun = last<RunJson>(out);
  });

  after(() => {
    if (!dir) return;
    stopDaemons(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every trial ran as a task of one array job and finished', () => {
    assert.deepEqual(slurmRun.trials.map((t) => t.state), ['done', 'done', 'done']);
    const state = JSON.parse(fs.readFileSync(path.join(work(), 'runs/tiny/slurm/state.json'), 'utf8')) as { submissions: { jobId: string; trials: string[]; dir: string }[] };
    assert.equal(state.submissions.length, 1);
    const [sub] = state.submissions;
    assert.deepEqual(sub!.trials, slurmRun.trials.map((t) => t.id));
    const tasks = JSON.parse(fs.readFileSync(path.join(work(), 'runs/tiny', sub!.dir, 'tasks.json'), 'utf8')) as { tasks: { task: number; trial: string }[] };
    assert.deepEqual(tasks.tasks.map((t) => t.trial), sub!.trials);
    // slurmctld's completion log: one COMPLETED record per array task of that job.
    const records = fs.readFileSync(path.join(dir, 'log', 'jobcomp.txt'), 'utf8').trim().split('\n');
    const done = records.filter((r) => r.includes(`ArrayJobId=${sub!.jobId} `) && r.includes('JobState=COMPLETED')).map((r) => Number(/ArrayTaskId=(\d+)/.exec(r)![1]));
    assert.deepEqual(done.sort(), [0, 1, 2]);
    for (const [task, id] of sub!.trials.entries()) {
      const log = fs.readFileSync(path.join(work(), 'runs/tiny', id, 'slurm.log'), 'utf8');
      assert.match(log, new RegExp(`Slurm job ${sub!.jobId}_${task} `));
    }
    assert.ok(seenInSlurm.some((t) => /^\d+_\d$/.test(t.slurm?.task ?? '') && (t.state === 'queued' || t.state === 'running')), JSON.stringify(seenInSlurm));
  });

  it('writes the report and logs the trials as children of one sweep run', () => {
    assert.ok(slurmRun.report && fs.existsSync(path.resolve(work(), slurmRun.report.files.html)));
    const exp = fs.readdirSync(path.join(work(), 'mlruns')).find((e) => /^\d+$/.test(e) && e !== '0')!;
    const expDir = path.join(work(), 'mlruns', exp);
    const runs = fs.readdirSync(expDir).filter((r) => fs.statSync(path.join(expDir, r)).isDirectory());
    const parentOf = (r: string) => fs.readFileSync(path.join(expDir, r, 'tags', 'mlflow.parentRunId'), 'utf8');
    const roots = runs.filter((r) => !fs.existsSync(path.join(expDir, r, 'tags', 'mlflow.parentRunId')));
    assert.equal(roots.length, 1);
    assert.deepEqual(runs.filter((r) => r !== roots[0]).map(parentOf), [roots[0], roots[0], roots[0]]);
    assert.match(fs.readFileSync(path.join(expDir, roots[0]!, 'meta.yaml'), 'utf8'), /status: 3/, 'the sweep run ended FINISHED');
    assert.ok(fs.existsSync(path.join(expDir, roots[0]!, 'artifacts', 'report', 'index.html')));
  });

  it('metrics equal a local run of the same spec', () => {
    const r = divd(['run', 'tiny.yaml', '--runs', 'runs-local', '--no-report', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const local = last<RunJson>(r.stdout);
    assert.deepEqual(local.trials.map((t) => [t.id, t.state]), slurmRun.trials.map((t) => [t.id, 'done']));
    for (const t of local.trials) {
      const metrics = (runs: string) => JSON.parse(fs.readFileSync(path.join(work(), runs, 'tiny', t.id, 'metrics.json'), 'utf8')) as { metrics: unknown; frames: unknown };
      const a = metrics('runs');
      const b = metrics('runs-local');
      assert.deepEqual(a.metrics, b.metrics, t.id);
      assert.deepEqual(a.frames, b.frames, t.id);
    }
  });

  it('a second run submits nothing; status shows every trial finished; cancel finds nothing to cancel', () => {
    const r = divd(['run', 'tiny.yaml', '--launcher', 'slurm', '--no-report', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(last<RunJson>(r.stdout).trials.map((t) => t.state), ['cached', 'cached', 'cached']);
    const state = JSON.parse(fs.readFileSync(path.join(work(), 'runs/tiny/slurm/state.json'), 'utf8')) as { submissions: unknown[] };
    assert.equal(state.submissions.length, 1);
    const s = divd(['status', 'tiny.yaml', '--json']);
    assert.equal(s.status, 0, s.stderr);
    assert.deepEqual(last<{ counts: Record<string, number> }>(s.stdout).counts, { finished: 3 });
    const c = divd(['cancel', 'tiny.yaml']);
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /no Slurm job of this experiment is queued or running/);
  });

  it('sbatch refusing the job (unknown partition) exits 2 with its message', () => {
    const r = divd(['run', 'tiny.yaml', '--launcher', 'slurm', '--partition', 'nosuch', '--runs', 'runs-refused', '--only', 'seed=0', '--no-report']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /sbatch refused the job[\s\S]*invalid partition/i);
    assert.ok(!fs.existsSync(path.join(work(), 'runs-refused/tiny/slurm/state.json')), 'nothing recorded as submitted');
  });
});
