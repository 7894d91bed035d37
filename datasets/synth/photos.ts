/** Photographs as scene backgrounds: every image file of a folder, each resized to cover a canvas. */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { UsageError } from '../../src/errors.ts';
import { compareNames, isImageFile } from '../io/index.ts';
import type { Canvas } from './texture.ts';

export function listPhotos(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new UsageError(`--images ${dir}: cannot read the folder (${(e as Error).message})`);
  }
  const photos = names.filter((n) => !n.startsWith('.') && isImageFile(n)).sort(compareNames);
  if (photos.length === 0) throw new UsageError(`--images ${dir}: no png/jpg files in the folder`);
  return photos.map((n) => path.resolve(dir, n));
}

/** The photo scaled (and centre-cropped) to exactly width x height, as a gamma-encoded float canvas. */
export async function photoCanvas(file: string, width: number, height: number): Promise<Canvas> {
  try {
    const { data } = await sharp(file)
      .removeAlpha()
      .toColourspace('srgb')
      .resize(width, height, { fit: 'cover' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const out = new Float32Array(width * height * 3);
    for (let i = 0; i < out.length; i++) out[i] = data[i]! / 255;
    return { width, height, data: out };
  } catch (e) {
    throw new UsageError(`cannot use photograph ${file}: ${(e as Error).message}`);
  }
}
