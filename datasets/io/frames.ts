/**
 * One way to read "some frames": a folder of PNG/JPEG images (in numeric-aware name order) or a video
 * file, as a stream of 8-bit RGB frames. `divd deblur <video|dir>` reads its input through this.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../src/errors.ts';
import { isImageFile, readImage, type FrameU8 } from './image.ts';
import { compareNames } from './names.ts';
import { readVideoFrames } from './video.ts';

/** Image files of a folder in frame order (numeric-aware, so frame_10 follows frame_9). */
export function listFrameFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('.') && isImageFile(n))
    .sort(compareNames)
    .map((n) => path.join(dir, n));
}

export async function* readFrames(source: string): AsyncGenerator<FrameU8 & { name: string }> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(source);
  } catch {
    throw new UsageError(`${source} does not exist (expected a video file or a folder of png/jpg frames)`);
  }
  if (stat.isDirectory()) {
    const files = listFrameFiles(source);
    if (files.length === 0) throw new UsageError(`${source} holds no png/jpg frames`);
    for (const file of files) yield { ...(await readImage(file)), name: path.basename(file) };
    return;
  }
  let k = 0;
  for await (const frame of readVideoFrames(source)) yield { ...frame, name: `${String(k++).padStart(6, '0')}.png` };
}
