/**
 * Still-image IO through one decoder (sharp/libvips) for everything: JPEG decoders disagree by up to
 * 24 levels, so training data, samples and metrics must all be decoded by the same one.
 * Frames are RGB, row-major HWC: pixel (y, x) channel c is at data[(y * width + x) * 3 + c].
 */
import fs from 'node:fs/promises';
import sharp from 'sharp';
import { UsageError } from '../../src/errors.ts';
import { writeFileAtomic } from '../../src/atomic-write.ts';

/** An 8-bit RGB frame, HWC. */
export interface FrameU8 {
  width: number;
  height: number;
  data: Uint8Array; // length width*height*3
}

/** A float RGB frame, HWC, values in [0, 1] (value / 255 of the stored 8-bit code). */
export interface FrameF32 {
  width: number;
  height: number;
  data: Float32Array; // length width*height*3
}

export type Frame = FrameU8 | FrameF32;

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

export function isImageFile(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** Decodes PNG/JPEG bytes to 8-bit RGB: alpha dropped, grey expanded, 16-bit PNGs reduced to 8 bits. */
export async function decodeImage(bytes: Uint8Array, source = '<buffer>'): Promise<FrameU8> {
  try {
    // No .rotate(): datasets are compared pixel-for-pixel as stored, EXIF orientation must not move them.
    const { data, info } = await sharp(bytes)
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    throw new UsageError(`cannot decode image ${source}: ${(e as Error).message}`);
  }
}

export async function readImage(file: string): Promise<FrameU8> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    throw new UsageError(`cannot read image ${file}: ${(e as Error).message}`);
  }
  return decodeImage(bytes, file);
}

/**
 * A rectangle of an image, decoded by the same pipeline as `readImage` but returning only the region:
 * training reads 144² crops of 720p frames without holding whole decoded frames.
 */
export async function readImageRegion(file: string, region: { x: number; y: number; width: number; height: number }): Promise<FrameU8> {
  try {
    const { data, info } = await sharp(file)
      .removeAlpha()
      .toColourspace('srgb')
      .extract({ left: region.x, top: region.y, width: region.width, height: region.height })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    throw new UsageError(`cannot read region ${region.width}x${region.height}+${region.x}+${region.y} of ${file}: ${(e as Error).message}`);
  }
}

export async function readImageFloat(file: string): Promise<FrameF32> {
  return toFloat(await readImage(file));
}

/** Width and height from the header only (no full decode): what layout checks need. */
export async function imageSize(file: string): Promise<{ width: number; height: number }> {
  try {
    const meta = await sharp(file).metadata();
    if (!meta.width || !meta.height) throw new Error('no dimensions in header');
    return { width: meta.width, height: meta.height };
  } catch (e) {
    throw new UsageError(`cannot read image header ${file}: ${(e as Error).message}`);
  }
}

export function toFloat(frame: FrameU8): FrameF32 {
  const out = new Float32Array(frame.data.length);
  for (let i = 0; i < out.length; i++) out[i] = frame.data[i]! / 255;
  return { width: frame.width, height: frame.height, data: out };
}

/** Rounds to the nearest 8-bit code and clamps, the quantisation every saved frame goes through. */
export function toUint8(frame: Frame): FrameU8 {
  if (frame.data instanceof Uint8Array) return frame as FrameU8;
  const src = frame.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = Math.round(src[i]! * 255);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { width: frame.width, height: frame.height, data: out };
}

function assertFrameShape(frame: Frame, what: string): void {
  const { width, height, data } = frame;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${what}: invalid size ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new Error(`${what}: data has ${data.length} values, expected ${width}x${height}x3 = ${width * height * 3}`);
  }
}

export async function encodePng(frame: Frame): Promise<Buffer> {
  assertFrameShape(frame, 'encodePng');
  const u8 = toUint8(frame);
  return sharp(u8.data, { raw: { width: u8.width, height: u8.height, channels: 3 } }).png().toBuffer();
}

/** Writes a lossless 8-bit RGB PNG atomically (temp file + rename). */
export async function writePng(file: string, frame: Frame): Promise<void> {
  await writeFileAtomic(file, await encodePng(frame));
}
