import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, parseSpec, selectTrials, type Plan } from '../src/spec/index.ts';
import { isUsageError } from '../src/errors.ts';

const plan = (text: string): Plan => parseSpec(text, 'spec.yaml');
const ids = (p: Plan) => new Map(p.trials.map((t) => [t.label, t.id]));

const GRID = `name: g
sweep:
  model.windows: [[3, 2, 1, 1], [4, 3, 2, 1], [6, 4, 3, 2]]
  train.lr: [0.0001, 0.0002]
`;

describe('sweep expansion', () => {
  it('no sweep gives one trial labelled base with every default applied', () => {
    const p = plan('name: one\nbase:\n  model: { frames: 2 }\n');
    assert.equal(p.trials.length, 1);
    const [t] = p.trials;
    assert.equal(t.label, 'base');
    assert.deepEqual(t.swept, {});
    assert.equal(t.config.model.frames, 2);
    assert.deepEqual(t.config.model.windows, DEFAULTS.model.windows);
    assert.deepEqual(t.config.train, DEFAULTS.train);
    assert.equal(t.config.tracking.experiment, 'one', 'the MLflow experiment defaults to the spec name');
  });

  it('grid axes multiply, first axis slowest, with readable labels', () => {
    const p = plan(GRID);
    assert.deepEqual(p.trials.map((t) => t.label), [
      'windows=3-2-1-1 lr=0.0001', 'windows=3-2-1-1 lr=0.0002',
      'windows=4-3-2-1 lr=0.0001', 'windows=4-3-2-1 lr=0.0002',
      'windows=6-4-3-2 lr=0.0001', 'windows=6-4-3-2 lr=0.0002',
    ]);
    assert.deepEqual(p.trials[3].swept, { 'model.windows': [4, 3, 2, 1], 'train.lr': 0.0002 });
    assert.deepEqual(p.trials[3].config.model.windows, [4, 3, 2, 1]);
    assert.equal(p.trials[3].config.train.lr, 0.0002);
    assert.equal(new Set(p.trials.map((t) => t.id)).size, 6);
  });

  it('zip groups vary together and count as one axis', () => {
    const p = plan('name: z\nsweep:\n  zip:\n    - model.frames: [1, 2, 4]\n      train.batch: [8, 4, 2]\n  train.lr: [0.0001, 0.0002]\n');
    assert.equal(p.trials.length, 6);
    for (const t of p.trials) assert.equal(t.config.model.frames * t.config.train.batch, 8);
    assert.deepEqual(p.trials.map((t) => t.label).slice(0, 2), ['frames=1 batch=8 lr=0.0001', 'frames=1 batch=8 lr=0.0002']);
  });

  it('variants apply named partial configs over base', () => {
    const p = plan(`name: v
base:
  model: { mrpe: { framePE: true, relBias: true }, frames: 2 }
sweep:
  variants:
    - { name: none, set: { model: { mrpe: { framePE: false, relBias: false } } } }
    - { name: frame PE only, set: { model: { mrpe: { relBias: false } } } }
`);
    assert.deepEqual(p.trials.map((t) => [t.label, t.variant, t.config.model.mrpe]), [
      ['none', 'none', { framePE: false, relBias: false, locality: 0 }],
      ['frame PE only', 'frame PE only', { framePE: true, relBias: false, locality: 0 }],
    ]);
    assert.equal(p.trials[1].config.model.frames, 2, 'a variant leaves the rest of base alone');
    assert.deepEqual(p.trials[1].swept, { 'model.mrpe.relBias': false });
  });

  it('seeds set train.seed, one trial each', () => {
    const p = plan('name: s\nsweep:\n  model.frames: [2, 4]\n  seeds: [0, 1, 2]\n');
    assert.equal(p.trials.length, 6);
    assert.deepEqual(p.trials.slice(0, 3).map((t) => [t.label, t.config.train.seed]), [['frames=2 seed=0', 0], ['frames=2 seed=1', 1], ['frames=2 seed=2', 2]]);
  });

  it('exclude rules drop matching trials, by path values and by variant', () => {
    const p = plan(`name: x
sweep:
  model.frames: [1, 2, 4]
  variants:
    - { name: full, set: {} }
    - { name: none, set: { model: { mrpe: { framePE: false, relBias: false } } } }
  exclude:
    - { model.frames: 1, variant: full }
    - { model.frames: 4, model.mrpe.framePE: false }
`);
    assert.deepEqual(p.trials.map((t) => t.label), ['frames=1 none', 'frames=2 full', 'frames=2 none', 'frames=4 full']);
  });

  it('labels use the full path when two swept paths end alike', () => {
    const p = plan('name: l\nsweep:\n  sample.seed: [1]\n  data.synthetic.seed: [2, 3]\n');
    assert.deepEqual(p.trials.map((t) => t.label), ['sample.seed=1 data.synthetic.seed=2', 'sample.seed=1 data.synthetic.seed=3']);
  });

  it('expansion is deterministic', () => {
    assert.deepEqual(plan(GRID), plan(GRID));
  });
});

