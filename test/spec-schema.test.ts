import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { DEFAULTS, TRIAL_SCHEMA, loadSpec, specSchema, type Plan } from '../src/spec/index.ts';
import { closest, editDistance } from '../src/spec/suggest.ts';
import { schemaText, SCHEMA_FILE } from '../src/spec/write-schema.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const experiments = path.join(root, 'experiments');
const shipped = fs.readdirSync(experiments).filter((f) => f.endsWith('.yaml')).sort();
const load = (name: string): Plan => loadSpec(path.join(experiments, name));

describe('spec schema', () => {
  it('experiments/schema.json is the one generated from src/spec/schema.ts (regenerate: node --import tsx src/spec/write-schema.ts)', () => {
    assert.equal(fs.readFileSync(SCHEMA_FILE, 'utf8'), schemaText());
  });

  it('compiles under ajv strict mode, and the defaults are a valid complete trial config', () => {
    const ajv = new Ajv({ strict: true, allErrors: true });
    ajv.compile(specSchema());
    const validTrial = ajv.compile(TRIAL_SCHEMA);
    assert.equal(validTrial(structuredClone(DEFAULTS)), true, JSON.stringify(validTrial.errors));
    const missing = structuredClone(DEFAULTS) as unknown as Record<string, Record<string, unknown>>;
    delete missing.model.windows;
    assert.equal(validTrial(missing), false, 'the trial schema requires every field');
  });

  it('defaults follow the paper configuration (paper.md)', () => {
    assert.deepEqual(DEFAULTS.model.windows, [4, 3, 2, 1]);
    assert.deepEqual(DEFAULTS.model.channelMults, [1, 2, 4, 8]);
    assert.equal(DEFAULTS.model.frames, 4);
    assert.equal(DEFAULTS.data.crop, 144);
    assert.equal(DEFAULTS.train.steps, 1_000_000);
    assert.equal(DEFAULTS.train.lr, 1e-4);
    assert.deepEqual([DEFAULTS.diffusion.betaStart, DEFAULTS.diffusion.betaEnd, DEFAULTS.diffusion.timesteps], [1e-4, 0.02, 1000]);
  });
});

