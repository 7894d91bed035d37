/**
 * The held-out diffusion loss (eval.testLoss): every test frame scored once with noise that depends only on
 * its sequence and index, so the number is comparable across F. Checked against closed forms on models
 * whose output is known: an untrained DIVD UNet predicts exactly zero (its output convolution starts at 0).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDataset, readImageFloat, synthesize, SYNTH_DEFAULTS, type Sequence } from '../datasets/index.ts';
import { resolveDiffusionConfig } from '../src/diffusion/index.ts';
import { createModel, disposeModel, resolveModelConfig, type DivdModel } from '../src/model/index.ts';
import { inputTestLoss, TEST_LOSS_LEVELS, testLoss } from '../src/runner/test-loss.ts';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from './helpers/backends.ts';

function untrained(frames: number): DivdModel {
  return createModel(resolveModelConfig({ frames, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, windows: [2, 1], headChannels: 8, groups: 4 }), 3);
}

describe('held-out diffusion loss', () => {
  let dir: string;
  let test: Sequence[];
  before(async () => {
    await useBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-test-loss-'));
    await synthesize(path.join(dir, 'data'), { ...SYNTH_DEFAULTS, sequences: 2, testSequences: 0, frames: 5, width: 16, height: 12, seed: 9 });
    test = openDataset({ kind: 'folders', root: path.join(dir, 'data') }).train;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('an untrained residual x0 model scores exactly the residual energy 4·mean((sharp − blurry)²) at every level, for any F', async () => {
    let sum = 0;
    let count = 0;
    for (const s of test) {
      for (const f of s.frames) {
        const [a, b] = [await readImageFloat(f.sharp), await readImageFloat(f.blurry)];
        for (let i = 0; i < a.data.length; i++) sum += 4 * (a.data[i]! - b.data[i]!) ** 2;
        count += a.data.length;
      }
    }
    const expected = sum / count;
    const diffusion = resolveDiffusionConfig({ timesteps: 100, prediction: 'x0', residual: true });
    for (const frames of [1, 2, 4]) {
      const model = untrained(frames);
      const r = await testLoss(model, test, { diffusion, padding: 'replicate' });
      disposeModel(model);
      assert.equal(r.levels.length, TEST_LOSS_LEVELS.length);
      assert.ok(Math.abs(r.loss - expected) < 1e-6 * expected, `F=${frames}: ${r.loss} vs ${expected}`);
      for (const v of Object.values(r.byTimestep)) assert.ok(Math.abs(v - expected) < 1e-6 * expected, `F=${frames} level: ${v}`);
    }
  });

  it('the blurry input\'s loss (the report\'s input row) is what a model predicting a zero residual scores; none for ε or v', async () => {
    const residual = resolveDiffusionConfig({ timesteps: 100, prediction: 'x0', residual: true });
    const model = untrained(2);
    const zero = (await testLoss(model, test, { diffusion: residual, padding: 'replicate' })).loss;
    disposeModel(model);
    const input = await inputTestLoss(test, residual);
    assert.ok(input !== undefined && Math.abs(input - zero) < 1e-6 * zero, `${input} vs ${zero}`);
    // Predicting the sharp frame directly, returning the input is the same error.
    const direct = await inputTestLoss(test, resolveDiffusionConfig({ timesteps: 100, prediction: 'x0' }));
    assert.ok(direct !== undefined && Math.abs(direct - input) < 1e-12);
    assert.equal(await inputTestLoss(test, resolveDiffusionConfig({ timesteps: 100, prediction: 'eps' })), undefined);
    assert.equal(await inputTestLoss(test, resolveDiffusionConfig({ timesteps: 100, prediction: 'v' })), undefined);
  });

  it('an untrained ε model scores the mean square of the noise, the same for F = 1, 2, 4: each frame\'s noise is its own and padding frames do not count', async () => {
    const diffusion = resolveDiffusionConfig({ timesteps: 100, prediction: 'eps' });
    const losses: number[] = [];
    for (const frames of [1, 2, 4]) {
      const model = untrained(frames);
      losses.push((await testLoss(model, test, { diffusion, padding: 'replicate' })).loss);
      disposeModel(model);
    }
    // 2 sequences x 5 frames x 12x16x3 standard normal values per level: the mean square is near 1.
    assert.ok(Math.abs(losses[0]! - 1) < 0.05, `noise mean square ${losses[0]}`);
    assert.ok(Math.abs(losses[1]! - losses[0]!) < 1e-6 && Math.abs(losses[2]! - losses[0]!) < 1e-6, losses.join(' '));
    // Another seed draws other noise.
    const model = untrained(2);
    const other = (await testLoss(model, test, { diffusion, padding: 'replicate', seed: 1 })).loss;
    disposeModel(model);
    assert.ok(Math.abs(other - losses[0]!) > 1e-6, 'the seed changes the noise');
  });

  it('a model that predicts something scores differently from one that predicts nothing', async () => {
    const diffusion = resolveDiffusionConfig({ timesteps: 100, prediction: 'x0', residual: true });
    const model = untrained(2);
    const before = (await testLoss(model, test, { diffusion, padding: 'replicate' })).loss;
    // Give the output convolution a non-zero bias: every prediction moves by a constant.
    const bias = model.params.variables()[model.params.names().indexOf('out.conv.b')];
    assert.ok(bias, `an output bias among ${model.params.names().slice(-4).join(', ')}`);
    bias.assign(bias.add(0.1));
    const after = (await testLoss(model, test, { diffusion, padding: 'replicate' })).loss;
    disposeModel(model);
    assert.ok(after > before, `${after} > ${before}`);
  });

  it('isolated context (divd probe): without a path between frames a frame scores the same alone as in its window; with one it does not', async () => {
    const diffusion = resolveDiffusionConfig({ timesteps: 100, prediction: 'x0', residual: true });
    /** Random values for the zero-initialised parameters that match `pick`, so the model predicts something. */
    const wake = (model: DivdModel, pick: (name: string) => boolean, seed: number) => {
      let k = seed;
      model.params.names().forEach((name, i) => {
        if (!pick(name)) return;
        const v = model.params.variables()[i]!;
        // A fixed pseudo-random fill (no tf randomness: the test must give the same numbers every run).
        v.assign(tf.tensor(Array.from({ length: v.size }, () => (((k = (k * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5) * 0.2), v.shape));
      });
    };
    const attentionOut = (n: string) => /\.attn(\.\d+)?\.out\./.test(n); // mid.attn.out too
    for (const frames of [2, 4]) {
      const model = untrained(frames);
      // Everything but the attention output projections: frames stay independent (GroupNorm and convolutions
      // work per frame; frame PE and the relative bias act only through attention).
      wake(model, (n) => !attentionOut(n) && /\.(w|b)$/.test(n), 7);
      const inWindow = await testLoss(model, test, { diffusion, padding: 'replicate' });
      const alone = await testLoss(model, test, { diffusion, padding: 'replicate', context: 'isolated' });
      assert.ok(Math.abs(inWindow.loss - alone.loss) < 1e-6 * inWindow.loss, `F=${frames}: ${alone.loss} vs ${inWindow.loss}`);
      // The model predicts something (not the zero residual), so agreeing is not trivial.
      const zero = untrained(frames);
      const nothing = (await testLoss(zero, test, { diffusion, padding: 'replicate' })).loss;
      disposeModel(zero);
      assert.ok(Math.abs(inWindow.loss - nothing) > 1e-3 * nothing, `${inWindow.loss} vs ${nothing}`);
      // Open the path between frames: the other frames of the window now change every prediction.
      wake(model, attentionOut, 11);
      const inWindow2 = await testLoss(model, test, { diffusion, padding: 'replicate' });
      const alone2 = await testLoss(model, test, { diffusion, padding: 'replicate', context: 'isolated' });
      disposeModel(model);
      assert.ok(Math.abs(inWindow2.loss - alone2.loss) > 1e-5 * inWindow2.loss, `F=${frames}: ${alone2.loss} vs ${inWindow2.loss}`);
    }
    // F = 1: a frame's window is the frame itself, so the two are one computation.
    const single = untrained(1);
    wake(single, (n) => /\.(w|b)$/.test(n), 5);
    const a = await testLoss(single, test, { diffusion, padding: 'replicate' });
    const b = await testLoss(single, test, { diffusion, padding: 'replicate', context: 'isolated' });
    disposeModel(single);
    assert.equal(a.loss, b.loss);
  });
});
