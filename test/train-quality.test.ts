/**
 * The end-to-end proof that training and sampling fit together: a tiny DIVD model trained for a few hundred
 * steps on one synthetic sequence, restored through the runner's own path (training checkpoint → EMA model →
 * restoreSequences → PNGs), beats the blurry input it was given by a clear PSNR margin.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDataset, readImageFloat, synthesize, SYNTH_DEFAULTS, type Sequence } from '../datasets/index.ts';
import { psnr } from '../metrics/index.ts';
import { makeSchedule, resolveDiffusionConfig, resolveSampleConfig, type DiffusionConfig } from '../src/diffusion/index.ts';
import { decodeCheckpoint, disposeModel, createModel, modelFromCheckpoint, resolveModelConfig } from '../src/model/index.ts';
import { WindowSource } from '../src/runner/data-source.ts';
import { restoreSequences } from '../src/runner/restore.ts';
import { CheckpointDir, DEFAULT_TRAIN_CONFIG, Trainer, unwrapCheckpoint } from '../src/train/index.ts';
import { useBackend } from './helpers/backends.ts';

const STEPS = Number(process.env.Q_STEPS ?? 200);
const SIZE = Number(process.env.Q_SIZE ?? 32);
const CROP = Number(process.env.Q_CROP ?? 32);
const LR = Number(process.env.Q_LR ?? 2e-3);
const MARGIN_DB = 1;

/** Mean PSNR over the sequence of `pred(frame)` against the sharp frames (metrics' psnr, 8-bit peak). */
async function meanPsnr(seq: Sequence, pred: (i: number) => string): Promise<number> {
  let sum = 0;
  for (const [i, f] of seq.frames.entries()) {
    const a = await readImageFloat(pred(i));
    const b = await readImageFloat(f.sharp);
    sum += psnr({ ...a, channels: 3 }, { ...b, channels: 3 });
  }
  return sum / seq.frames.length;
}

describe('training quality', () => {
  let dir: string;
  before(() => {
    process.env.DIVD_THREADS ??= '1'; // see model-overfit: one wasm thread is faster on a shared 2-core machine
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-quality-'));
    return useBackend('wasm');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('residual diffusion: an untrained x0 model (zero output layer) restores exactly the blurry input through restoreSequences', async () => {
    const data = path.join(dir, 'untrained');
    await synthesize(data, { ...SYNTH_DEFAULTS, sequences: 1, testSequences: 0, frames: 5, width: 24, height: 18, seed: 2 });
    const [seq] = openDataset({ kind: 'folders', root: data }).train;
    assert.ok(seq);
    // 18 rows are not a multiple of 4 (3 levels): restore pads to 20 and crops back, which must not shift the frames;
    // 5 frames make the second window padded at the sequence end.
    const model = createModel(resolveModelConfig({ frames: 4, baseChannels: 8, channelMults: [1, 2, 2], resBlocks: 1, windows: [2, 1, 1], headChannels: 8, groups: 4 }), 3);
    const samples = path.join(dir, 'untrained-samples');
    const diffusion = resolveDiffusionConfig({ prediction: 'x0', residual: true });
    await restoreSequences(model, [seq], { diffusion, sample: resolveSampleConfig({ steps: 5 }), padding: 'replicate', samplesDir: samples });
    disposeModel(model);
    for (const f of seq.frames) {
      const out = await readImageFloat(path.join(samples, seq.name, f.name.replace(/\.[^.]+$/, '.png')));
      const blurry = await readImageFloat(f.blurry);
      assert.equal(out.data.length, blurry.data.length);
      let worst = 0;
      for (let i = 0; i < out.data.length; i++) worst = Math.max(worst, Math.abs(out.data[i]! - blurry.data[i]!));
      assert.ok(worst <= 1 / 255 + 1e-6, `${f.name}: restored frame differs from the blurry input by up to ${worst * 255} levels`);
    }
  });

  it(`a tiny model trained ${STEPS} steps on one synthetic sequence restores it ≥ ${MARGIN_DB} dB above the blurry input (PSNR)`, async () => {
    const started = Date.now();
    const data = path.join(dir, 'data');
    await synthesize(data, { ...SYNTH_DEFAULTS, sequences: 1, testSequences: 0, frames: 8, width: SIZE, height: SIZE, seed: 1 });
    const [seq] = openDataset({ kind: 'folders', root: data }).train;
    assert.ok(seq && seq.frames.length === 8);

    const modelConfig = resolveModelConfig({ frames: 4, baseChannels: 16, channelMults: [1, 2], resBlocks: 1, windows: [2, 1], headChannels: 16, groups: 8 });
    const diffusion: DiffusionConfig = resolveDiffusionConfig({ prediction: 'x0', residual: true });
    const sample = resolveSampleConfig({ sampler: 'ddim', steps: 10, eta: 0, seed: 0 });
    const model = createModel(modelConfig, 0);
    const source = await WindowSource.open([seq], { frames: 4, crop: CROP, batch: 1, padding: 'replicate', augment: true, seed: 0 });
    const checkpoints = new CheckpointDir(path.join(dir, 'checkpoints'), { keepLast: 1, configHash: 'train-quality' });
    const trainer = new Trainer({
      model,
      objective: { schedule: makeSchedule(diffusion), prediction: diffusion.prediction, residual: diffusion.residual },
      config: { ...DEFAULT_TRAIN_CONFIG, steps: STEPS, batch: 1, crop: CROP, lr: LR, warmupSteps: 20, ema: 0.99, checkpointEvery: STEPS, keepLast: 1, validateEvery: 0, logEvery: STEPS },
      source,
      checkpoints,
    });
    await trainer.run();
    trainer.dispose();
    disposeModel(model);
    const trainedAt = Date.now();

    // Exactly what a trial does after training: the EMA weights of the last checkpoint, restoreSequences.
    const file = checkpoints.list().at(-1)!.file;
    const ema = modelFromCheckpoint(decodeCheckpoint(unwrapCheckpoint(fs.readFileSync(file), file).payload, file), file, 'ema');
    const samples = path.join(dir, 'samples');
    await restoreSequences(ema, [seq], { diffusion, sample, padding: 'replicate', samplesDir: samples });
    disposeModel(ema);

    const restored = await meanPsnr(seq, (i) => path.join(samples, seq.name, seq.frames[i]!.name.replace(/\.[^.]+$/, '.png')));
    const blurry = await meanPsnr(seq, (i) => seq.frames[i]!.blurry);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `train-quality: ${STEPS} steps in ${((trainedAt - started) / 1000).toFixed(1)} s, total ${seconds.toFixed(1)} s; ` +
        `restored ${restored.toFixed(2)} dB vs blurry ${blurry.toFixed(2)} dB`,
    );
    assert.ok(restored >= blurry + MARGIN_DB, `restored PSNR ${restored.toFixed(2)} dB is not ${MARGIN_DB} dB above the blurry input's ${blurry.toFixed(2)} dB`);
  });
});
