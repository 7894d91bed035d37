import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from './helpers/backends.ts';
import { disposeModel, type DivdModel } from '../src/model/index.ts';
import { CheckpointDir, Trainer, TrainingDiverged, type TrainConfig } from '../src/train/index.ts';
import { ArraySource, tinyModel, tinyObjective, tinyTrainConfig } from './helpers/train-fixtures.ts';

await useBackend('wasm');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'divd-train-'));
}

function weights(model: DivdModel): Map<string, Float32Array> {
  return new Map(model.params.names().map((n, i) => [n, model.params.variables()[i]!.dataSync() as Float32Array]));
}

function trainer(model: DivdModel, dir: string, config: TrainConfig, source = new ArraySource(9), hooks = {}): Trainer {
  const validation = [new ArraySource(77).next(1)];
  return new Trainer({ model, objective: tinyObjective(), config, source, validation, checkpoints: new CheckpointDir(dir, { keepLast: config.keepLast, configHash: 'tiny' }), hooks });
}

class Stop extends Error {}

test('a run stopped after a checkpoint and resumed ends with bit-identical weights, EMA and optimizer state', async () => {
  const config = tinyTrainConfig();
  const straightModel = tinyModel(1);
  const straight = trainer(straightModel, tempDir(), config);
  await straight.run();
  const want = weights(straightModel);
  const wantEma = straight.emaWeights();

  const dir = tempDir();
  const firstModel = tinyModel(1);
  const first = trainer(firstModel, dir, config, new ArraySource(9), {
    onCheckpoint: (step: number) => {
      if (step === 4) throw new Stop();
    },
  });
  await assert.rejects(() => first.run(), Stop);
  first.dispose();
  disposeModel(firstModel);

  const resumedModel = tinyModel(12345); // different initialisation: everything must come from the checkpoint
  const resumed = trainer(resumedModel, dir, config, new ArraySource(555));
  assert.equal(resumed.resume(), 4);
  assert.equal(await resumed.run(), 6);
  for (const [name, w] of want) assert.deepEqual(weights(resumedModel).get(name), w, `weights ${name}`);
  for (const [name, w] of wantEma) assert.deepEqual(resumed.emaWeights().get(name), w, `ema ${name}`);
  for (const t of [straight, resumed]) t.dispose();
  for (const m of [straightModel, resumedModel]) disposeModel(m);
});

test('a NaN loss stops training naming the step and restores the last good checkpoint', async () => {
  const dir = tempDir();
  const model = tinyModel(2);
  const source = new ArraySource(9);
  source.poisonAt = 5; // the 5th batch is step 5 (accumulate 1)
  const t = trainer(model, dir, tinyTrainConfig({ steps: 8 }), source);
  await assert.rejects(
    () => t.run(),
    (e: unknown) => e instanceof TrainingDiverged && e.step === 5 && /step 5: the loss is not finite; weights restored to the checkpoint of step 4/.test(e.message),
  );
  const inMemory = weights(model);
  // Loading the step-4 checkpoint into a fresh model gives exactly the weights left in memory.
  const freshModel = tinyModel(99);
  const fresh = trainer(freshModel, dir, tinyTrainConfig({ steps: 8 }));
  assert.equal(fresh.resume(), 4);
  for (const [name, w] of weights(freshModel)) assert.deepEqual(inMemory.get(name), w, name);
  for (const x of [t, fresh]) x.dispose();
  for (const m of [model, freshModel]) disposeModel(m);
});

test('gradient accumulation of k micro-batches gives the update of one batch k times larger', async () => {
  // Same data order and the same per-window t and noise; only the summation order differs. A large Adam ε
  // makes the update scale with the gradient, so a sum in place of the mean would show.
  const a = tinyModel(4);
  const b = tinyModel(4);
  const ta = trainer(a, tempDir(), tinyTrainConfig({ steps: 2, batch: 1, accumulate: 2, gradClip: 0, eps: 1, lr: 0.1 }));
  const tb = trainer(b, tempDir(), tinyTrainConfig({ steps: 2, batch: 2, accumulate: 1, gradClip: 0, eps: 1, lr: 0.1 }));
  await ta.run();
  await tb.run();
  const before = weights(tinyModel(4));
  const wa = weights(a);
  const wb = weights(b);
  let diff = 0;
  let moved = 0;
  for (const [n, x] of wa) {
    const y = wb.get(n)!;
    const x0 = before.get(n)!;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      moved = Math.max(moved, Math.abs(x[i]! - x0[i]!));
    }
  }
  assert.ok(moved > 1e-4, `training moved the weights (${moved})`);
  assert.ok(diff < 1e-3 * moved, `accumulated vs batched weights differ by ${diff} (moved ${moved})`);
  for (const t of [ta, tb]) t.dispose();
  for (const m of [a, b]) disposeModel(m);
});

test('memory stays flat across training steps (no tensor leaks)', async () => {
  const model = tinyModel(5);
  const counts: number[] = [];
  const t = trainer(model, tempDir(), tinyTrainConfig({ steps: 8, validateEvery: 2, checkpointEvery: 3 }), new ArraySource(9), {
    onStep: () => counts.push(tf.memory().numTensors),
  });
  await t.run();
  assert.equal(counts.length, 8);
  assert.deepEqual(new Set(counts.slice(2)).size, 1, `tensor counts per step: ${counts.join(' ')}`);
  t.dispose();
  disposeModel(model);
});

test('a training checkpoint is a model file: its EMA group loads into a fresh model for sampling', async () => {
  const { readFileSync } = fs;
  const { unwrapCheckpoint } = await import('../src/train/index.ts');
  const { decodeCheckpoint, modelFromCheckpoint } = await import('../src/model/index.ts');
  const dir = tempDir();
  const model = tinyModel(6);
  const t = trainer(model, dir, tinyTrainConfig({ steps: 2, checkpointEvery: 2 }));
  await t.run();
  const file = new CheckpointDir(dir, { keepLast: 2, configHash: 'tiny' }).list().at(-1)!.file;
  const ck = decodeCheckpoint(unwrapCheckpoint(readFileSync(file), file).payload, file);
  assert.equal(ck.step, 2);
  const sampler = modelFromCheckpoint(ck, file, 'ema');
  const ema = t.emaWeights();
  for (const [i, name] of sampler.params.names().entries()) assert.deepEqual(sampler.params.variables()[i]!.dataSync(), ema.get(name), name);
  t.dispose();
  disposeModel(model);
  disposeModel(sampler);
});
