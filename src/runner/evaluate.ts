/**
 * Scores restored frames against ground truth: PSNR and SSIM per frame; LPIPS per frame and FID/KID over the
 * set when their network weights are present (otherwise they are listed as unavailable with the reason and
 * the fix, never silently dropped). Frames are read back from the PNGs on disk, so a trial's numbers are
 * exactly what `divd eval --pred --gt` gives for the same folders.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isImageFile, readImage, type FrameU8 } from '../../datasets/index.ts';
import {
  FeatureStatistics,
  FID_FEATURE_DIMS,
  buildMetricsReport,
  frechetDistance,
  kernelInceptionDistanceOfSets,
  loadFidInception,
  loadLpips,
  psnr,
  ssim,
  WeightsMissingError,
  WeightsNotPublishedError,
  type FrameScores,
  type WeightsPolicy,
  type MetricsReport,
  type SetLevelMetrics,
} from '../../metrics/index.ts';
import { UsageError } from '../errors.ts';
import type { EvalConfig } from '../spec/types.ts';

export interface FramePairFiles {
  /** `<sequence>/<frame>` (the key in metrics.json). */
  key: string;
  pred: string;
  gt: string;
}

export interface EvaluateOptions {
  weightsDir?: string;
  /**
   * Use weights files that are not the published ones (default: DIVD_TRUST_WEIGHTS=1); their metrics then
   * carry a note that they are not comparable with published numbers. Without it such files are refused.
   */
  trustWeights?: boolean;
  /** Called after each frame's PSNR/SSIM (progress). */
  onFrame?(done: number, total: number): void;
}

const CHUNK = 8;

function asFrame(f: FrameU8) {
  return { data: f.data, width: f.width, height: f.height, channels: 3 };
}

function unavailableReason(e: unknown): string {
  if (e instanceof WeightsMissingError || e instanceof WeightsNotPublishedError) return e.message;
  throw e;
}

export async function evaluatePairs(pairs: readonly FramePairFiles[], cfg: EvalConfig, opts: EvaluateOptions = {}): Promise<MetricsReport> {
  if (pairs.length === 0) throw new UsageError('nothing to evaluate: no (prediction, ground truth) frame pairs were found');
  const want = new Set(cfg.metrics);
  const scores: Record<string, number>[] = pairs.map(() => ({}));
  const unavailable: Record<string, string> = {};
  const notes: string[] = [];
  const compare = { crop: cfg.cropBorder, yChannel: cfg.yChannel };
  const ssimVariant = cfg.ssim.variant === 'basicsr' ? 'ssim' : 'ssim-skimage-default';
  // Scores are only comparable with papers' when computed with the published weights: verify them.
  const policy: WeightsPolicy = { trust: opts.trustWeights ?? process.env.DIVD_TRUST_WEIGHTS === '1', warnings: [] };

  let lpips: ReturnType<typeof loadLpips> | undefined;
  if (want.has('lpips')) {
    try {
      lpips = loadLpips({ net: cfg.lpips.net, weightsDir: opts.weightsDir, policy });
    } catch (e) {
      unavailable.lpips = unavailableReason(e);
    }
  }
  let inception: ReturnType<typeof loadFidInception> | undefined;
  if (want.has('fid') || want.has('kid')) {
    try {
      inception = loadFidInception({ weightsDir: opts.weightsDir, policy });
    } catch (e) {
      const reason = unavailableReason(e);
      if (want.has('fid')) unavailable.fid = reason;
      if (want.has('kid')) unavailable.kid = reason;
    }
  }
  notes.push(...policy.warnings.map((w) => `weights: ${w}`));
  const predStats = inception ? new FeatureStatistics(FID_FEATURE_DIMS, { keepFeatures: true }) : undefined;
  const gtStats = inception ? new FeatureStatistics(FID_FEATURE_DIMS, { keepFeatures: true }) : undefined;

  try {
    // Chunks keep memory bounded: a test set never sits in memory at once.
    for (let start = 0; start < pairs.length; start += CHUNK) {
      const chunk = pairs.slice(start, start + CHUNK);
      const preds = await Promise.all(chunk.map((p) => readImage(p.pred)));
      const gts = await Promise.all(chunk.map((p) => readImage(p.gt)));
      chunk.forEach((p, i) => {
        const a = preds[i]!;
        const b = gts[i]!;
        if (a.width !== b.width || a.height !== b.height) {
          throw new UsageError(`${p.pred} is ${a.width}x${a.height} but its ground truth ${p.gt} is ${b.width}x${b.height}`);
        }
        const s = scores[start + i]!;
        if (want.has('psnr')) s.psnr = psnr(asFrame(a), asFrame(b), compare, p.pred);
        if (want.has('ssim')) s.ssim = ssim(asFrame(a), asFrame(b), { ...compare, variant: ssimVariant }, p.pred);
      });
      if (lpips) {
        const d = await lpips.distanceImages(preds, gts);
        chunk.forEach((_, i) => (scores[start + i]!.lpips = d[i]!));
      }
      if (inception) {
        predStats!.add(await inception.featuresImages(preds));
        gtStats!.add(await inception.featuresImages(gts));
      }
      opts.onFrame?.(start + chunk.length, pairs.length);
    }
  } finally {
    lpips?.dispose();
    inception?.dispose();
  }

  const setLevel: SetLevelMetrics = {};
  if (predStats && gtStats) {
    if (want.has('fid')) {
      if (predStats.count < 2) unavailable.fid = `FID needs at least 2 frames, got ${predStats.count}`;
      else {
        const r = frechetDistance(predStats, gtStats);
        setLevel.fid = r.distance;
        notes.push(...r.notes.map((n) => `fid: ${n}`));
      }
    }
    if (want.has('kid')) {
      const r = kernelInceptionDistanceOfSets(predStats, gtStats, { subsets: cfg.kid.subsets, subsetSize: cfg.kid.subsetSize });
      setLevel.kid = { mean: r.mean, std: r.std };
      notes.push(...r.notes.map((n) => `kid: ${n}`));
    }
  }
  const frames: FrameScores[] = pairs.map((p, i) => ({ path: p.key, scores: scores[i]! }));
  return buildMetricsReport(frames, setLevel, unavailable, notes);
}

