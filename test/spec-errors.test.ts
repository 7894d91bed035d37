import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpec, SpecError, type SpecIssue } from '../src/spec/index.ts';
import { isUsageError } from '../src/errors.ts';

const FILE = 'broken.yaml';

/** The issues a spec text raises (fails the test when it parses). */
function issuesOf(text: string): SpecIssue[] {
  try {
    parseSpec(text, FILE);
  } catch (e) {
    assert.ok(e instanceof SpecError, `expected a SpecError, got ${String(e)}`);
    assert.ok(isUsageError(e), 'spec errors are usage errors (exit 2)');
    assert.equal(e.exitCode, 2);
    assert.ok(e.message.includes(`${FILE}:`), 'the message names the file');
    return e.issues;
  }
  assert.fail('spec was accepted');
}

function only(text: string): SpecIssue {
  const issues = issuesOf(text);
  assert.equal(issues.length, 1, JSON.stringify(issues, null, 1));
  return issues[0];
}

describe('spec errors: schema', () => {
  it('a typo in a key names file, line, column and path and suggests the closest key', () => {
    const i = only('name: t\nbase:\n  model:\n    frames: 4\n    windws: [4, 3, 2, 1]\n');
    assert.deepEqual([i.file, i.line, i.col, i.path], [FILE, 5, 5, 'base.model.windws']);
    assert.match(i.message, /unknown key "windws"; did you mean "windows"\?/);
  });

  it('an unknown key with no close match lists what is allowed', () => {
    const i = only('name: t\nbase:\n  report: { enabled: true, zzzzzzzz: 1 }\n');
    assert.deepEqual([i.line, i.path], [3, 'base.report.zzzzzzzz']);
    assert.match(i.message, /unknown key "zzzzzzzz"; expected one of: enabled/);
  });

  it('a wrong type says what was found and what was expected, at the value', () => {
    const i = only('name: t\nbase:\n  train:\n    steps: "many"\n');
    assert.deepEqual([i.line, i.col, i.path], [4, 12, 'base.train.steps']);
    assert.equal(i.message, 'found the string "many", expected an integer');
  });

  it('YAML 1.1 booleans get a hint', () => {
    const i = only('name: t\nbase:\n  model:\n    mrpe: { framePE: yes }\n');
    assert.equal(i.path, 'base.model.mrpe.framePE');
    assert.match(i.message, /expected true or false \(YAML 1\.2: write true or false\)/);
  });

  it('a bad enum value lists the choices and suggests the closest', () => {
    const i = only('name: t\nbase:\n  diffusion:\n    prediction: ep\n');
    assert.deepEqual([i.line, i.col, i.path], [4, 17, 'base.diffusion.prediction']);
    assert.equal(i.message, 'found the string "ep", expected one of: eps, x0, v; did you mean "eps"?');
  });

  it('a value of the wrong type for an enum gets one message, not two', () => {
    const i = only('name: t\nbase:\n  model: { attention: 3 }\n');
    assert.equal(i.message, 'found 3, expected one of: wtsa, spatial, none');
  });

  it('several errors are reported at once, in file order', () => {
    const issues = issuesOf(
      'name: t\nbase:\n  model:\n    attention: wtsaa\n    frames: 0\n  eval:\n    metrics: [psnr, lpisp]\n  trian: {}\n',
    );
    assert.deepEqual(issues.map((i) => [i.line, i.path]), [
      [4, 'base.model.attention'],
      [5, 'base.model.frames'],
      [7, 'base.eval.metrics[1]'],
      [8, 'base.trian'],
    ]);
    assert.match(issues[0].message, /expected one of: wtsa, spatial, none; did you mean "wtsa"\?/);
    assert.match(issues[1].message, /found 0, expected a value >= 1/);
    assert.match(issues[2].message, /did you mean "lpips"\?/);
    assert.match(issues[3].message, /did you mean "train"\?/);
  });

  it('unknown top-level keys and a missing name are errors', () => {
    const issues = issuesOf('nmae: t\nbase: {}\n');
    assert.equal(issues.length, 2);
    assert.ok(issues.some((i) => i.path === 'name' && /missing required key "name"/.test(i.message)));
    assert.ok(issues.some((i) => i.path === 'nmae' && i.line === 1 && /did you mean "name"\?/.test(i.message)));
  });

  it('a name that cannot be a directory is rejected', () => {
    const i = only('name: my study/1\n');
    assert.equal(i.path, 'name');
    assert.match(i.message, /it names a directory/);
  });

  it('YAML syntax errors are reported with their position, not as a stack trace', () => {
    const i = only('name: t\nbase:\n  model: { frames: 4\n  train: {}\n');
    assert.equal(i.file, FILE);
    assert.ok(i.line >= 3, `line ${i.line}`);
    assert.match(i.message, /^YAML syntax error: /);
    const dup = only('name: t\nname: u\n');
    assert.equal(dup.line, 2);
    assert.match(dup.message, /unique/);
  });

  it('an empty document is an error about the whole file', () => {
    const i = only('');
    assert.match(i.message, /found null, expected a mapping/);
  });
});

