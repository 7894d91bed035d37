/**
 * Video IO through Debian's ffmpeg over raw rgb24 pipes, one frame at a time, so a long 720p video never
 * sits in memory. ffmpeg is optional: without it every entry point fails with `FfmpegMissingError`, which
 * says how to install it. `FFMPEG_PATH` / `FFPROBE_PATH` override the binaries found on PATH.
 */
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../../src/errors.ts';
import { tempPathFor } from '../../src/atomic-write.ts';
import { toUint8, type Frame, type FrameU8 } from './image.ts';

export class FfmpegMissingError extends UsageError {
  constructor(binary: string) {
    super(
      `${binary} was not found: reading and writing videos needs ffmpeg ` +
        '(Debian/Ubuntu: apt-get install -y ffmpeg; macOS: brew install ffmpeg; or set FFMPEG_PATH and FFPROBE_PATH). ' +
        'Folders of PNG/JPEG frames work without it.',
    );
    this.name = 'FfmpegMissingError';
  }
}

const ffmpegBinary = () => process.env.FFMPEG_PATH || 'ffmpeg';
const ffprobeBinary = () => process.env.FFPROBE_PATH || 'ffprobe';

function isMissingBinary(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === 'ENOENT';
}

/** ffmpeg's version line, or null when it cannot be run. */
export async function ffmpegVersion(): Promise<string | null> {
  try {
    const r = await execa(ffmpegBinary(), ['-hide_banner', '-version'], { reject: false });
    return r.exitCode === 0 ? (r.stdout.split('\n')[0] ?? '').trim() : null;
  } catch {
    return null;
  }
}

export interface VideoInfo {
  width: number;
  height: number;
  /** Frames per second as ffprobe reports the stream's rate (e.g. 30000/1001 → 29.97). */
  fps: number;
  /** Frame count when the container records it, else null (count by reading). */
  frames: number | null;
}

export async function probeVideo(file: string): Promise<VideoInfo> {
  const args = ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,r_frame_rate,nb_frames', '-of', 'json', file];
  let stdout: string;
  try {
    const r = await execa(ffprobeBinary(), args, { reject: false });
    if (isMissingBinary(r.cause)) throw new FfmpegMissingError(ffprobeBinary());
    if (r.exitCode !== 0) throw new UsageError(`cannot read video ${file}: ${r.stderr.trim() || `ffprobe exited ${r.exitCode}`}`);
    stdout = r.stdout;
  } catch (e) {
    if (isMissingBinary(e)) throw new FfmpegMissingError(ffprobeBinary());
    throw e;
  }
  const stream = (JSON.parse(stdout) as { streams?: { width?: number; height?: number; r_frame_rate?: string; nb_frames?: string }[] }).streams?.[0];
  if (!stream?.width || !stream.height) throw new UsageError(`${file} has no video stream`);
  const [num, den] = (stream.r_frame_rate ?? '0/1').split('/').map(Number);
  const frames = Number(stream.nb_frames);
  return { width: stream.width, height: stream.height, fps: den ? num! / den : 0, frames: Number.isFinite(frames) && frames > 0 ? frames : null };
}

/** Last lines of ffmpeg's stderr, for error messages. */
function tail(text: string, lines = 5): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/**
 * Decodes a video frame by frame as 8-bit RGB HWC. Stopping early (break) stops ffmpeg.
 */
export async function* readVideoFrames(file: string): AsyncGenerator<FrameU8> {
  const info = await probeVideo(file);
  const frameBytes = info.width * info.height * 3;
  const proc = execa(ffmpegBinary(), ['-hide_banner', '-loglevel', 'error', '-i', file, '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    buffer: { stdout: false },
    reject: false,
  });
  let pending: Buffer = Buffer.alloc(0);
  let finished = false;
  try {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= frameBytes) {
        // Copy out: the frame must not alias the pipe's buffer, which is reused.
        const data = new Uint8Array(pending.subarray(0, frameBytes));
        pending = pending.subarray(frameBytes);
        yield { width: info.width, height: info.height, data };
      }
    }
    const result = await proc;
    finished = true;
    if (isMissingBinary(result.cause)) throw new FfmpegMissingError(ffmpegBinary());
    if (result.exitCode !== 0) throw new UsageError(`ffmpeg could not decode ${file}:\n${tail(String(result.stderr))}`);
    if (pending.length !== 0) throw new UsageError(`ffmpeg output for ${file} ended inside a frame (${pending.length} stray bytes)`);
  } finally {
    if (!finished) {
      proc.kill();
      await proc.catch(() => undefined);
    }
  }
}

export interface VideoWriteOptions {
  fps: number;
  /** Encoder: libx264 (default; mp4, small, lossy at crf > 0) or a lossless one such as ffv1 (mkv). */
  codec?: string;
  /** x264 constant rate factor; 0 is lossless in yuv444. Default 18 (visually lossless). */
  crf?: number;
}

function startEncoder(tmp: string, width: number, height: number, opts: VideoWriteOptions) {
  const codec = opts.codec ?? 'libx264';
  const codecArgs =
    codec === 'libx264'
      ? ['-c:v', 'libx264', '-crf', String(opts.crf ?? 18), '-pix_fmt', opts.crf === 0 ? 'yuv444p' : 'yuv420p']
      : ['-c:v', codec];
  const proc = execa(
    ffmpegBinary(),
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(opts.fps), '-i', 'pipe:0', ...codecArgs, tmp],
    { reject: false, stdin: 'pipe' },
  );
  // An early exit (missing binary, bad codec) surfaces when the process is awaited, not as a stream error.
  proc.stdin.on('error', () => undefined);
  return { proc, width, height, codec };
}

/**
 * Encodes frames (all the same size) into a video, atomically: ffmpeg writes a temp file that is renamed
 * over `file` only when encoding succeeded. Returns the number of frames written.
 */
export async function writeVideo(file: string, frames: AsyncIterable<Frame> | Iterable<Frame>, opts: VideoWriteOptions): Promise<number> {
  if (!(opts.fps > 0)) throw new UsageError(`video fps must be positive, got ${opts.fps}`);
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${tempPathFor(file)}${path.extname(file)}`; // ffmpeg picks the container from the extension
  const state: { encoder: ReturnType<typeof startEncoder> | null; count: number } = { encoder: null, count: 0 };
  try {
    for await (const frame of frames) {
      const u8 = toUint8(frame);
      if (u8.data.length !== u8.width * u8.height * 3) throw new Error(`frame ${state.count}: data length does not match ${u8.width}x${u8.height}x3`);
      state.encoder ??= startEncoder(tmp, u8.width, u8.height, opts);
      const { proc, width, height } = state.encoder;
      if (u8.width !== width || u8.height !== height) {
        throw new UsageError(`frame ${state.count} is ${u8.width}x${u8.height}, the video is ${width}x${height}`);
      }
      if (!proc.stdin.write(u8.data)) await Promise.race([once(proc.stdin, 'drain'), proc]);
      state.count++;
    }
    if (!state.encoder) throw new UsageError(`no frames to write to ${file}`);
    state.encoder.proc.stdin.end();
    const result = await state.encoder.proc;
    if (isMissingBinary(result.cause)) throw new FfmpegMissingError(ffmpegBinary());
    if (result.exitCode !== 0) throw new UsageError(`ffmpeg could not encode ${file} with ${state.encoder.codec}:\n${tail(String(result.stderr))}`);
    await fs.rename(tmp, file);
    return state.count;
  } catch (e) {
    if (state.encoder) {
      state.encoder.proc.kill();
      await state.encoder.proc.catch(() => undefined);
    }
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