describe('trial ids', () => {
  it('an edit that changes nothing keeps every id (comments, layout, spelling out a default)', () => {
    const before = ids(plan(GRID));
    const noOp = `# a comment
name: g
base:
  model:
    frames: 4          # the default, written out
    mrpe: {framePE: true, relBias: true}
sweep:
  model.windows:
    - [3, 2, 1, 1]
    - [4, 3, 2, 1]
    - [6, 4, 3, 2]
  train.lr: [1e-4, 2e-4]
`;
    assert.deepEqual(ids(plan(noOp)), before);
  });

  it('reordering YAML keys keeps every id', () => {
    const a = plan('name: r\nbase:\n  train: { lr: 0.0003, batch: 4 }\n  model: { frames: 2, baseChannels: 32 }\nsweep:\n  model.resBlocks: [1, 2]\n  seeds: [0, 1]\n');
    const b = plan('name: r\nsweep:\n  seeds: [0, 1]\n  model.resBlocks: [1, 2]\nbase:\n  model: { baseChannels: 32, frames: 2 }\n  train: { batch: 4, lr: 0.0003 }\n');
    const byValues = (p: Plan) => new Map(p.trials.map((t) => [`${t.config.model.resBlocks}/${t.config.train.seed}`, t.id]));
    assert.deepEqual(byValues(a), byValues(b));
  });

  it('editing one axis value changes only the trials that use it', () => {
    const before = ids(plan(GRID));
    const after = ids(plan(GRID.replace('[6, 4, 3, 2]', '[8, 4, 2, 1]')));
    for (const [label, id] of before) {
      if (label.startsWith('windows=6-4-3-2')) assert.ok(![...after.values()].includes(id), `${label} should change`);
      else assert.equal(after.get(label), id, `${label} should keep its id`);
    }
    assert.equal(after.size, 6);
  });

  it('a base edit changes every id; tracking, report and execution settings change none', () => {
    const before = [...ids(plan(GRID)).values()];
    const edited = [...ids(plan(`${GRID}base:\n  sample: { seed: 7 }\n`)).values()];
    assert.equal(edited.filter((id) => before.includes(id)).length, 0);
    const elsewhere = `${GRID}base:\n  tracking: { uri: http://mlflow:5000, experiment: other }\n  report: { enabled: false }\n  train: { backend: wasm, threads: 2 }\n`;
    assert.deepEqual([...ids(plan(elsewhere)).values()], before);
  });

  it('the id does not depend on the spec name (the run directory does)', () => {
    assert.deepEqual([...ids(plan(GRID.replace('name: g', 'name: h'))).values()], [...ids(plan(GRID)).values()]);
  });
});

