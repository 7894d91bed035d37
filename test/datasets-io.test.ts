import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  decodeImage,
  imageSize,
  readImage,
  readFrames,
  readImageFloat,
  readImageRegion,
  toFloat,
  toUint8,
  writePng,
  type FrameU8,
} from '../datasets/io/index.ts';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'datasets-images');
const W = 7;
const H = 5;
// The same formulas as test/fixtures/gen-datasets-images.py (written by PIL, an independent encoder).
const knownRgb = (x: number, y: number) => [(x * 37 + y * 11) % 256, (x * 5 + y * 53) % 256, (x * y * 29 + 7) % 256];
const knownGrey = (x: number, y: number) => (x * 31 + y * 17) % 256;

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'divd-io-'));
}

describe('image IO', () => {
  it('decodes a PNG of known pixels exactly, HWC order', async () => {
    const img = await readImage(path.join(fixtures, 'known-rgb.png'));
    assert.equal(img.width, W);
    assert.equal(img.height, H);
    assert.equal(img.data.length, W * H * 3);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        assert.deepEqual(Array.from(img.data.subarray((y * W + x) * 3, (y * W + x) * 3 + 3)), knownRgb(x, y), `pixel ${x},${y}`);
  });

  it('reads a region of known pixels, and names out-of-bounds regions', async () => {
    const file = path.join(fixtures, 'known-rgb.png');
    const r = await readImageRegion(file, { x: 2, y: 1, width: 4, height: 3 });
    assert.deepEqual([r.width, r.height], [4, 3]);
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 4; x++) assert.deepEqual(Array.from(r.data.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3)), knownRgb(x + 2, y + 1));
    await assert.rejects(readImageRegion(file, { x: 5, y: 0, width: 4, height: 2 }), /cannot read region 4x2\+5\+0 of .*known-rgb\.png/);
  });

  it('drops alpha without compositing and expands greyscale to RGB', async () => {
    const rgba = await readImage(path.join(fixtures, 'known-rgba.png'));
    const grey = await readImage(path.join(fixtures, 'known-grey.png'));
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 3;
        assert.deepEqual(Array.from(rgba.data.subarray(i, i + 3)), knownRgb(x, y));
        const g = knownGrey(x, y);
        assert.deepEqual(Array.from(grey.data.subarray(i, i + 3)), [g, g, g]);
      }
  });

  it('reduces 16-bit PNGs to the 8-bit codes', async () => {
    const codes = [0, 64, 128, 200, 255, 10];
    const png16 = await sharp(Buffer.from(codes), { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    assert.equal((await sharp(png16).metadata()).depth, 'ushort');
    assert.deepEqual(Array.from((await decodeImage(png16)).data), codes);
  });

  it('decodes a JPEG of flat blocks to their colours within one level', async () => {
    const img = await readImage(path.join(fixtures, 'blocks.jpg'));
    const blocks = [
      [200, 30, 40],
      [20, 180, 60],
      [40, 50, 220],
      [128, 128, 128],
    ];
    assert.equal(img.width, 32);
    assert.equal(img.height, 8);
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 32; x++)
        for (let c = 0; c < 3; c++) {
          const v = img.data[(y * 32 + x) * 3 + c]!;
          assert.ok(Math.abs(v - blocks[Math.floor(x / 8)]![c]!) <= 1, `pixel ${x},${y} channel ${c} = ${v}`);
        }
  });

  it('float reading is value/255 of the 8-bit decode', async () => {
    const file = path.join(fixtures, 'known-rgb.png');
    const [u8, f32] = await Promise.all([readImage(file), readImageFloat(file)]);
    assert.ok(f32.data instanceof Float32Array);
    for (let i = 0; i < u8.data.length; i++) assert.equal(f32.data[i], Math.fround(u8.data[i]! / 255));
  });

  it('PNG round trip is lossless for uint8 and for float frames on the 8-bit grid', async () => {
    const dir = await tempDir();
    const frame: FrameU8 = { width: 13, height: 9, data: new Uint8Array(13 * 9 * 3) };
    for (let i = 0; i < frame.data.length; i++) frame.data[i] = (i * 97 + 13) % 256;
    await writePng(path.join(dir, 'a.png'), frame);
    assert.deepEqual(await readImage(path.join(dir, 'a.png')), frame);
    await writePng(path.join(dir, 'nested', 'b.png'), toFloat(frame));
    assert.deepEqual((await readImage(path.join(dir, 'nested', 'b.png'))).data, frame.data);
    assert.deepEqual(await imageSize(path.join(dir, 'a.png')), { width: 13, height: 9 });
    // Nothing but the two PNGs (no temp files left behind by the atomic write).
    assert.deepEqual((await fs.readdir(dir)).sort(), ['a.png', 'nested']);
    await fs.rm(dir, { recursive: true });
  });

  it('toUint8 rounds to nearest and clamps out-of-range floats', () => {
    const f = { width: 1, height: 2, data: new Float32Array([-0.2, 0.5 / 255, 1.49 / 255, 0.5, 1, 7]) };
    assert.deepEqual(Array.from(toUint8(f).data), [0, 1, 1, 128, 255, 255]);
  });

  it('writePng rejects data of the wrong length, naming the sizes', async () => {
    const dir = await tempDir();
    await assert.rejects(writePng(path.join(dir, 'x.png'), { width: 4, height: 4, data: new Uint8Array(10) }), /expected 4x4x3 = 48/);
    await fs.rm(dir, { recursive: true });
  });

  it('unreadable and undecodable files give errors naming the file', async () => {
    const dir = await tempDir();
    const bad = path.join(dir, 'broken.png');
    await fs.writeFile(bad, 'not an image');
    await assert.rejects(readImage(bad), (e: Error) => e.name === 'UsageError' && e.message.includes(bad));
    await assert.rejects(readImage(path.join(dir, 'missing.png')), /missing\.png/);
    await assert.rejects(decodeImage(new Uint8Array([1, 2, 3]), 'frame 7'), /frame 7/);
    await fs.rm(dir, { recursive: true });
  });

  it('readFrames streams a folder of frames in numeric name order, and names missing inputs', async () => {
    const dir = await tempDir();
    for (const [name, v] of [['f10.png', 10], ['f9.png', 9], ['f100.png', 100], ['notes.txt', 0]] as const) {
      if (name.endsWith('.png')) await writePng(path.join(dir, name), { width: 2, height: 1, data: new Uint8Array(6).fill(v) });
      else await fs.writeFile(path.join(dir, name), 'x');
    }
    const seen: [string, number][] = [];
    for await (const f of readFrames(dir)) seen.push([f.name, f.data[0]!]);
    assert.deepEqual(seen, [['f9.png', 9], ['f10.png', 10], ['f100.png', 100]]);
    await assert.rejects(readFrames(path.join(dir, 'nope')).next(), /nope does not exist/);
    await fs.rm(dir, { recursive: true });
  });
});
