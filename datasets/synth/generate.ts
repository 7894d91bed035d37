/**
 * `divd data synth`: a video-deblurring dataset made the way GoPro and REDS were — sharp high-frame-rate
 * sub-frames averaged in linear light — written in the generic split layout
 * `<out>/{train,test}/seq_NNN/{blur,sharp}/NNNNNN.png` with a manifest `<out>/synth.json`.
 * Every sequence and frame is a pure function of (options, seed), so an interrupted run resumes by
 * skipping frames already on disk and produces the same bytes as an uninterrupted one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../src/errors.ts';
import { encodePng, writeFileAtomic } from '../io/index.ts';
import { SeededRandom } from '../random.ts';
import { averageInLinearLight } from './gamma.ts';
import { listPhotos, photoCanvas } from './photos.ts';
import { planScene, renderSubframe, sceneScale, sharpSubframeTime, subframeTimes, type Scene } from './scene.ts';
import { proceduralBackground } from './texture.ts';

export interface SynthOptions {
  sequences: number;
  /** How many of the sequences (the last ones) form the test split. */
  testSequences: number;
  frames: number;
  width: number;
  height: number;
  seed: number;
  /** K, or a range [lo, hi] from which each sequence draws its own K (GoPro used 7–13). */
  subframes: number | [number, number];
  /** Folder of photographs used as backgrounds instead of procedural textures. */
  images: string | null;
  /**
   * Shutter open for a fraction of the K sub-frames drawn per frame from [lo, hi] (scene.ts); absent: fully
   * open. Left out of the defaults so datasets made without it keep their options, cache folder and bytes.
   */
  exposure?: [number, number];
  /** Speed multiplier of the camera and objects (scene.ts); absent: 1, left out like `exposure`. */
  motion?: number;
}

export const SYNTH_DEFAULTS: SynthOptions = {
  sequences: 20,
  testSequences: 4,
  frames: 12,
  width: 64,
  height: 64,
  seed: 0,
  subframes: [7, 13],
  images: null,
};

export interface SynthSequence {
  name: string;
  split: 'train' | 'test';
  subframes: number;
  photo: string | null;
}

export interface SynthManifest {
  generator: 'divd data synth';
  version: 1;
  options: SynthOptions;
  sequences: SynthSequence[];
  complete: boolean;
}

export interface SynthProgress {
  done: number;
  total: number;
  written: number;
  skipped: number;
  sequence: string;
}

export interface SynthResult {
  out: string;
  manifest: SynthManifest;
  written: number;
  skipped: number;
}

const MANIFEST = 'synth.json';
const GENERATOR_VERSION = 1;

function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new UsageError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
}

export function validateSynthOptions(o: SynthOptions): void {
  checkInt('--sequences', o.sequences, 1, 100_000);
  checkInt('--test-sequences', o.testSequences, 0, o.sequences);
  checkInt('--frames', o.frames, 1, 100_000);
  checkInt('--size width', o.width, 8, 8192);
  checkInt('--size height', o.height, 8, 8192);
  checkInt('--seed', o.seed, 0, 2 ** 32 - 1);
  const [lo, hi] = typeof o.subframes === 'number' ? [o.subframes, o.subframes] : o.subframes;
  checkInt('--subframes', lo, 1, 99);
  checkInt('--subframes', hi, lo, 99);
  if (o.exposure !== undefined) {
    const [elo, ehi] = o.exposure;
    if (!(elo > 0 && elo <= ehi && ehi <= 1)) {
      throw new UsageError(`--exposure must be a fraction range LO-HI with 0 < LO <= HI <= 1, got ${JSON.stringify(o.exposure)}`);
    }
  }
  if (o.motion !== undefined && !(Number.isFinite(o.motion) && o.motion > 0 && o.motion <= 20)) {
    throw new UsageError(`--motion must be a speed multiplier in (0, 20], got ${JSON.stringify(o.motion)}`);
  }
}

/** The plan of every sequence: name, split, K, photo. Depends only on the options. */
export function planSequences(o: SynthOptions): SynthSequence[] {
  const photos = o.images ? listPhotos(o.images) : [];
  return Array.from({ length: o.sequences }, (_, i) => {
    const rng = new SeededRandom(o.seed).fork(`sequence-${i}`);
    const subframes = typeof o.subframes === 'number' ? o.subframes : rng.fork('subframes').int(o.subframes[0], o.subframes[1]);
    return {
      name: `seq_${String(i).padStart(3, '0')}`,
      split: i >= o.sequences - o.testSequences ? 'test' : 'train',
      subframes,
      photo: photos.length > 0 ? photos[rng.fork('photo').int(0, photos.length - 1)]! : null,
    };
  });
}