describe('spec errors: cross-field rules on resolved trials', () => {
  it('window list length must match the UNet levels (pointing at the base value)', () => {
    const i = only('name: t\nbase:\n  model:\n    channelMults: [1, 2]\n    windows: [4, 3, 2]\n');
    assert.deepEqual([i.line, i.col, i.path], [5, 14, 'model.windows']);
    assert.match(i.message, /found 3 window sizes for 2 UNet levels/);
  });

  it('a synthetic exposure range must be [lo, hi] in (0, 1] with lo <= hi', () => {
    const reversed = only('name: t\nbase:\n  data:\n    synthetic: { exposure: [0.6, 0.5] }\n');
    assert.equal(reversed.path, 'data.synthetic.exposure');
    assert.match(reversed.message, /expected \[lo, hi\] with lo <= hi/);
    const zero = issuesOf('name: t\nbase:\n  data:\n    synthetic: { exposure: [0, 1] }\n');
    assert.ok(zero.some((i) => i.path === 'base.data.synthetic.exposure[0]' && /expected a value > 0/.test(i.message)), JSON.stringify(zero));
    const three = issuesOf('name: t\nbase:\n  data:\n    synthetic: { exposure: [0.1, 0.5, 1] }\n');
    assert.ok(three.some((i) => i.path === 'base.data.synthetic.exposure'), JSON.stringify(three));
    const probe = only('name: t\nbase:\n  eval: { testLoss: false, contextProbe: true }\n');
    assert.equal(probe.path, 'eval.contextProbe');
    assert.match(probe.message, /expected eval\.testLoss: true/);
    const still = issuesOf('name: t\nbase:\n  data:\n    synthetic: { motion: 0 }\n');
    assert.ok(still.some((i) => i.path === 'base.data.synthetic.motion' && /expected a value > 0/.test(i.message)), JSON.stringify(still));
  });

  it('a problem caused by a sweep value points at that value and names the trial', () => {
    const i = only('name: t\nbase:\n  model: { channelMults: [1, 2], windows: [2, 1] }\n  data: { crop: 32 }\nsweep:\n  model.windows: [[2, 1], [4, 2, 1]]\n');
    assert.deepEqual([i.line, i.path], [6, 'model.windows']);
    assert.equal(i.col, 27);
    assert.match(i.message, /^in trial "windows=4-2-1": found 3 window sizes/);
  });

  it('real datasets need a root; a default that breaks a rule says so', () => {
    const i = only('name: t\nbase:\n  data: { source: gopro }\n');
    assert.equal(i.path, 'data.source');
    assert.match(i.message, /needs data.root/);
    const d = only('name: t\nbase:\n  model: { channelMults: [1, 2, 4, 8, 8, 8], windows: [1, 1, 1, 1, 1, 1] }\n');
    assert.equal(d.path, 'data.crop');
    assert.match(d.message, /^\(default value\) found 144, expected a multiple of 32/);
  });
});

