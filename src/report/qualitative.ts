/**
 * Qualitative figures as in the paper: for a chosen frame, blurry input | each configuration | ground truth,
 * every panel with the same region outlined and shown zoomed beneath; plus a strip of frames per sequence.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TrialGroup } from './groups.ts';
import { crop, detailRegion, downscale, outline, pngDataUri, readPng, scaleRect, zoom, type Rect, type Rgba } from './images.ts';
import { thin } from './charts.ts';
import type { TrialRecord } from './types.ts';

export interface Panel {
  caption: string;
  /** trial behind the panel; undefined for input and ground truth */
  trialId?: string;
  full: string;
  inset: string;
}

export interface Comparison {
  sequence: string;
  frame: string;
  region: Rect;
  panels: Panel[];
}

export interface Strip {
  trialId: string;
  label: string;
  sequence: string;
  frames: { name: string; uri: string }[];
}

export interface Qualitative {
  comparisons: Comparison[];
  strips: Strip[];
}

export interface QualitativeOptions {
  /** sequences shown (default 3) */
  maxSequences?: number;
  /** configurations beside input and ground truth (default 4) */
  maxConfigs?: number;
  /** frames per strip (default 6) */
  stripFrames?: number;
}

const PANEL_WIDTH = 240;
const INSET_SIZE = 160;
const MARK: [number, number, number] = [255, 40, 40];

function samplePath(t: TrialRecord, kind: 'samples' | 'inputs' | 'gt', seq: string, frame: string): string {
  return path.join(t.dir, kind, seq, `${frame}.png`);
}

/** The trial to show first: best LPIPS, else best PSNR, else the first with samples. */
export function representativeTrial(trials: readonly TrialRecord[]): TrialRecord | undefined {
  const withSamples = trials.filter((t) => Object.keys(t.samples.frames).length > 0);
  const by = (key: 'lpips' | 'psnr', sign: number) =>
    withSamples
      .filter((t) => t.metrics?.overall[key] !== undefined)
      .sort((a, b) => sign * (a.metrics!.overall[key]! - b.metrics!.overall[key]!))[0];
  return by('lpips', 1) ?? by('psnr', -1) ?? withSamples[0];
}

function panel(img: Rgba, region: Rect, reference: Rgba, caption: string, trialId?: string): Panel {
  // Frames of one comparison may differ in size (e.g. a padded output): map the region by width.
  const r = img.width === reference.width ? region : scaleRect(region, reference.width, img.width);
  const clipped: Rect = { x: Math.min(r.x, img.width - 1), y: Math.min(r.y, img.height - 1), w: 0, h: 0 };
  clipped.w = Math.max(1, Math.min(r.w, img.width - clipped.x));
  clipped.h = Math.max(1, Math.min(r.h, img.height - clipped.y));
  const small = downscale(img, PANEL_WIDTH);
  const marked = outline(small, scaleRect(clipped, img.width, small.width), MARK);
  const patch = crop(img, clipped);
  const inset = patch.width >= INSET_SIZE ? downscale(patch, INSET_SIZE) : zoom(patch, Math.max(1, Math.floor(INSET_SIZE / patch.width)));
  return { caption, ...(trialId ? { trialId } : {}), full: pngDataUri(marked), inset: pngDataUri(inset) };
}

export function buildQualitative(groups: readonly TrialGroup[], options: QualitativeOptions = {}): Qualitative {
  const maxSeq = options.maxSequences ?? 3;
  const maxConfigs = options.maxConfigs ?? 4;
  const stripFrames = options.stripFrames ?? 6;
  const best = representativeTrial(groups.flatMap((g) => g.trials));
  if (!best) return { comparisons: [], strips: [] };
  // One trial per configuration (its best seed), the representative trial's configuration first.
  const shown = groups
    .map((g) => ({ g, t: representativeTrial(g.trials) }))
    .filter((x): x is { g: TrialGroup; t: TrialRecord } => x.t !== undefined)
    .sort((a, b) => Number(b.g.trials.includes(best)) - Number(a.g.trials.includes(best)))
    .slice(0, maxConfigs);
  const labelOf = (t: TrialRecord) => groups.find((g) => g.trials.includes(t))?.label ?? t.info.label;

  const comparisons: Comparison[] = [];
  const strips: Strip[] = [];
  for (const seq of Object.keys(best.samples.frames).slice(0, maxSeq)) {
    const frames = best.samples.frames[seq]!;
    const frame = frames[Math.floor(frames.length / 2)]!;
    const ours = shown.filter((x) => existsSync(samplePath(x.t, 'samples', seq, frame)));
    const inputFile = samplePath(best, 'inputs', seq, frame);
    const gtFile = samplePath(best, 'gt', seq, frame);
    const oursImgs = ours.map((x) => ({ x, img: readPng(samplePath(x.t, 'samples', seq, frame)) }));
    if (oursImgs.length === 0) continue;
    const gt = existsSync(gtFile) ? readPng(gtFile) : undefined;
    const input = existsSync(inputFile) ? readPng(inputFile) : undefined;
    // Choose the region where the sharp frame has most detail: that is where deblurring differences show.
    const reference = gt ?? oursImgs[0]!.img;
    const region = detailRegion(reference);
    const panels: Panel[] = [];
    if (input) panels.push(panel(input, region, reference, 'Blurry input'));
    for (const { x, img } of oursImgs) panels.push(panel(img, region, reference, `Ours: ${x.g.label}`, x.t.id));
    if (gt) panels.push(panel(gt, region, reference, 'Ground truth'));
    comparisons.push({ sequence: seq, frame, region, panels });

    strips.push({
      trialId: best.id,
      label: labelOf(best),
      sequence: seq,
      frames: thin(frames, stripFrames).map((name) => ({ name, uri: pngDataUri(downscale(readPng(samplePath(best, 'samples', seq, name)), 160)) })),
    });
  }
  return { comparisons, strips };
}
