/**
 * sample.window: how restore cuts a test sequence into F-frame windows — `blocks` (non-overlapping, every
 * output kept, the paper's) or `centre` (one window per frame, its centre output kept, borders padded by
 * data.padding) — from the window positions through config validation, restoreSequences and the work estimate.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDataset, readImageFloat, restoreWindowCount, restoreWindows, synthesize, SYNTH_DEFAULTS, PADDING_POLICIES, type PaddingPolicy, type Sequence } from '../datasets/index.ts';
import { resolveDiffusionConfig, resolveSampleConfig } from '../src/diffusion/index.ts';
import { createModel, disposeModel, resolveModelConfig } from '../src/model/index.ts';
import { restoreSequences } from '../src/runner/restore.ts';
import { parseSpec, trialId } from '../src/spec/index.ts';
import { sampleOverrides } from '../src/cli/stages.ts';
import { planSpec } from '../src/cli/plan.ts';
import { UsageError } from '../src/errors.ts';
import { useBackend } from './helpers/backends.ts';
import { TINY_BASE } from './helpers/tiny-spec.ts';

/** Where frame i of a sequence of `length` lands under each padding policy (datasets.md; BasicSR's rules). */
function padded(i: number, length: number, frames: number, start: number, padding: PaddingPolicy): number {
  const last = length - 1;
  const end = start + frames - 1;
  if (i >= 0 && i <= last) return i;
  if (padding === 'replicate') return i < 0 ? 0 : last;
  if (padding === 'reflection') return i < 0 ? -i : 2 * last - i;
  if (padding === 'reflection_circle') return i < 0 ? end - i : start - (i - last);
  return i < 0 ? frames + i : i - frames; // circle
}

const LENGTHS = [1, 2, 3, 4, 5, 7, 8, 11];
const FRAME_COUNTS = [1, 2, 3, 4, 5];

describe('restore windows: which frames each forward pass sees and keeps', () => {
  it('hand-computed windows: blocks keep every output, centre keeps position ⌊F/2⌋ (the middle of 3 and 5, the third of 4)', () => {
    assert.deepEqual(restoreWindows(6, 4, 'replicate', 'blocks'), [
      { indices: [0, 1, 2, 3], keep: [0, 1, 2, 3].map((p) => ({ position: p, frame: p })) },
      { indices: [4, 5, 5, 5], keep: [{ position: 0, frame: 4 }, { position: 1, frame: 5 }] },
    ]);
    assert.deepEqual(restoreWindows(3, 4, 'replicate', 'centre'), [
      { indices: [0, 0, 0, 1], keep: [{ position: 2, frame: 0 }] },
      { indices: [0, 0, 1, 2], keep: [{ position: 2, frame: 1 }] },
      { indices: [0, 1, 2, 2], keep: [{ position: 2, frame: 2 }] },
    ]);
    assert.deepEqual(restoreWindows(10, 5, 'reflection', 'centre')[0], { indices: [2, 1, 0, 1, 2], keep: [{ position: 2, frame: 0 }] });
    assert.deepEqual(restoreWindows(10, 5, 'circle', 'centre')[9], { indices: [7, 8, 9, 5, 6], keep: [{ position: 2, frame: 9 }] });
    assert.deepEqual(restoreWindows(10, 3, 'reflection_circle', 'centre')[0], { indices: [2, 0, 1], keep: [{ position: 1, frame: 0 }] });
  });

  for (const mode of ['blocks', 'centre'] as const) {
    it(`${mode}: every frame is restored exactly once, in order, from the output position that holds it (lengths ${LENGTHS.join(',')}, F ${FRAME_COUNTS.join(',')}, every padding policy)`, () => {
      let tooShort = 0;
      for (const padding of PADDING_POLICIES) {
        for (const length of LENGTHS) {
          for (const F of FRAME_COUNTS) {
            let windows;
            try {
              windows = restoreWindows(length, F, padding, mode);
            } catch (e) {
              // Reflection and circle need enough frames to mirror or wrap; replicate always works.
              assert.notEqual(padding, 'replicate');
              assert.match((e as Error).message, new RegExp(`a sequence of ${length} frames is too short for ${padding} padding .*; use replicate`));
              tooShort += 1;
              continue;
            }
            const where = `${mode} ${padding} length ${length} F ${F}`;
            assert.equal(windows.length, mode === 'blocks' ? Math.ceil(length / F) : length, where);
            assert.equal(restoreWindowCount(length, F, mode), windows.length, where);
            assert.deepEqual(windows.flatMap((w) => w.keep.map((k) => k.frame)), [...Array(length).keys()], where);
            windows.forEach((w, n) => {
              // Blocks start at n·F; a centre window starts ⌊F/2⌋ frames before its frame.
              const start = mode === 'blocks' ? n * F : n - Math.floor(F / 2);
              assert.deepEqual(w.indices, Array.from({ length: F }, (_, j) => padded(start + j, length, F, start, padding)), where);
              for (const k of w.keep) {
                assert.equal(w.indices[k.position], k.frame, `${where}: output ${k.position} is not frame ${k.frame}`);
                if (mode === 'centre') assert.equal(k.position, Math.floor(F / 2), where);
              }
              if (mode === 'centre') assert.equal(w.keep.length, 1, where);
            });
          }
        }
      }
      assert.ok(tooShort > 0 && tooShort < 100, 'some short sequences are refused by mirroring policies, not all');
    });
  }
});

