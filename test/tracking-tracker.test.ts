import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTracker, flattenParams } from '../src/tracking/index.ts';
import { Spool, SPOOL_FILE } from '../src/tracking/spool/spool.ts';

describe('tracker odds and ends', () => {
  it('flattens a trial config into dotted params, arrays as JSON', () => {
    assert.deepEqual(flattenParams({ model: { windows: [4, 3, 2, 1], mrpe: { framePE: true, relBias: false } }, train: { lr: 2e-4, ema: null }, name: 'x', empty: {} }), {
      'model.windows': '[4,3,2,1]',
      'model.mrpe.framePE': true,
      'model.mrpe.relBias': false,
      'train.lr': 2e-4,
      'train.ema': null,
      name: 'x',
      empty: '{}',
    });
  });

  it('the none tracker records nothing but still rejects what MLflow would reject', async () => {
    const t = createTracker({ uri: 'none' });
    const run = await t.startRun({ runName: 'r' });
    await run.logParams({ a: 1 });
    await run.logMetrics({ loss: NaN });
    await assert.rejects(run.logMetrics({ 'bad key!': 1 }), /metric key "bad key!"/);
    await run.end();
  });

  it('a spool line torn by a crash is skipped, and the next record starts on its own line', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'divd-torn-'));
    const file = path.join(dir, SPOOL_FILE);
    await fs.writeFile(file, '{"v":1,"seq":1,"url":"http://h","run":"r","op":"update","status":"RUNNING"}\n{"v":1,"seq":2,"url":"ht');
    const spool = await Spool.open(dir);
    await spool.append({ op: 'update', url: 'http://h', run: 'r', status: 'FINISHED', endTime: 5 });
    const records = await spool.records();
    assert.deepEqual(records.map((r) => [r.seq, r.op === 'update' && r.status]), [[1, 'RUNNING'], [2, 'FINISHED']]);
    assert.equal((await fs.readFile(file, 'utf8')).split('\n').length, 4); // record, torn line, record, ''
  });
});
