import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CheckpointConfigMismatch, CheckpointDir, unwrapCheckpoint, wrapCheckpoint } from '../src/train/checkpoints.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'divd-ckpt-'));
}

const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);

test('a saved checkpoint loads back with its payload, step and validation loss', () => {
  const ckpt = new CheckpointDir(tempDir(), { keepLast: 3, configHash: 'cfg1' });
  ckpt.save(10, bytes(100, 1));
  ckpt.save(20, bytes(50, 2), 0.5);
  const latest = ckpt.loadLatest();
  assert.equal(latest?.step, 20);
  assert.equal(latest?.valLoss, 0.5);
  assert.deepEqual(new Uint8Array(latest!.payload), bytes(50, 2));
});

test('keeps the last K checkpoints plus the best by validation loss', () => {
  const ckpt = new CheckpointDir(tempDir(), { keepLast: 2, configHash: 'cfg1' });
  const losses = [0.9, 0.2, 0.7, 0.8, 0.6];
  losses.forEach((loss, i) => ckpt.save((i + 1) * 100, bytes(10, i), loss));
  assert.deepEqual(
    ckpt.list().map((e) => e.step),
    [200, 400, 500],
  );
  assert.equal(ckpt.best()?.step, 200);
  const index = JSON.parse(fs.readFileSync(path.join(ckpt.dir, 'index.json'), 'utf8')) as Record<string, number>;
  assert.deepEqual(Object.keys(index).sort(), ['200', '400', '500'], 'index forgets pruned checkpoints');
});

test('a damaged or truncated newest checkpoint is skipped with a warning, falling back to the previous one', () => {
  const ckpt = new CheckpointDir(tempDir(), { keepLast: 5, configHash: 'cfg1' });
  ckpt.save(1, bytes(1000, 1));
  const second = ckpt.save(2, bytes(1000, 2));
  const third = ckpt.save(3, bytes(1000, 3));
  const b = fs.readFileSync(third.file);
  b[b.length - 10] ^= 0xff;
  fs.writeFileSync(third.file, b);
  fs.truncateSync(second.file, 500);
  const warnings: string[] = [];
  const loaded = ckpt.loadLatest((m) => warnings.push(m));
  assert.equal(loaded?.step, 1);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /step-000000003\.ckpt: checksum mismatch/);
  assert.match(warnings[1]!, /step-000000002\.ckpt: truncated/);
});

test('a checkpoint of another config is refused with a message naming both', () => {
  const dir = tempDir();
  new CheckpointDir(dir, { keepLast: 2, configHash: 'aaaa' }).save(5, bytes(4, 0));
  const other = new CheckpointDir(dir, { keepLast: 2, configHash: 'bbbb' });
  assert.throws(() => other.loadLatest(), (e: unknown) => e instanceof CheckpointConfigMismatch && /for config aaaa.*config is bbbb/.test((e as Error).message));
});

test('the container rejects files that are not checkpoints', () => {
  assert.throws(() => unwrapCheckpoint(Buffer.from('hello'), 'x.ckpt'), /x\.ckpt: not a divd checkpoint/);
  const ok = wrapCheckpoint(bytes(3, 9), 'h');
  ok.writeUInt32LE(7, 8);
  assert.throws(() => unwrapCheckpoint(ok, 'y.ckpt'), /y\.ckpt: checkpoint version 7/);
  assert.throws(() => wrapCheckpoint(bytes(1, 0), 'has space'), /config hash must be/);
});

test('SIGKILL at random moments while saving never leaves an unreadable latest checkpoint', async () => {
  const dir = tempDir();
  const writer = path.join(import.meta.dirname, 'helpers', 'checkpoint-writer.ts');
  for (let round = 0; round < 6; round++) {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    // Wait until it is in its save loop (start-up time varies with load), then kill it at a varying moment.
    await new Promise((r) => child.stdout.once('data', r));
    await new Promise((r) => setTimeout(r, 40 + round * 61));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const leftovers = fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));
    const ckpt = new CheckpointDir(dir, { keepLast: 2, configHash: 'abc123' });
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')).length, 0, 'temp files are cleaned on open');
    const warnings: string[] = [];
    const latest = ckpt.loadLatest((m) => warnings.push(m));
    assert.deepEqual(warnings, [], `round ${round}: no damaged file (leftover temps: ${leftovers.length})`);
    if (!latest) continue; // killed before the first save finished
    assert.equal(latest.payload.length, 8_000_000 + latest.step * 1000);
    assert.ok(latest.payload.every((x) => x === latest.step % 251), `round ${round}: payload of step ${latest.step} intact`);
  }
  assert.ok((new CheckpointDir(dir, { keepLast: 2, configHash: 'abc123' }).loadLatest()?.step ?? 0) > 0, 'some checkpoint was written');
});