describe('selecting trials', () => {
  it('by label, full id or id prefix, in plan order; unknown names suggest a label', () => {
    const p = plan(GRID);
    const [a, , , d] = p.trials;
    assert.deepEqual(selectTrials(p, [d.label, a.id]).map((t) => t.id), [a.id, d.id]);
    assert.deepEqual(selectTrials(p, [d.id.slice(0, 6)]), [d]);
    assert.throws(() => selectTrials(p, ['windows=4-3-2-1 lr=0.0003']), (e: unknown) => isUsageError(e) && /did you mean "windows=4-3-2-1 lr=0.000[12]"\?/.test((e as Error).message));
  });
});

describe('synthetic exposure and motion in specs', () => {
  // Both came after trial ids were handed out: at their defaults they are recorded in config.json but hash
  // as absent (older trials keep their ids) and stay out of the generator's options (datasets keep their bytes).
  for (const [field, byDefault, varied] of [
    ['exposure', [1, 1], [0.1, 1]],
    ['motion', 1, 2.5],
  ] as const) {
    it(`${field}: ${JSON.stringify(byDefault)} by default, recorded, kept out of older trials' ids and of the dataset options`, async () => {
      const { trialId } = await import('../src/spec/index.ts');
      const { dataSourceOf } = await import('../src/runner/trial-config.ts');
      const plain = plan('name: e\n').trials[0]!;
      assert.deepEqual(plain.config.data.synthetic[field], byDefault);
      const older = structuredClone(plain.config) as unknown as { data: { synthetic: Record<string, unknown> } };
      delete older.data.synthetic[field];
      assert.equal(trialId(older as unknown as typeof plain.config), plain.id, 'a config from before the field hashes the same');
      const source = dataSourceOf(plain.config.data);
      assert.ok(source.kind === 'synthetic' && source.options && !(field in source.options), 'the default: left to the generator');

      const changed = plan(`name: e\nbase:\n  data:\n    synthetic: { ${field}: ${JSON.stringify(varied)} }\n`).trials[0]!;
      assert.notEqual(changed.id, plain.id);
      const vs = dataSourceOf(changed.config.data);
      assert.ok(vs.kind === 'synthetic');
      assert.deepEqual(vs.options?.[field], varied);
    });
  }

  it('eval.contextProbe: false by default and left out of the id (turning it on keeps every cached trial)', () => {
    const plain = plan('name: e\n').trials[0]!;
    assert.equal(plain.config.eval.contextProbe, false);
    const probed = plan('name: e\nbase:\n  eval: { contextProbe: true }\n').trials[0]!;
    assert.equal(probed.config.eval.contextProbe, true);
    assert.equal(probed.id, plain.id);
  });

  it('model.mrpe.locality: 0 by default and then hashed as absent; with relBias off it is never hashed', async () => {
    const { trialId } = await import('../src/spec/index.ts');
    const plain = plan('name: e\n').trials[0]!;
    assert.equal(plain.config.model.mrpe.locality, 0);
    const older = structuredClone(plain.config) as unknown as { model: { mrpe: Record<string, unknown> } };
    delete older.model.mrpe.locality;
    assert.equal(trialId(older as unknown as typeof plain.config), plain.id, 'a config from before the field hashes the same');
    const local = plan('name: e\nbase:\n  model: { mrpe: { locality: 1 } }\n').trials[0]!;
    assert.notEqual(local.id, plain.id);
    // No bias table, nothing for the slope to start: the MRPE ablation's rows without it keep their ids.
    const off = (locality: number) => plan(`name: e\nbase:\n  model: { mrpe: { relBias: false, locality: ${locality} } }\n`).trials[0]!;
    assert.equal(off(1).id, off(0).id);
    assert.equal(off(1).config.model.mrpe.locality, 1, 'config.json still records what the spec said');
  });

  it('motion can be swept like any other path', () => {
    const swept = plan('name: e\nsweep:\n  data.synthetic.motion: [1, 3]\n').trials;
    assert.deepEqual(swept.map((t) => t.config.data.synthetic.motion), [1, 3]);
  });
});