function isDirectoryPath(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false; // a dangling link
  }
}

/**
 * Every image under `dir` by relative path. Symbolic links to folders are followed (a ground-truth tree is
 * often links into a dataset), each real folder once, so a link cycle cannot loop.
 */
function listImages(dir: string): string[] {
  const out: string[] = [];
  const visited = new Set<string>();
  const walk = (d: string, rel: string) => {
    const real = fs.realpathSync(d);
    if (visited.has(real)) return;
    visited.add(real);
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))) {
      const full = path.join(d, e.name);
      if (e.isDirectory() || (e.isSymbolicLink() && isDirectoryPath(full))) walk(full, rel ? `${rel}/${e.name}` : e.name);
      else if (isImageFile(e.name)) out.push(rel ? `${rel}/${e.name}` : e.name);
    }
  };
  walk(dir, '');
  return out;
}

const stem = (rel: string) => rel.replace(/\.[^./]+$/, '');

/**
 * Pairs every image under `predDir` with the image at the same relative path (any image extension)
 * under `gtDir`; every prediction without ground truth is an error, listed all at once.
 */
export function pairFolders(predDir: string, gtDir: string): FramePairFiles[] {
  for (const [flag, dir] of [['--pred', predDir], ['--gt', gtDir]] as const) {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`${flag} ${dir}: not a directory`);
  }
  const gt = new Map(listImages(gtDir).map((r) => [stem(r), r]));
  const pairs: FramePairFiles[] = [];
  const missing: string[] = [];
  for (const rel of listImages(predDir)) {
    const match = gt.get(stem(rel));
    if (!match) missing.push(rel);
    else pairs.push({ key: stem(rel), pred: path.join(predDir, rel), gt: path.join(gtDir, match) });
  }
  if (missing.length) {
    const shown = missing.slice(0, 10).map((m) => `  ${m}`).join('\n');
    throw new UsageError(`${missing.length} prediction(s) in ${predDir} have no ground truth at the same path in ${gtDir}:\n${shown}${missing.length > 10 ? '\n  …' : ''}`);
  }
  if (pairs.length === 0) throw new UsageError(`no images (.png, .jpg) found under ${predDir}`);
  return pairs;
}
