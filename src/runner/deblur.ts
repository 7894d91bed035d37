/**
 * `divd deblur`: a user's own footage through a trained trial — a folder of PNG/JPEG frames or a video
 * (decoded by ffmpeg into lossless PNGs first, so a long video never sits in memory) — restored by the
 * same code as a trial's test split (restore.ts: windows of F frames, padding, tiles) and written as PNG
 * frames with the input's names or encoded back into a video at the input's frame rate. The output
 * appears only when complete: frames are written into a sibling temp folder renamed into place, a video
 * by writeVideo's temp file + rename.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FfmpegMissingError, ffmpegVersion, imageSize, listFrameFiles, probeVideo, readImage, readVideoFrames, writePng, writeVideo } from '../../datasets/index.ts';
import type { SampleConfig } from '../diffusion/index.ts';
import { disposeModel } from '../model/index.ts';
import { UsageError } from '../errors.ts';
import type { TrialConfig } from '../spec/types.ts';
import { loadEmaModel, selectCheckpoint } from './checkpoint-select.ts';
import { restoreSequences } from './restore.ts';
import { openTrialDir } from './trial-stage.ts';
import type { Progress } from './progress.ts';

export const VIDEO_EXTENSIONS = ['.mp4', '.mkv', '.mov', '.avi', '.webm'] as const;

export interface DeblurOptions {
  /** A video file or a folder of PNG/JPEG frames. */
  input: string;
  /** A run directory (its last checkpoint) or a checkpoint file inside one (checkpoints/step-….ckpt). */
  checkpoint: string;
  /** A folder for PNG frames, or a video file (by its extension). */
  out: string;
  /** Overrides of the trial's sample config. */
  sample?: Partial<SampleConfig>;
  /** Replace a non-empty `out`. */
  force?: boolean;
  /** Frame rate of a video made from a frames folder (a video input keeps its own). Default 30. */
  fps?: number;
  progress: Progress;
}

export interface DeblurResult {
  input: string;
  output: string;
  kind: 'frames' | 'video';
  frames: number;
  width: number;
  height: number;
  fps?: number;
  checkpoint: { file: string; step: number };
  sample: SampleConfig;
}

const isVideoPath = (p: string) => (VIDEO_EXTENSIONS as readonly string[]).includes(path.extname(p).toLowerCase());

/** The checkpoint file and the trial config beside it (diffusion schedule, sampling, padding). */
function resolveCheckpoint(target: string): { file: string; config: TrialConfig } {
  if (!fs.existsSync(target)) throw new UsageError(`--checkpoint ${target} does not exist (expected a run directory or a checkpoint file)`);
  if (fs.statSync(target).isDirectory()) {
    const { trial, dir } = openTrialDir(target);
    return { file: selectCheckpoint(dir, trial.id, 'last').file, config: trial.config };
  }
  // A checkpoint stores the model but not the diffusion settings; those come from its run directory.
  const runDir = path.dirname(path.dirname(path.resolve(target)));
  if (!fs.existsSync(path.join(runDir, 'config.json'))) {
    throw new UsageError(`--checkpoint ${target}: no trial config.json at ${runDir} (a checkpoint needs its run directory's diffusion and sampling settings; pass the run directory)`);
  }
  return { file: path.resolve(target), config: openTrialDir(runDir).trial.config };
}

/** Refuses to touch a non-empty output without `force`. */
function checkOutput(out: string, force: boolean | undefined): void {
  if (!fs.existsSync(out) || force) return;
  const stat = fs.statSync(out);
  if (stat.isDirectory() ? fs.readdirSync(out).length > 0 : stat.size > 0) throw new UsageError(`-o ${out} exists and is not empty; pass --force to replace it`);
}

interface InputFrames {
  files: string[];
  width: number;
  height: number;
  fps?: number;
}

/** Frames of a folder, all of one size (read from headers, so a bad file is named before any work). */
async function framesOfFolder(dir: string): Promise<InputFrames> {
  const files = listFrameFiles(dir);
  if (files.length === 0) throw new UsageError(`${dir} holds no png/jpg frames`);
  const first = await imageSize(files[0]!);
  const stems = new Map<string, string>();
  for (const file of files) {
    const size = await imageSize(file);
    if (size.width !== first.width || size.height !== first.height) {
      throw new UsageError(`${file} is ${size.width}x${size.height}, but ${files[0]} is ${first.width}x${first.height}; all frames must have one size`);
    }
    const stem = path.basename(file).replace(/\.[^.]+$/, '');
    if (stems.has(stem)) throw new UsageError(`${file} and ${stems.get(stem)} would both be written as ${stem}.png`);
    stems.set(stem, file);
  }
  return { files, ...first };
}

