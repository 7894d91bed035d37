import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBackend } from './helpers/backends.ts';
import { planSpec, type PlanReport } from '../src/cli/plan.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Two model widths x two seeds. 5 test frames of 20x24 in windows of F = 4: 2 windows. Frames are padded
// to multiples of 2 (20x24 already are); 16-pixel tiles overlapping by 4 need starts {0, 4} on the 20 rows
// and {0, 8} on the 24 columns: 4 tiles. DDIM 3 steps: 2 windows x 3 steps x 4 tiles = 24 forward passes.
const SPEC = `
name: planned
base:
  data:
    source: synthetic
    crop: 16
    synthetic: { trainSequences: 2, testSequences: 1, frames: 5, height: 20, width: 24, seed: 3 }
  model: { frames: 4, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, windows: [2, 1], headChannels: 8, groups: 4 }
  diffusion: { timesteps: 100 }
  sample: { sampler: ddim, steps: 3, eta: 0, seed: 0, tile: 16, tileOverlap: 4 }
  train: { steps: 4, batch: 1 }
  tracking: { uri: none }
sweep:
  model.baseChannels: [8, 16]
  seeds: [0, 1]
`;

function divd(args: string[], cwd: string) {
  return spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
}

describe('divd plan: work and time estimate', () => {
  let tmp = '';
  before(async () => {
    await useBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-plan-est-'));
    fs.writeFileSync(path.join(tmp, 'spec.yaml'), SPEC);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('counts training steps, test windows, tiles and forward passes of every trial', async () => {
    const r = await planSpec(path.join(tmp, 'spec.yaml'), path.join(tmp, 'runs'));
    assert.equal(r.trials.length, 4);
    for (const t of r.trials) {
      assert.deepEqual(
        [t.work.trainSteps, t.work.testFrames, t.work.testWindows, t.work.samplerSteps, t.work.tilesPerWindow, t.work.forwardPasses],
        [4, 5, 2, 3, 4, 24],
      );
      assert.ok(t.work.trainStepFlops > 0 && t.work.forwardPassFlops! > 0);
      assert.equal(t.estimate, null, 'nothing logged, nothing measured: no time');
    }
    const [narrow, wide] = [r.trials.find((t) => t.swept['model.baseChannels'] === 8)!, r.trials.find((t) => t.swept['model.baseChannels'] === 16)!];
    assert.ok(wide.work.trainStepFlops > 2 * narrow.work.trainStepFlops, 'twice the channels, more than twice the FLOPs');
    assert.deepEqual([r.workLeft.trainSteps, r.workLeft.forwardPasses, r.workLeft.seconds], [16, 96, null]);
    assert.match(r.workLeft.note!, /--measure/);
  });

  it('estimates from the step rate a run directory logged, FLOP-scaled for another model, for the steps left', async () => {
    const first = await planSpec(path.join(tmp, 'spec.yaml'), path.join(tmp, 'runs'));
    const [narrow, narrow2, wide] = [first.trials[0]!, first.trials[1]!, first.trials.find((t) => t.swept['model.baseChannels'] === 16)!];
    // The first trial trained 3 of its 4 steps at 2 steps/s, as the runner logs them.
    const dir = path.join(tmp, 'runs', 'planned', narrow.id);
    fs.mkdirSync(dir, { recursive: true });
    const config = JSON.parse(JSON.stringify((await import('../src/spec/index.ts')).loadSpec(path.join(tmp, 'spec.yaml')).trials[0]!.config));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    fs.writeFileSync(path.join(dir, 'log.jsonl'), [1, 2, 3].map((s) => JSON.stringify({ step: s, loss: 0.1, stepsPerSec: 2, time: s })).join('\n'));
    fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ stage: 'training', step: 3, steps: 4 }));
    const r: PlanReport = await planSpec(path.join(tmp, 'spec.yaml'), path.join(tmp, 'runs'));
    const byId = (id: string) => r.trials.find((t) => t.id === id)!;
    assert.equal(byId(narrow.id).estimate!.basis, 'logged');
    assert.equal(byId(narrow.id).estimate!.trainSeconds, 0.5, 'one step left at 0.5 s');
    assert.equal(byId(narrow2.id).estimate!.trainSeconds, 2, 'four steps at 0.5 s');
    const w = byId(wide.id).estimate!;
    assert.equal(w.basis, 'logged, FLOP-scaled');
    assert.ok(Math.abs(w.trainSeconds - 4 * 0.5 * (wide.work.trainStepFlops / narrow.work.trainStepFlops)) < 1e-9);
    const perFlop = 0.5 / narrow.work.trainStepFlops;
    assert.ok(Math.abs(byId(narrow.id).estimate!.sampleSeconds! - 24 * narrow.work.forwardPassFlops! * perFlop) < 1e-9);
    assert.equal(r.workLeft.trainSteps, 13);
    assert.ok(r.workLeft.seconds!.total > r.workLeft.seconds!.train);
    assert.match(r.workLeft.basis.join('\n'), new RegExp(`step rate logged by trial ${narrow.id}`));
    // An older log without stepsPerSec: the rate comes from its timestamps (the restart at step 2 is skipped).
    fs.writeFileSync(path.join(dir, 'log.jsonl'), [[1, 0], [2, 4], [3, 8], [2, 100], [3, 104]].map(([s, t]) => JSON.stringify({ step: s, loss: 0.1, time: t })).join('\n'));
    const old = await planSpec(path.join(tmp, 'spec.yaml'), path.join(tmp, 'runs'));
    assert.equal(old.trials.find((t) => t.id === narrow.id)!.estimate!.trainSeconds, 4);
  });

  it('prints the counts and the estimate; --measure times steps here; --json', () => {
    const text = divd(['plan', 'spec.yaml', '--runs', 'fresh-runs'], tmp);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /ID\s+TRAIN STEPS\s+STEP FLOPS\s+FORWARD PASSES\s+PASS FLOPS\s+TIME LEFT/);
    assert.match(text.stdout, /[0-9a-f]{10}\s+4\s+[\d.]+ [KMGT]?FLOP\s+24 \(2 windows x 3 steps x 4 tiles\)/);
    assert.match(text.stdout, /work left: 16 training steps \([\d.]+ [GMT]FLOP\), 96 sampling forward passes/);
    assert.match(text.stdout, /estimate: unknown/);
    const measured = divd(['plan', 'spec.yaml', '--runs', 'fresh-runs', '--measure', '--json'], tmp);
    assert.equal(measured.status, 0, measured.stderr);
    const r = JSON.parse(measured.stdout) as PlanReport;
    for (const t of r.trials) assert.ok(t.estimate && t.estimate.basis === 'measured' && t.estimate.trainSeconds > 0 && t.estimate.sampleSeconds! > 0, JSON.stringify(t.estimate));
    assert.ok(r.workLeft.seconds!.total > 0);
    assert.match(r.workLeft.basis[0]!, /^measured: training steps timed on this machine/);
  });
});
