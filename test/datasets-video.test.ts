import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FfmpegMissingError, ffmpegVersion, probeVideo, readFrames, readVideoFrames, writeVideo, type FrameU8 } from '../datasets/io/index.ts';

let tmp: string;
let ffmpeg: string | null;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'divd-video-'));
  ffmpeg = await ffmpegVersion();
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** A moving gradient: frame k, pixel (x, y) = (8x + 5k, 8y, 100 + 3k) mod 256. */
function testFrame(k: number, width = 32, height = 24): FrameU8 {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (8 * x + 5 * k) % 256;
      data[i + 1] = (8 * y) % 256;
      data[i + 2] = (100 + 3 * k) % 256;
    }
  return { width, height, data };
}

async function collect(gen: AsyncIterable<FrameU8>): Promise<FrameU8[]> {
  const out: FrameU8[] = [];
  for await (const f of gen) out.push(f);
  return out;
}

function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return fn().finally(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

describe('video IO', () => {
  it('without ffmpeg every entry point says how to install it, and leaves no file behind', async () => {
    await withEnv({ FFMPEG_PATH: path.join(tmp, 'no-ffmpeg'), FFPROBE_PATH: path.join(tmp, 'no-ffprobe') }, async () => {
      assert.equal(await ffmpegVersion(), null);
      const out = path.join(tmp, 'missing.mp4');
      await assert.rejects(writeVideo(out, [testFrame(0)], { fps: 10 }), (e: Error) => e instanceof FfmpegMissingError && /apt-get install -y ffmpeg/.test(e.message));
      await assert.rejects(collect(readVideoFrames(out)), FfmpegMissingError);
      await assert.rejects(probeVideo(out), FfmpegMissingError);
      assert.deepEqual(await fs.readdir(tmp), []);
    });
  });

  it('rejects bad input before starting ffmpeg', async () => {
    await assert.rejects(writeVideo(path.join(tmp, 'x.mp4'), [testFrame(0)], { fps: 0 }), /fps must be positive/);
    await assert.rejects(writeVideo(path.join(tmp, 'x.mp4'), [], { fps: 10 }), /no frames/);
  });

  it('lossless round trip (ffv1): frames come back bit-exact, streamed in order', async (t) => {
    if (!ffmpeg) {
      // CI installs ffmpeg (apt-get install -y ffmpeg); on a machine without it this documents the failure mode.
      t.diagnostic('ffmpeg is not installed: checking the missing-ffmpeg error instead of the round trip');
      await assert.rejects(writeVideo(path.join(tmp, 'a.mkv'), [testFrame(0)], { fps: 10, codec: 'ffv1' }), FfmpegMissingError);
      return;
    }
    const file = path.join(tmp, 'a.mkv');
    async function* frames() {
      for (let k = 0; k < 7; k++) yield testFrame(k);
    }
    assert.equal(await writeVideo(file, frames(), { fps: 12, codec: 'ffv1' }), 7);
    const info = await probeVideo(file);
    assert.deepEqual([info.width, info.height, info.fps], [32, 24, 12]);
    const back = await collect(readVideoFrames(file));
    assert.equal(back.length, 7);
    for (let k = 0; k < 7; k++) assert.deepEqual(back[k], testFrame(k), `frame ${k}`);
    // The same video through the generic frame reader, named like extracted frames.
    const named: string[] = [];
    for await (const f of readFrames(file)) named.push(f.name);
    assert.deepEqual(named, ['000000.png', '000001.png', '000002.png', '000003.png', '000004.png', '000005.png', '000006.png']);
  });

  it('mp4 (libx264) round trip is close, stops early on break, and refuses mixed sizes', async (t) => {
    if (!ffmpeg) {
      t.diagnostic('ffmpeg is not installed: checking the missing-ffmpeg error instead of the mp4 round trip');
      await assert.rejects(collect(readVideoFrames(path.join(tmp, 'b.mp4'))), FfmpegMissingError);
      return;
    }
    const file = path.join(tmp, 'b.mp4');
    const frames = Array.from({ length: 10 }, (_, k) => testFrame(k));
    const psnrOf = (back: FrameU8[]) => {
      let se = 0;
      for (let k = 0; k < 10; k++) for (let i = 0; i < back[k]!.data.length; i++) se += (back[k]!.data[i]! - frames[k]!.data[i]!) ** 2;
      return 10 * Math.log10((255 * 255) / (se / (10 * frames[0]!.data.length)));
    };
    // crf 0 in yuv444 loses only the RGB↔YUV rounding; the default (crf 18, 4:2:0 chroma) is lossy
    // on this worst case of per-pixel colour edges, yet still the same pictures.
    assert.equal(await writeVideo(file, frames, { fps: 25, crf: 0 }), 10);
    const nearLossless = await collect(readVideoFrames(file));
    assert.equal(nearLossless.length, 10);
    assert.ok(psnrOf(nearLossless) > 40, `crf 0 round trip PSNR ${psnrOf(nearLossless).toFixed(1)} dB`);
    assert.equal(await writeVideo(file, frames, { fps: 25 }), 10);
    const lossy = await collect(readVideoFrames(file));
    assert.ok(psnrOf(lossy) > 22 && psnrOf(lossy) < psnrOf(nearLossless), `default round trip PSNR ${psnrOf(lossy).toFixed(1)} dB`);
    let seen = 0;
    for await (const f of readVideoFrames(file)) {
      assert.equal(f.width, 32);
      if (++seen === 2) break;
    }
    assert.equal(seen, 2);
    const mixed = path.join(tmp, 'mixed.mp4');
    await assert.rejects(writeVideo(mixed, [testFrame(0), testFrame(1, 16, 16)], { fps: 10 }), /frame 1 is 16x16, the video is 32x24/);
    await assert.rejects(fs.access(mixed)); // atomic: nothing written under the final name
    await fs.writeFile(path.join(tmp, 'not-a-video.mp4'), 'nope');
    await assert.rejects(collect(readVideoFrames(path.join(tmp, 'not-a-video.mp4'))), /cannot read video .*not-a-video\.mp4/);
  });
});