describe('sample.window config', () => {
  it('resolveSampleConfig defaults to blocks, accepts centre, and names sample.window with the allowed values otherwise', () => {
    assert.equal(resolveSampleConfig({}).window, 'blocks');
    assert.equal(resolveSampleConfig({ window: 'centre' }).window, 'centre');
    for (const bad of ['center', 'middle', 2, null]) {
      assert.throws(() => resolveSampleConfig({ window: bad }), (e: unknown) => e instanceof UsageError && /^sample\.window: expected one of blocks, centre, got /.test(e.message));
    }
    assert.throws(() => resolveSampleConfig({ window: 'sliding' }, 'base.sample'), { message: 'base.sample.window: expected one of blocks, centre, got "sliding"' });
  });

  it('a spec with a wrong sample.window fails naming the path, the line and the allowed values', () => {
    const spec = `name: bad\nbase:\n  sample:\n    window: center\n`;
    assert.throws(() => parseSpec(spec, 'bad.yaml'), (e: unknown) => {
      const m = (e as Error).message;
      return e instanceof UsageError && /bad\.yaml:4/.test(m) && /sample\.window/.test(m) && /blocks/.test(m) && /centre/.test(m);
    });
  });

  it('the default keeps existing trial ids: a config without the key (as before it existed) hashes like window: blocks; centre is another trial', () => {
    const plan = parseSpec(`name: ids\nsweep:\n  sample.window: [blocks, centre]\n`, 'ids.yaml');
    const [blocks, centre] = plan.trials;
    assert.ok(blocks && centre);
    assert.deepEqual([blocks.config.sample.window, centre.config.sample.window], ['blocks', 'centre']);
    assert.notEqual(blocks.id, centre.id);
    assert.equal(parseSpec('name: ids\n', 'ids.yaml').trials[0]!.id, blocks.id);
    const older = structuredClone(blocks.config) as unknown as { sample: Record<string, unknown> };
    delete older.sample.window;
    delete older.sample.spacing;
    assert.equal(trialId(older as unknown as typeof blocks.config), blocks.id);
  });

  it('--window of divd sample and divd deblur overrides the trial and is refused unless blocks or centre', () => {
    assert.deepEqual(sampleOverrides({ window: 'centre' }), { window: 'centre' });
    assert.deepEqual(sampleOverrides({}), {});
    assert.throws(() => sampleOverrides({ window: 'center' }), (e: unknown) => e instanceof UsageError && /--window must be blocks or centre, got "center"/.test(e.message));
    assert.deepEqual(sampleOverrides({ spacing: 'trailing', steps: 1 }), { spacing: 'trailing', steps: 1 });
    assert.throws(() => sampleOverrides({ spacing: 'linspace' }), (e: unknown) => e instanceof UsageError && /--spacing must be leading or trailing, got "linspace"/.test(e.message));
  });
});