describe('spec errors: sweeps', () => {
  it('a misspelt sweep path suggests the config path', () => {
    const i = only('name: t\nsweep:\n  model.window: [[3, 2, 1, 1]]\n');
    assert.deepEqual([i.line, i.col, i.path], [3, 3, 'sweep["model.window"]']);
    assert.match(i.message, /did you mean "model.windows"\?/);
  });

  it('a path that does not exist at all is an error', () => {
    const i = only('name: t\nsweep:\n  optimizer.momentum: [0.9]\n');
    assert.match(i.message, /unknown key "optimizer.momentum"/);
  });

  it('sweeping a whole section points to its fields or variants', () => {
    const i = only('name: t\nsweep:\n  model.mrpe: [{ framePE: false }]\n');
    assert.match(i.message, /is a section; sweep one of its fields \(e\.g\. "model\.mrpe\.framePE"\) or use variants/);
  });

  it('swept values are checked against the schema of their path, naming the sweep entry', () => {
    const issues = issuesOf('name: t\nsweep:\n  model.frames: [2, four, 0]\n  model.attention: [wtsa, windowed]\n');
    assert.deepEqual(issues.map((i) => i.path), ['sweep["model.frames"][1]', 'sweep["model.frames"][2]', 'sweep["model.attention"][1]']);
    assert.deepEqual(issues.map((i) => [i.line, i.col]), [[3, 21], [3, 27], [4, 27]]);
  });

  it('empty sweeps and empty axes are errors', () => {
    assert.match(only('name: t\nsweep: {}\n').message, /empty sweep/);
    const i = only('name: t\nsweep:\n  train.lr: []\n');
    assert.equal(i.path, 'sweep["train.lr"]');
    assert.match(i.message, /empty sweep list/);
  });

  it('zip groups need equal lengths', () => {
    const i = only('name: t\nsweep:\n  zip:\n    - model.frames: [2, 4]\n      train.batch: [4, 2, 1]\n');
    assert.equal(i.path, 'sweep.zip[0]');
    assert.match(i.message, /differ in length \(model.frames has 2, train.batch has 3\)/);
  });

  it('a path varied twice, or by a variant and an axis, is an error', () => {
    const twice = only('name: t\nsweep:\n  train.seed: [1, 2]\n  seeds: [3, 4]\n');
    assert.equal(twice.line, 4);
    assert.match(twice.message, /"train.seed" is already varied by sweep\["train.seed"\]/);
    const clash = only('name: t\nsweep:\n  model.mrpe.relBias: [true, false]\n  variants:\n    - { name: a, set: { model: { mrpe: { relBias: false } } } }\n');
    assert.equal(clash.path, 'sweep.variants[0].set.model.mrpe.relBias');
    assert.match(clash.message, /variant "a" sets model.mrpe.relBias, which sweep\["model.mrpe.relBias"\] also varies/);
  });

  it('variants need unique names and a valid partial config', () => {
    const issues = issuesOf('name: t\nsweep:\n  variants:\n    - { name: a, set: { model: { frames: 2 } } }\n    - { name: a, set: { model: { framse: 2 } } }\n');
    assert.equal(issues.length, 1, 'schema errors are reported before sweep structure errors');
    assert.match(issues[0].message, /did you mean "frames"\?/);
    const dup = only('name: t\nsweep:\n  variants:\n    - { name: a, set: { model: { frames: 2 } } }\n    - { name: a, set: { model: { frames: 1 } } }\n');
    assert.match(dup.message, /variant name "a" is used twice/);
  });

  it('exclude rules must match something and name real variants', () => {
    const none = only('name: t\nsweep:\n  model.frames: [2, 4]\n  exclude:\n    - { model.frames: 8 }\n');
    assert.deepEqual([none.line, none.path], [5, 'sweep.exclude[0]']);
    assert.match(none.message, /matches no trial/);
    const unknown = only('name: t\nsweep:\n  variants:\n    - { name: full, set: {} }\n    - { name: none, set: { model: { mrpe: { framePE: false } } } }\n  exclude:\n    - { variant: nope }\n');
    assert.match(unknown.message, /unknown variant "nope"; expected one of: full, none/);
    const all = only('name: t\nsweep:\n  model.frames: [2]\n  exclude:\n    - { model.frames: 2 }\n');
    assert.match(all.message, /remove every trial/);
  });

  it('two trials with the same resolved config are an error', () => {
    const i = only('name: t\nsweep:\n  variants:\n    - { name: full, set: {} }\n    - { name: also full, set: { model: { mrpe: { framePE: true } } } }\n');
    assert.match(i.message, /trials "full" and "also full" resolve to the same config/);
  });
});
