import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeFixtureRuns } from './fixtures/report/make-runs.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const divd = (args: string[], cwd = root) =>
  spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });

describe('divd report', () => {
  let tmp: string;
  let runsDir: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'divd-report-cli-'));
    runsDir = makeFixtureRuns(path.join(tmp, 'runs'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes the four files to reports/<experiment>/ by default and --json describes them', () => {
    const r = divd(['report', runsDir, '--json'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { outDir: string; trials: number; stages: Record<string, number>; files: Record<string, string> };
    assert.equal(out.outDir, path.join(tmp, 'reports', 'ablation-windows'));
    assert.equal(out.trials, 7);
    assert.deepEqual(out.stages, { done: 5, failed: 1, training: 1 });
    for (const f of Object.values(out.files)) assert.ok(existsSync(f), f);
    const tex = readFileSync(out.files.latex!, 'utf8');
    assert.match(tex, /\\toprule/);
    assert.match(readFileSync(out.files.csv!, 'utf8'), /^kind,experiment,dataset,trial_id/);
  });

  it('--out and --published are honoured; text output lists the files', () => {
    const pub = path.join(tmp, 'pub');
    spawnSync('mkdir', ['-p', pub]);
    writeFileSync(path.join(pub, 'gopro.json'), JSON.stringify({ dataset: 'gopro', title: 'GoPro', rows: [{ method: 'Zed', metrics: { psnr: 1 }, source: { citation: 'c', table: 't', verification: 'v' } }] }));
    const out = path.join(tmp, 'elsewhere');
    const r = divd(['report', runsDir, '--out', out, '--published', pub]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /report for ablation-windows: 7 trials \(5 done, 1 failed, 1 training\)/);
    assert.ok(r.stdout.includes(path.join(out, 'index.html')));
    const md = readFileSync(path.join(out, 'tables.md'), 'utf8');
    assert.match(md, /\| Zed \| 1\.00 \|/);
    assert.doesNotMatch(md, /RVRT/);
  });

  it('bad input exits 2 with a message naming the path', () => {
    const missing = divd(['report', path.join(tmp, 'no-such-dir')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no-such-dir does not exist/);
    const file = path.join(tmp, 'spec.yaml');
    writeFileSync(file, 'name: x\n');
    // A spec names its experiment; with no runs of it yet, the runs directory it points at is missing.
    const spec = divd(['report', file, '--runs', path.join(tmp, 'no-runs')]);
    assert.equal(spec.status, 2);
    assert.match(spec.stderr, /no-runs\/x does not exist/);
    const other = path.join(tmp, 'notes.txt');
    writeFileSync(other, 'hello\n');
    const txt = divd(['report', other]);
    assert.equal(txt.status, 2);
    assert.match(txt.stderr, /notes\.txt: expected an experiment spec \(\.yaml\) or a runs directory/);
  });
});