describe('restoring in centre mode', () => {
  let dir = '';
  let seq: Sequence;
  before(async () => {
    process.env.DIVD_THREADS ??= '1';
    await useBackend('wasm');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-restore-window-'));
    // 6 frames of 24x18: 18 rows are padded to 20 for the UNet and cropped back.
    await synthesize(path.join(dir, 'data'), { ...SYNTH_DEFAULTS, sequences: 1, testSequences: 0, frames: 6, width: 24, height: 18, seed: 5 });
    [seq] = openDataset({ kind: 'folders', root: path.join(dir, 'data') }).train as [Sequence];
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // An untrained x0 model has a zero output layer: it predicts a zero residual, so restoring gives back the
  // blurry window; a frame written from the wrong output position would then be a neighbouring blurry frame.
  for (const [label, sample, padding] of [
    ['whole frames, replicate padding', { steps: 3, window: 'centre' }, 'replicate'],
    ['12-pixel tiles, reflection padding', { steps: 2, window: 'centre', tile: 12, tileOverlap: 4 }, 'reflection'],
  ] as const) {
    it(`an untrained residual x0 model restores exactly the blurry input, one output per frame (${label})`, async () => {
      const blurry = await Promise.all(seq.frames.map((f) => readImageFloat(f.blurry)));
      const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
      for (let i = 1; i < blurry.length; i++) assert.ok(maxDiff(blurry[i]!.data, blurry[i - 1]!.data) > 10 / 255, 'neighbouring frames differ');

      const model = createModel(resolveModelConfig({ frames: 4, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, windows: [2, 1], headChannels: 8, groups: 4 }), 3);
      const samplesDir = path.join(dir, `samples-${padding}`);
      const progress: [number, number][] = [];
      let written: number;
      try {
        written = await restoreSequences(model, [seq], {
          diffusion: resolveDiffusionConfig({ prediction: 'x0', residual: true, timesteps: 100 }),
          sample: resolveSampleConfig(sample),
          padding,
          samplesDir,
          onWindow: (done, total) => progress.push([done, total]),
        });
      } finally {
        disposeModel(model);
      }
      assert.equal(written, seq.frames.length);
      assert.deepEqual(progress, seq.frames.map((_, i) => [i + 1, seq.frames.length]), 'one window per frame');
      const names = seq.frames.map((f) => f.name.replace(/\.[^.]+$/, '.png'));
      assert.deepEqual(fs.readdirSync(path.join(samplesDir, seq.name)).sort(), [...names].sort());
      for (const [i, name] of names.entries()) {
        const out = await readImageFloat(path.join(samplesDir, seq.name, name));
        assert.deepEqual([out.width, out.height], [24, 18]);
        const worst = maxDiff(out.data, blurry[i]!.data);
        assert.ok(worst <= 1 / 255 + 1e-6, `${name}: differs from its blurry frame by up to ${(worst * 255).toFixed(2)} levels`);
      }
    });
  }
});

describe('work estimate (divd plan)', () => {
  let tmp = '';
  before(async () => {
    await useBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-window-plan-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('counts ⌈n/F⌉ windows per sequence for blocks and n for centre, times sampler steps and tiles', async () => {
    // One test sequence of 5 frames of 20x24, F = 4; 16-pixel tiles overlapping by 4: 2 x 2 = 4 tiles.
    // blocks: ⌈5/4⌉ = 2 windows x 3 steps x 4 tiles = 24 passes; centre: 5 x 3 x 4 = 60; DDPM: T = 100 steps.
    const spec = `name: windows\nbase:\n${TINY_BASE}\n  sample: { sampler: ddim, steps: 3, tile: 16, tileOverlap: 4 }\n  train: { steps: 2, batch: 1 }\n  tracking: { uri: none }\n` +
      `sweep:\n  sample.window: [blocks, centre]\n  sample.sampler: [ddim, ddpm]\n`;
    fs.writeFileSync(path.join(tmp, 'spec.yaml'), spec);
    const r = await planSpec(path.join(tmp, 'spec.yaml'), path.join(tmp, 'runs'));
    const work = (window: string, sampler: string) => {
      const t = r.trials.find((x) => x.swept['sample.window'] === window && x.swept['sample.sampler'] === sampler)!;
      return [t.work.testFrames, t.work.testWindows, t.work.samplerSteps, t.work.tilesPerWindow, t.work.forwardPasses];
    };
    assert.deepEqual(work('blocks', 'ddim'), [5, 2, 3, 4, 24]);
    assert.deepEqual(work('centre', 'ddim'), [5, 5, 3, 4, 60]);
    assert.deepEqual(work('blocks', 'ddpm'), [5, 2, 100, 4, 800]);
    assert.deepEqual(work('centre', 'ddpm'), [5, 5, 100, 4, 2000]);
  });
});