describe('shipped specs', () => {
  it('are all present', () => {
    for (const name of ['smoke', 'gopro', 'dvd', 'ablation-windows', 'ablation-mrpe', 'ablation-frames', 'ablation-windows-cpu', 'ablation-mrpe-cpu', 'ablation-frames-cpu']) {
      assert.ok(shipped.includes(`${name}.yaml`), `${name}.yaml missing`);
    }
  });

  for (const file of shipped) {
    it(`${file} validates, and every trial is a complete valid config with a unique id and label`, () => {
      const plan = load(file);
      assert.equal(`${plan.name}.yaml`, file, 'spec name matches its file name');
      assert.ok(plan.trials.length >= 1);
      const validTrial = new Ajv({ strict: true }).compile(TRIAL_SCHEMA);
      for (const trial of plan.trials) {
        assert.equal(validTrial(trial.config), true, `${trial.label}: ${JSON.stringify(validTrial.errors)}`);
        assert.match(trial.id, /^[0-9a-f]{10}$/);
        assert.equal(trial.config.model.windows.length, trial.config.model.channelMults.length);
        assert.equal(trial.config.tracking.experiment, plan.name);
      }
      assert.equal(new Set(plan.trials.map((t) => t.id)).size, plan.trials.length);
      assert.equal(new Set(plan.trials.map((t) => t.label)).size, plan.trials.length);
    });
  }

  it('smoke.yaml is a small CPU job on synthetic data with every metric and local tracking', () => {
    const [trial, ...rest] = load('smoke.yaml').trials;
    assert.equal(rest.length, 0);
    const c = trial.config;
    assert.equal(c.data.source, 'synthetic');
    assert.ok(c.train.steps <= 500 && c.model.baseChannels <= 16 && c.data.crop <= 32);
    assert.deepEqual(c.model.channelMults, [1, 2]);
    assert.deepEqual(c.model.windows, [2, 1]);
    assert.equal(c.model.frames, 4);
    assert.deepEqual([c.sample.sampler, c.sample.steps], ['ddim', 10]);
    assert.deepEqual([...c.eval.metrics].sort(), ['fid', 'kid', 'lpips', 'psnr', 'ssim']);
    assert.equal(c.tracking.uri, './mlruns');
    assert.equal(c.report.enabled, true);
  });

  it('gopro.yaml and dvd.yaml are the paper configuration on real data with DDPM sampling', () => {
    for (const [file, source] of [['gopro.yaml', 'gopro'], ['dvd.yaml', 'dvd']] as const) {
      const { config } = load(file).trials[0];
      assert.equal(config.data.source, source);
      assert.ok(config.data.root);
      assert.equal(config.data.crop, 144);
      assert.deepEqual(config.model, DEFAULTS.model);
      assert.deepEqual(config.diffusion, DEFAULTS.diffusion);
      assert.equal(config.train.steps, 1_000_000);
      assert.equal(config.sample.sampler, 'ddpm');
    }
  });

  for (const size of ['', '-cpu']) {
    it(`the ablations${size} vary exactly what their table varies`, () => {
      // The paper's lists are per level of a 4-level UNet; the CPU spec's 3-level UNet takes small, medium, large.
      const windows = size === '' ? [[3, 2, 1, 1], [4, 3, 2, 1], [6, 4, 3, 2]] : [[2, 1, 1], [4, 2, 1], [8, 4, 2]];
      assert.deepEqual(load(`ablation-windows${size}.yaml`).trials.map((t) => t.config.model.windows), windows);
      assert.deepEqual(
        load(`ablation-mrpe${size}.yaml`).trials.map((t) => [t.label, t.config.model.mrpe.framePE, t.config.model.mrpe.relBias]),
        [['none', false, false], ['frame PE only', true, false], ['relative bias only', false, true], ['full', true, true]],
      );
      const frames = load(`ablation-frames${size}.yaml`).trials;
      if (size === '-cpu') {
        // F changes the temporal context, not the frames seen per step (batch counts windows of F); the last
        // trial is the paper's protocol (F = 1 at F = 4's batch of windows).
        assert.deepEqual(frames.map((t) => [t.config.model.frames, t.config.train.batch]), [[1, 8], [2, 4], [4, 2], [1, 2]]);
        assert.deepEqual(frames.slice(0, 3).map((t) => t.config.model.frames * t.config.train.batch), [8, 8, 8]);
      } else {
        assert.deepEqual(frames.map((t) => t.config.model.frames), [1, 2, 4]);
      }
      // The three studies share their base trial (trained once, README "Training and resume").
      const base = (name: string, label: string) => load(`ablation-${name}${size}.yaml`).trials.find((t) => t.label === label)!.id;
      const shared = base('mrpe', 'full');
      assert.equal(base('windows', size === '' ? 'windows=4-3-2-1' : 'windows=4-2-1'), shared);
      if (size === '-cpu') assert.equal(base('frames', 'frames=4 batch=2'), shared);
    });
  }

  it('the paper-size ablations use the paper configuration; the -cpu ones are small and synthetic', () => {
    for (const ab of ['windows', 'mrpe', 'frames']) {
      for (const t of load(`ablation-${ab}.yaml`).trials) {
        assert.equal(t.config.data.source, 'gopro');
        assert.equal(t.config.model.baseChannels, 64);
        assert.equal(t.config.train.steps, 1_000_000);
        assert.equal(t.config.model.mrpe.locality, 0, "the paper's relative bias starts as Swin's");
      }
      for (const t of load(`ablation-${ab}-cpu.yaml`).trials) {
        assert.equal(t.config.data.source, 'synthetic');
        assert.ok(t.config.model.baseChannels <= 16 && t.config.train.steps <= 5000);
      }
    }
  });
});

describe('typo suggestions', () => {
  it('edit distance counts insertions, deletions and substitutions', () => {
    assert.equal(editDistance('windws', 'windows'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('same', 'same'), 0);
  });

  it('closest picks the nearest candidate and refuses far-fetched ones', () => {
    assert.equal(closest('baseChanels', ['baseChannels', 'channelMults', 'resBlocks']), 'baseChannels');
    assert.equal(closest('LR', ['lr', 'steps']), 'lr');
    assert.equal(closest('completelydifferent', ['lr', 'steps']), null);
  });
});