/** The scene of sequence i (for the generator, and for tests that re-render sub-frames independently). */
export async function buildSequenceScene(o: SynthOptions, index: number): Promise<Scene> {
  const seq = planSequences(o)[index];
  if (!seq) throw new Error(`sequence ${index} out of range (0..${o.sequences - 1})`);
  const rng = new SeededRandom(o.seed).fork(`sequence-${index}`);
  const plan = planScene(rng.fork('scene'), {
    width: o.width,
    height: o.height,
    frames: o.frames,
    subframes: seq.subframes,
    ...(o.exposure ? { exposure: o.exposure } : {}),
    ...(o.motion !== undefined ? { motion: o.motion } : {}),
  });
  const background = seq.photo
    ? await photoCanvas(seq.photo, plan.canvasWidth, plan.canvasHeight)
    : proceduralBackground(rng.fork('background'), plan.canvasWidth, plan.canvasHeight, sceneScale(o.width, o.height));
  return { ...plan, background };
}

/** Blurry and sharp 8-bit frames of output frame j. */
export function renderFramePair(scene: Scene, frame: number): { blurry: Uint8Array; sharp: Uint8Array } {
  const times = subframeTimes(scene, frame);
  const subs = times.map((t) => renderSubframe(scene, t));
  const sharp = subs[times.indexOf(sharpSubframeTime(scene, frame))]!;
  return { blurry: averageInLinearLight(subs), sharp };
}

export function frameFileName(frame: number): string {
  return `${String(frame).padStart(6, '0')}.png`;
}

function readManifest(out: string): SynthManifest | null {
  const file = path.join(out, MANIFEST);
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as SynthManifest;
  } catch (e) {
    throw new UsageError(`${file} is not a readable synth manifest (${(e as Error).message}); remove it or choose another --out`);
  }
}

export async function synthesize(out: string, options: SynthOptions, onProgress?: (p: SynthProgress) => void): Promise<SynthResult> {
  validateSynthOptions(options);
  const root = path.resolve(out);
  const opts: SynthOptions = { ...options, images: options.images ? path.resolve(options.images) : null };
  const sequences = planSequences(opts);
  const previous = readManifest(root);
  if (previous && (previous.version !== GENERATOR_VERSION || JSON.stringify(previous.options) !== JSON.stringify(opts))) {
    throw new UsageError(
      `${root} holds a synthetic dataset made with other options (${JSON.stringify(previous.options)}); ` +
        'choose another --out or delete it',
    );
  }
  if (!previous && fs.existsSync(root) && fs.readdirSync(root).length > 0) {
    throw new UsageError(`${root} exists and is not a synthetic dataset (no ${MANIFEST}); choose an empty or new --out`);
  }
  const manifest: SynthManifest = { generator: 'divd data synth', version: GENERATOR_VERSION, options: opts, sequences, complete: false };
  await writeFileAtomic(path.join(root, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);

  const total = opts.sequences * opts.frames;
  let done = 0;
  let written = 0;
  let skipped = 0;
  for (const [index, seq] of sequences.entries()) {
    const dir = path.join(root, seq.split, seq.name);
    const files = (frame: number) => ({
      blurry: path.join(dir, 'blur', frameFileName(frame)),
      sharp: path.join(dir, 'sharp', frameFileName(frame)),
    });
    // Both files of a pair are written atomically, sharp last: the pair is complete iff sharp exists too.
    const missing = Array.from({ length: opts.frames }, (_, j) => j).filter((j) => {
      const f = files(j);
      return !(fs.existsSync(f.blurry) && fs.existsSync(f.sharp));
    });
    skipped += opts.frames - missing.length;
    done += opts.frames - missing.length;
    if (missing.length > 0) {
      const scene = await buildSequenceScene(opts, index);
      let pending: Promise<void> = Promise.resolve();
      for (const j of missing) {
        const pair = renderFramePair(scene, j);
        const f = files(j);
        // Encode/write frame j while frame j+1 renders; at most one write in flight.
        await pending;
        pending = (async () => {
          const frame = (data: Uint8Array) => ({ width: opts.width, height: opts.height, data });
          const [b, s] = await Promise.all([encodePng(frame(pair.blurry)), encodePng(frame(pair.sharp))]);
          await writeFileAtomic(f.blurry, b);
          await writeFileAtomic(f.sharp, s);
          written += 1;
          done += 1;
          onProgress?.({ done, total, written, skipped, sequence: seq.name });
        })();
      }
      await pending;
    } else {
      onProgress?.({ done, total, written, skipped, sequence: seq.name });
    }
  }
  manifest.complete = true;
  await writeFileAtomic(path.join(root, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return { out: root, manifest, written, skipped };
}
