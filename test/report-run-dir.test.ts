import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readRunsDir, readTrialDir, naturalCompare, parseLog, getPath } from '../src/report/run-dir.ts';
import { UsageError } from '../src/errors.ts';
import { groupNote, groupTrials } from '../src/report/groups.ts';

let root: string;
const write = (rel: string, text: string) => {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
};

describe('run directory reader', () => {
  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'divd-rundir-'));
    // a finished trial
    write('exp/aaa/config.json', JSON.stringify({ train: { seed: 7 }, model: { windows: [4, 3, 2, 1] } }));
    write('exp/aaa/trial.json', JSON.stringify({ id: 'aaa', label: 'w4', swept: { 'model.windows': [4, 3, 2, 1] }, mlflowRunId: 'r1' }));
    write('exp/aaa/status.json', JSON.stringify({ stage: 'done', step: 100 }));
    write('exp/aaa/metrics.json', JSON.stringify({ overall: { psnr: 30.5, lpips: 0.2, fid: 'n/a' }, sequences: { s1: { psnr: 30, frames: 3 } } }));
    write('exp/aaa/log.jsonl', '{"step":1,"loss":0.5,"lr":0.0001}\n{"step":2,"valLoss":0.4}\n{"step":3,"lo');
    for (const f of ['10', '2', '1']) write(`exp/aaa/samples/s1/${f}.png`, 'x');
    // crashed before writing anything but status
    write('exp/bbb/status.json', JSON.stringify({ stage: 'failed', error: 'CUDA out of memory' }));
    // metrics but no status: finished as far as we can tell; malformed trial.json
    write('exp/ccc/metrics.json', JSON.stringify({ overall: { psnr: 29 } }));
    write('exp/ccc/trial.json', '{ not json');
    // only a config: pending; an unknown stage is reported
    write('exp/ddd/config.json', '{}');
    write('exp/ddd/status.json', JSON.stringify({ stage: 'flying' }));
    // not a trial: no contract file
    mkdirSync(path.join(root, 'exp/checkpoints-only'), { recursive: true });
    mkdirSync(path.join(root, 'empty'), { recursive: true });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads every trial directory, keeps trials without metrics, and skips directories without contract files', () => {
    const runs = readRunsDir(path.join(root, 'exp'));
    assert.equal(runs.experiment, 'exp');
    assert.deepEqual(runs.trials.map((t) => [t.id, t.status.stage]), [['aaa', 'done'], ['bbb', 'failed'], ['ccc', 'done'], ['ddd', 'pending']]);
    const bbb = runs.trials[1]!;
    assert.equal(bbb.status.error, 'CUDA out of memory');
    assert.equal(bbb.metrics, undefined);
    assert.equal(bbb.info.label, 'bbb');
  });

  it('parses trial, metrics, log and samples, and names what it could not read', () => {
    const t = readTrialDir(path.join(root, 'exp/aaa'));
    assert.equal(t.info.seed, 7, 'seed falls back to config train.seed');
    assert.equal(t.info.mlflowRunId, 'r1');
    assert.deepEqual(t.metrics?.overall, { psnr: 30.5, lpips: 0.2 });
    assert.deepEqual(t.metrics?.sequences, { s1: { psnr: 30, frames: 3 } });
    assert.deepEqual(t.log, [{ step: 1, loss: 0.5, lr: 0.0001 }, { step: 2, valLoss: 0.4 }]);
    assert.deepEqual(t.samples.frames, { s1: ['1', '2', '10'] });
    assert.equal(t.problems.length, 2);
    assert.match(t.problems[0]!, /metrics\.json: overall\.fid: expected a finite number, got "n\/a"/);
    assert.match(t.problems[1]!, /log\.jsonl:3: not a JSON object/);
  });

  it('reports malformed JSON and unknown stages with the file name', () => {
    const ccc = readTrialDir(path.join(root, 'exp/ccc'));
    assert.match(ccc.problems.join('\n'), /ccc[/\\]trial\.json: not valid JSON/);
    const ddd = readTrialDir(path.join(root, 'exp/ddd'));
    assert.match(ddd.problems.join('\n'), /status\.json: stage: expected one of pending, training, .* got "flying"/);
  });

  it('a divd probe file adds the frame-alone loss and the context gain to the metrics; a malformed one is named', () => {
    write('probe/ok/metrics.json', JSON.stringify({ metrics: { loss: 0.01 } }));
    write('probe/ok/probe-context.json', JSON.stringify({ withContext: { loss: 0.01 }, isolated: { loss: 0.0115 }, gain: 0.0015, relativeGain: 0.15 }));
    assert.deepEqual(readTrialDir(path.join(root, 'probe/ok')).metrics?.overall, { loss: 0.01, lossAlone: 0.0115, contextGain: 0.15 });
    write('probe/bad/metrics.json', JSON.stringify({ metrics: { loss: 0.01 } }));
    write('probe/bad/probe-context.json', JSON.stringify({ isolated: {} }));
    const bad = readTrialDir(path.join(root, 'probe/bad'));
    assert.deepEqual(bad.metrics?.overall, { loss: 0.01 });
    assert.match(bad.problems.join('\n'), /probe-context\.json: expected isolated\.loss and relativeGain/);
  });

  it('the stage commands\' resting stages (trained, sampled) read cleanly and show as not yet evaluated', () => {
    write('stages/eee/config.json', '{}');
    write('stages/eee/status.json', JSON.stringify({ stage: 'trained', step: 40 }));
    write('stages/fff/config.json', '{}');
    write('stages/fff/status.json', JSON.stringify({ stage: 'sampled' }));
    const runs = readRunsDir(path.join(root, 'stages'));
    assert.deepEqual(runs.trials.map((t) => [t.status.stage, t.problems]), [['trained', []], ['sampled', []]]);
    const groups = groupTrials(runs.trials);
    assert.equal(groups.length, 1);
    assert.equal(groupNote(groups[0]!), '0 of 2 seeds done; eee trained, not yet evaluated; fff sampled, not yet evaluated');
  });

  it('lists trials in the spec\'s order (trial.json index), those without one after, by id', () => {
    write('order/b4/trial.json', JSON.stringify({ id: 'b4', label: 'frames=4', swept: { 'model.frames': 4 }, index: 2 }));
    write('order/c1/trial.json', JSON.stringify({ id: 'c1', label: 'frames=1', swept: { 'model.frames': 1 }, index: 0 }));
    write('order/a2/trial.json', JSON.stringify({ id: 'a2', label: 'frames=2', swept: { 'model.frames': 2 }, index: 1 }));
    write('order/0z/trial.json', JSON.stringify({ id: '0z', label: 'old', swept: { 'model.frames': 8 } }));
    write('order/0y/config.json', '{}');
    assert.deepEqual(readRunsDir(path.join(root, 'order')).trials.map((t) => t.id), ['c1', 'a2', 'b4', '0y', '0z']);
  });

  it('a missing or empty runs directory is a usage error that says what to pass', () => {
    assert.throws(() => readRunsDir(path.join(root, 'nope')), (e: unknown) => e instanceof UsageError && /does not exist/.test(e.message));
    assert.throws(() => readRunsDir(path.join(root, 'empty')), (e: unknown) => e instanceof UsageError && /runs\/<experiment>\//.test(e.message));
  });

  it('helpers: natural frame order, dotted config paths, log problem counting', () => {
    assert.deepEqual(['f10', 'f9', 'f100'].sort(naturalCompare), ['f9', 'f10', 'f100']);
    assert.deepEqual(getPath({ model: { mrpe: { relBias: false } } }, 'model.mrpe.relBias'), false);
    assert.equal(getPath({ model: 3 }, 'model.windows'), undefined);
    const problems: string[] = [];
    assert.equal(parseLog('x\n{"step":1}\ny\n[]\n', 'log', problems).length, 1);
    assert.deepEqual(problems, ['log:1: not a JSON object with a numeric "step"', 'log: 3 unreadable lines in total']);
  });
});
