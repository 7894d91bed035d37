import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel, disposeModel, parameterCount, resolveModelConfig, summarizeModel, type ModelSummary } from '../src/model/index.ts';
import { useBackend } from './helpers/backends.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const divd = (args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

describe('model summary', () => {
  before(() => useBackend('wasm'));

  it('counts FLOPs layer by layer as conv/dense multiply-adds (hand count for a one-level model)', () => {
    const model = createModel(resolveModelConfig({ frames: 2, baseChannels: 8, channelMults: [1], resBlocks: 1, windows: [2], attention: 'none', groups: 4 }));
    const s = summarizeModel(model, { height: 16, width: 12 });
    const n = 2;
    const px = n * 16 * 12;
    const conv3 = (cin: number, cout: number) => 2 * px * 9 * cin * cout;
    const temb = 2 * n * 32 * 8; // each ResBlock's projection of the 4·8 = 32-wide time embedding
    const expected = {
      temb: 2 * n * (8 * 32 + 32 * 32),
      in: conv3(6, 8),
      'down.0.res.0': conv3(8, 8) * 2 + temb,
      'mid.res.0': conv3(8, 8) * 2 + temb,
      'mid.res.1': conv3(8, 8) * 2 + temb,
      'up.0.res.0': conv3(16, 8) + conv3(8, 8) + 2 * px * 16 * 8 + temb, // concat with a skip, 1x1 skip conv
      'up.0.res.1': conv3(16, 8) + conv3(8, 8) + 2 * px * 16 * 8 + temb,
      out: conv3(8, 3),
    };
    assert.deepEqual(Object.fromEntries(s.layers.map((l) => [l.name, l.flops])), expected);
    const total = Object.values(expected).reduce((a, b) => a + b, 0);
    assert.equal(s.forwardFlops, total);
    assert.equal(s.trainStepFlops, 3 * total);
    assert.deepEqual(s.input, [2, 16, 12, 6]);
    disposeModel(model);
  });

  it('attributes every parameter to a layer and counts attention on padded windows', () => {
    const model = createModel(resolveModelConfig({ frames: 4, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, windows: [3, 2], headChannels: 4, groups: 4 }));
    const s = summarizeModel(model, { height: 8, width: 8, sequences: 2 });
    assert.equal(s.layers.reduce((a, l) => a + l.params, 0), parameterCount(model));
    const attn = s.layers.find((l) => l.name === 'down.0.attn.0')!;
    // 8x8 in 3x3 windows pads to 9x9: 2 sequences × 9 windows of 4·9 = 36 tokens, 8 channels.
    const windows = 2 * 9;
    assert.equal(attn.flops, 4 * 2 * windows * 36 * 8 * 8 + 2 * 2 * windows * 36 * 36 * 8);
    assert.match(attn.detail, /padded/);
    disposeModel(model);
  });

  it('`divd model summary FILE --json` reports the parameter count of the model the file describes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'divd-summary-'));
    const file = path.join(dir, 'trial.json');
    const section = { baseChannels: 8, channelMults: [1, 2], resBlocks: 1, windows: [2, 1], headChannels: 8, groups: 4 };
    await writeFile(file, JSON.stringify({ base: { model: section } }));
    const r = divd(['model', 'summary', file, '--json', '--size', '32x16', '--frames', '3']);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as ModelSummary;
    const model = createModel(resolveModelConfig({ ...section, frames: 3 }));
    assert.equal(s.parameters, parameterCount(model));
    assert.deepEqual(s.input, [3, 32, 16, 6]);
    disposeModel(model);

    const text = divd(['model', 'summary', file, '--size', '32']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /training step \(3x\)\s+[\d.]+ [kMGT]?FLOP/);
  });

  it('bad input exits 2 with the file, field or flag named', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'divd-summary-'));
    const file = path.join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ model: { windows: [4, 3, 2] } }));
    const r = divd(['model', 'summary', file]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.json: model\.windows: has 3 entries but .*channelMults has 4/);
    const size = divd(['model', 'summary', '--size', '100']);
    assert.equal(size.status, 2);
    assert.match(size.stderr, /--size: model input 100x100 must be divisible by 8/);
    const missing = divd(['model', 'summary', path.join(dir, 'nope.json')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nope\.json: cannot read \(ENOENT\)/);
  });
});
