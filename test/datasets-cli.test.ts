import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { buildDataCommand, parseExposure, parseMotion, parseSize, parseSubframes } from '../src/cli/data.ts';
import { isUsageError } from '../src/errors.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const divd = (args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'src/cli/divd.mjs'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'divd-data-cli-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('divd data', () => {
  it('synth writes a dataset that check accepts (exit 0), with progress on stderr', () => {
    const out = path.join(tmp, 'set');
    const s = divd(['data', 'synth', '--out', out, '--sequences', '3', '--frames', '2', '--size', '24x16', '--subframes', '3', '--seed', '5']);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /wrote 6 frame pairs .* 2 train \+ 1 test sequences of 2 frames, 24x16/);
    assert.match(s.stderr, /synthesising frames: 6\/6 \(100%\)/);
    const c = divd(['data', 'check', out, '--json']);
    assert.equal(c.status, 0, c.stdout + c.stderr);
    const report = JSON.parse(c.stdout) as { ok: boolean; kind: string; detected: boolean; counts: { train: { pairs: number } } };
    assert.deepEqual([report.ok, report.kind, report.detected, report.counts.train.pairs], [true, 'folders', true, 4]);
  });

  it('check lists every problem of a broken tree and exits 2', async () => {
    const out = path.join(tmp, 'set');
    await fs.rm(path.join(out, 'train', 'seq_000', 'sharp', '000001.png'));
    await fs.writeFile(path.join(out, 'test', 'seq_002', 'blur', '000000.png'), 'garbage');
    const c = divd(['data', 'check', out]);
    assert.equal(c.status, 2);
    assert.match(c.stdout, /2 problem\(s\)/);
    assert.match(c.stdout, /\[unpaired-frame\] .*seq_000\/blur\/000001\.png has no sharp frame/);
    assert.match(c.stdout, /\[unreadable-frame\] .*seq_002\/blur\/000000\.png/);
  });

  it('bad flags are usage errors (exit 2 in main) naming the flag', async () => {
    // In-process: parsing needs no subprocess (each divd start loads TensorFlow.js, seconds on a busy machine).
    const parse = async (args: string[]) => {
      const write = process.stderr.write;
      process.stderr.write = () => true; // commander prints its own message; the assertion is on the error
      try {
        await buildDataCommand().parseAsync(args, { from: 'user' });
      } finally {
        process.stderr.write = write;
      }
    };
    await assert.rejects(parse(['synth', '--out', path.join(tmp, 'x'), '--size', '64']), (e: Error) => isUsageError(e) && /--size must be WIDTHxHEIGHT/.test(e.message));
    await assert.rejects(parse(['synth', '--out', path.join(tmp, 'x'), '--subframes', '7..13']), (e: Error) => isUsageError(e) && /--subframes/.test(e.message));
    await assert.rejects(parse(['synth', '--out', path.join(tmp, 'x'), '--frames', '0']), (e: Error) => isUsageError(e) && /--frames must be an integer >= 1/.test(e.message));
    await assert.rejects(parse(['check', tmp, '--dataset', 'imagenet']), (e: Error) => e instanceof CommanderError && e.exitCode !== 0 && /Allowed choices are gopro, dvd, folders/.test(e.message));
    await assert.rejects(parse(['synth']), (e: Error) => e instanceof CommanderError && /--out/.test(e.message));
  });

  it('size and sub-frame flags parse to what the generator takes', () => {
    assert.deepEqual(parseSize('320x180'), { width: 320, height: 180 });
    assert.equal(parseSubframes('9'), 9);
    assert.deepEqual(parseSubframes('7-13'), [7, 13]);
    assert.deepEqual(parseExposure('0.1-1'), [0.1, 1]);
    assert.deepEqual(parseExposure('.5'), [0.5, 0.5]);
    for (const bad of ['0-1', '0.6-0.5', '1.5', 'half', '0.2-']) {
      assert.throws(() => parseExposure(bad), (e: Error) => isUsageError(e) && /--exposure must be a fraction/.test(e.message), bad);
    }
    assert.equal(parseMotion('3'), 3);
    assert.equal(parseMotion('.5'), 0.5);
    for (const bad of ['0', '-2', '21', 'fast', '2x']) {
      assert.throws(() => parseMotion(bad), (e: Error) => isUsageError(e) && /--motion must be a speed multiplier/.test(e.message), bad);
    }
  });
});
