import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeCheckpoint,
  disposeModel,
  loadIntoModel,
  modelCheckpoint,
  modelFromCheckpoint,
  predict,
  readCheckpoint,
  saveCheckpoint,
} from '../src/model/index.ts';
import { UsageError } from '../src/errors.ts';
import { useBackend } from './helpers/backends.ts';
import { perturb, randomImages, tinyModel } from './helpers/model.ts';

describe('checkpoints', () => {
  before(() => useBackend('wasm'));

  it('round-trips weights, config, step, extra groups and metadata; a fresh model then predicts identically', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'divd-ckpt-'));
    const path = join(dir, 'nested', 'step-12.safetensors');
    const a = tinyModel({}, 1);
    perturb(a, 2);
    const extra = new Map([['ema/in.w', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-30, -0, 7]) }]]);
    await saveCheckpoint(path, modelCheckpoint(a, 12, extra, { trial: 'abc123' }));
    assert.deepEqual(await readdir(join(dir, 'nested')), ['step-12.safetensors'], 'no temp file left behind');

    const ck = await readCheckpoint(path);
    assert.equal(ck.step, 12);
    assert.deepEqual(ck.config, a.config);
    assert.deepEqual(ck.metadata, { trial: 'abc123' });
    assert.deepEqual(Array.from(ck.tensors.get('ema/in.w')!.data), [1, -2, 3.5, 1e-30, -0, 7].map((v) => Math.fround(v)));
    for (const [name, t] of a.params.snapshot()) {
      assert.deepEqual(ck.tensors.get(name)!.shape, t.shape);
      assert.deepEqual(ck.tensors.get(name)!.data, t.data, name);
    }

    const b = tinyModel({}, 99); // different initial weights
    loadIntoModel(b, ck, path);
    const x = randomImages([4, 8, 8, 3], 3);
    const y = randomImages([4, 8, 8, 3], 4);
    assert.deepEqual(predict(b, x, y, [5, 6]).dataSync(), predict(a, x, y, [5, 6]).dataSync());
    const c = modelFromCheckpoint(ck, path);
    assert.deepEqual(predict(c, x, y, [5, 6]).dataSync(), predict(a, x, y, [5, 6]).dataSync());
    for (const m of [a, b, c]) disposeModel(m);
  });

  it('follows the safetensors layout: u64 header length, 8-byte aligned JSON header, F32 offsets', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'divd-ckpt-'));
    const path = join(dir, 'a.safetensors');
    const m = tinyModel();
    await saveCheckpoint(path, modelCheckpoint(m, 3));
    const bytes = await readFile(path);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal(n % 8, 0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
    const entries = Object.entries(header).filter(([k]) => k !== '__metadata__');
    assert.equal(entries.length, m.params.names().length);
    const end = Math.max(...entries.map(([, e]) => e.data_offsets[1]!));
    assert.equal(bytes.length, 8 + n + end);
    const [name, e] = entries[0]!;
    assert.equal(e.dtype, 'F32');
    assert.equal(bytes.readFloatLE(8 + n + e.data_offsets[0]!), m.params.snapshot().get(name)!.data[0]);
    disposeModel(m);
  });

  it('loading into a different model says exactly what differs', () => {
    const small = tinyModel();
    const ck = modelCheckpoint(small, 0);
    const wide = tinyModel({ baseChannels: 16 });
    assert.throws(
      () => loadIntoModel(wide, ck, 'runs/x/ckpt.safetensors'),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message.startsWith('runs/x/ckpt.safetensors does not fit this model:') &&
        e.message.includes('model config differs: baseChannels 8 in the checkpoint, 16 in the model') &&
        /shape mismatch\(es\): .*in\.w is \[3,3,6,8\] in the checkpoint, \[3,3,6,16\] in the model/.test(e.message) &&
        !/missing/.test(e.message),
    );
    const noAttention = tinyModel({ attention: 'none' });
    assert.throws(
      () => loadIntoModel(noAttention, ck),
      (e: unknown) => e instanceof UsageError && /\d+ checkpoint tensor\(s\) the model does not have: down\.0\.attn\.0\./.test(e.message),
    );
    const noPE = modelCheckpoint(tinyModel({ mrpe: { framePE: false, relBias: true } }), 0);
    assert.throws(
      () => loadIntoModel(small, noPE),
      (e: unknown) => e instanceof UsageError && /7 model parameter\(s\) missing from the checkpoint: down\.0\.attn\.0\.framePE/.test(e.message),
    );
    for (const m of [small, wide, noAttention]) disposeModel(m);
  });

  it('rejects truncated and foreign files with the path in the message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'divd-ckpt-'));
    const m = tinyModel();
    const path = join(dir, 'cut.safetensors');
    await saveCheckpoint(path, modelCheckpoint(m, 1));
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 4));
    await assert.rejects(readCheckpoint(path), /checkpoint .*cut\.safetensors: tensor .* do not fit its shape or the file/);
    await assert.rejects(readCheckpoint(join(dir, 'absent')), /absent: cannot read \(ENOENT\)/);
    const foreign = Buffer.alloc(8 + 8);
    foreign.writeBigUInt64LE(8n, 0);
    foreign.write('{"a":1} ', 8);
    assert.throws(() => decodeCheckpoint(new Uint8Array(foreign), 'x.st'), /checkpoint x\.st: no divd metadata/);
    disposeModel(m);
  });
});