/** Decodes a video into numbered PNGs in `into` (lossless, so restoration sees exactly the decoded frames). */
async function framesOfVideo(file: string, into: string, progress: Progress): Promise<InputFrames> {
  const info = await probeVideo(file);
  const files: string[] = [];
  progress.stage('decode');
  for await (const frame of readVideoFrames(file)) {
    const name = path.join(into, `${String(files.length).padStart(6, '0')}.png`);
    await writePng(name, frame);
    files.push(name);
    if (info.frames) progress.update(files.length, info.frames, 'frames');
  }
  if (files.length === 0) throw new UsageError(`${file} has no video frames`);
  return { files, width: info.width, height: info.height, fps: info.fps };
}

/** Moves a finished frames folder into place; with `force` an existing folder is replaced only after. */
function publishDir(staged: string, out: string): void {
  if (fs.existsSync(out)) {
    const old = `${out}.old-${process.pid}`;
    fs.renameSync(out, old);
    fs.renameSync(staged, out);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.renameSync(staged, out);
  }
}

export async function deblur(o: DeblurOptions): Promise<DeblurResult> {
  const input = path.resolve(o.input);
  const out = path.resolve(o.out);
  if (!fs.existsSync(input)) throw new UsageError(`${o.input} does not exist (expected a video file or a folder of png/jpg frames)`);
  const { file: ckptFile, config } = resolveCheckpoint(o.checkpoint);
  checkOutput(out, o.force);
  const videoOut = isVideoPath(out);
  // Encoding needs ffmpeg: find out before hours of sampling, not after.
  if (videoOut && (await ffmpegVersion()) === null) throw new FfmpegMissingError(process.env.FFMPEG_PATH || 'ffmpeg');
  const sample: SampleConfig = { ...config.sample, ...o.sample };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'divd-deblur-'));
  // Frames are restored beside the output when it is a folder, so publishing them is one rename.
  if (!videoOut) fs.mkdirSync(path.dirname(out), { recursive: true });
  const staged = videoOut ? path.join(work, 'out') : fs.mkdtempSync(`${out}.partial-`);
  try {
    const source = fs.statSync(input).isDirectory() ? await framesOfFolder(input) : await framesOfVideo(input, path.join(work, 'in'), o.progress);
    const { model, step } = loadEmaModel(ckptFile);
    o.progress.stage('restore');
    o.progress.note(`${source.files.length} frames of ${source.width}x${source.height}, EMA weights of step ${step}, ${sample.sampler}${sample.sampler === 'ddim' ? ` ${sample.steps} steps` : ''}${sample.tile ? `, tiles of ${sample.tile}` : ''}`);
    let frames: number;
    try {
      const sequence = { name: '', frames: source.files.map((f) => ({ name: path.basename(f), blurry: f })) };
      frames = await restoreSequences(model, [sequence], { diffusion: config.diffusion, sample, padding: config.data.padding, samplesDir: staged, onWindow: (d, t) => o.progress.update(d, t, 'windows') });
    } finally {
      disposeModel(model);
    }
    const restored = source.files.map((f) => path.join(staged, `${path.basename(f).replace(/\.[^.]+$/, '')}.png`));
    let fps: number | undefined;
    if (videoOut) {
      fps = source.fps ?? o.fps ?? 30;
      o.progress.stage('encode');
      async function* read() {
        for (const [i, f] of restored.entries()) {
          yield await readImage(f);
          o.progress.update(i + 1, restored.length, 'frames');
        }
      }
      await writeVideo(out, read(), { fps });
    } else publishDir(staged, out);
    return { input, output: out, kind: videoOut ? 'video' : 'frames', frames, width: source.width, height: source.height, ...(fps ? { fps } : {}), checkpoint: { file: ckptFile, step }, sample };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(staged, { recursive: true, force: true });
  }
}
