/**
 * From per-frame scores to what a run reports: the mean over all frames of the test set (the number
 * video-deblurring papers print), per-sequence means, and — labelled as such, because it is NOT the
 * papers' number — the mean of the sequence means. Set-level metrics (FID, KID) are added as they are.
 *
 * Frames are named by their path relative to the dataset root, `<sequence>/<frame>`; the sequence is
 * everything before the last '/'.
 *
 * Non-finite scores: PSNR of a frame identical to its ground truth is +Infinity. Means keep it (a mean
 * over a set containing +Infinity is +Infinity) and a note says how many frames did it. JSON has no
 * Infinity, so `metricsJson` writes non-finite numbers as the strings "Infinity" / "-Infinity".
 */
import { writeJsonAtomicSync } from '../src/atomic-write.ts';
import { UsageError } from '../src/errors.ts';

/** The per-frame metrics of one frame, e.g. `{ path: 'GOPR0384_11_00/000001.png', scores: { psnr, ssim } }`. */
export interface FrameScores {
  path: string;
  scores: Readonly<Record<string, number>>;
}

export interface SequenceSummary {
  /** Frames in the sequence. */
  count: number;
  /** Mean of each metric over the sequence's frames. */
  mean: Record<string, number>;
}

export interface FrameAggregation {
  /** Frames in total. */
  count: number;
  /** The per-frame metric names, in first-seen order. */
  metricNames: string[];
  /** Mean over all frames of the set: the number papers report. */
  frameMean: Record<string, number>;
  /** Per-sequence means, keyed by sequence, in first-seen order. */
  sequences: Record<string, SequenceSummary>;
  /** Mean of the per-sequence means (every sequence weighs the same; differs from `frameMean`). */
  meanOfSequenceMeans: Record<string, number>;
  /** Things a reader must know (e.g. infinite PSNR frames). */
  notes: string[];
}

/** `a/b/c.png` -> `a/b`; a frame at the top level belongs to sequence `.`. */
export function sequenceOf(framePath: string): string {
  const cut = framePath.lastIndexOf('/');
  return cut <= 0 ? '.' : framePath.slice(0, cut);
}

/** Aggregates per-frame scores. Every frame must carry the same metrics; NaN scores are refused. */
export function aggregateFrames(frames: readonly FrameScores[]): FrameAggregation {
  if (frames.length === 0) throw new UsageError('metrics: no frames to aggregate');
  const metricNames = Object.keys(frames[0]!.scores);
  const expected = [...metricNames].sort().join(',');
  const seen = new Set<string>();
  const totals = new Map<string, number>(metricNames.map((m) => [m, 0]));
  const infinite = new Map<string, number>(metricNames.map((m) => [m, 0]));
  const bySequence = new Map<string, { count: number; sums: Map<string, number> }>();
  for (const frame of frames) {
    if (seen.has(frame.path)) throw new UsageError(`metrics: frame ${frame.path} is listed twice`);
    seen.add(frame.path);
    const names = Object.keys(frame.scores).sort().join(',');
    if (names !== expected) {
      throw new UsageError(`metrics: frame ${frame.path} has metrics [${names}], expected [${expected}] as the other frames`);
    }
    const seq = sequenceOf(frame.path);
    let entry = bySequence.get(seq);
    if (!entry) {
      entry = { count: 0, sums: new Map(metricNames.map((m) => [m, 0])) };
      bySequence.set(seq, entry);
    }
    entry.count += 1;
    for (const m of metricNames) {
      const v = frame.scores[m]!;
      if (Number.isNaN(v)) throw new Error(`metrics: ${m} of frame ${frame.path} is NaN`);
      if (!Number.isFinite(v)) infinite.set(m, infinite.get(m)! + 1);
      totals.set(m, totals.get(m)! + v);
      entry.sums.set(m, entry.sums.get(m)! + v);
    }
  }
  const frameMean: Record<string, number> = {};
  const meanOfSequenceMeans: Record<string, number> = {};
  for (const m of metricNames) {
    frameMean[m] = totals.get(m)! / frames.length;
    meanOfSequenceMeans[m] = 0;
  }
  const sequences: Record<string, SequenceSummary> = {};
  for (const [seq, { count, sums }] of bySequence) {
    const mean: Record<string, number> = {};
    for (const m of metricNames) {
      mean[m] = sums.get(m)! / count;
      meanOfSequenceMeans[m]! += mean[m]! / bySequence.size;
    }
    sequences[seq] = { count, mean };
  }
  const notes: string[] = [];
  for (const m of metricNames) {
    const k = infinite.get(m)!;
    if (k > 0) {
      notes.push(
        `${m}: ${k} of ${frames.length} frames scored an infinite value (a PSNR of +Infinity means the frame ` +
          `equals its ground truth), so the mean over frames is ${frameMean[m]}`,
      );
    }
  }
  return { count: frames.length, metricNames, frameMean, sequences, meanOfSequenceMeans, notes };
}

/** KID as reported: mean and standard deviation over subsets (raw values, not scaled). */
export interface KidSummary {
  mean: number;
  std: number;
}

/** Everything `metrics.json` (and `divd eval --json`) holds, typed. */
export interface MetricsReport {
  /** Dataset-level numbers: frame means of the per-frame metrics, plus `fid` and `kid` when computed. */
  metrics: Record<string, number | KidSummary>;
  /** Mean of per-sequence means, per metric (not the papers' number; see `metrics`). */
  meanOfSequenceMeans: Record<string, number>;
  sequences: Record<string, SequenceSummary>;
  frames: FrameScores[];
  count: number;
  /** Metrics that could not be computed, with the reason and the fix (e.g. missing weights). */
  unavailable: Record<string, string>;
  notes: string[];
}

export interface SetLevelMetrics {
  fid?: number;
  kid?: KidSummary;
}

/** Assembles the report from per-frame scores, set-level metrics and the metrics that were unavailable. */
export function buildMetricsReport(
  frames: readonly FrameScores[],
  setLevel: SetLevelMetrics = {},
  unavailable: Readonly<Record<string, string>> = {},
  notes: readonly string[] = [],
): MetricsReport {
  const agg = aggregateFrames(frames);
  const metrics: Record<string, number | KidSummary> = { ...agg.frameMean };
  if (setLevel.fid !== undefined) metrics.fid = setLevel.fid;
  if (setLevel.kid !== undefined) metrics.kid = { mean: setLevel.kid.mean, std: setLevel.kid.std };
  return {
    metrics,
    meanOfSequenceMeans: agg.meanOfSequenceMeans,
    sequences: agg.sequences,
    frames: frames.map((f) => ({ path: f.path, scores: { ...f.scores } })),
    count: agg.count,
    unavailable: { ...unavailable },
    notes: [...agg.notes, ...notes],
  };
}

type JsonNumber = number | 'Infinity' | '-Infinity';

function jsonNumber(v: number): JsonNumber {
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v;
}

function jsonScores(scores: Readonly<Record<string, number>>): Record<string, JsonNumber> {
  return Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, jsonNumber(v)]));
}

/**
 * The report as plain JSON data in the documented shape:
 * `{metrics: {psnr, ssim, ..., fid, kid: {mean, std}}, meanOfSequenceMeans, sequences: {<seq>: {psnr, ...}},
 *   sequenceFrameCounts: {<seq>: n}, frames: [{path, psnr, ...}], count, unavailable, notes}`.
 */
export function metricsJson(report: MetricsReport): Record<string, unknown> {
  const metrics: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(report.metrics)) {
    metrics[k] = typeof v === 'number' ? jsonNumber(v) : { mean: jsonNumber(v.mean), std: jsonNumber(v.std) };
  }
  const sequences: Record<string, unknown> = {};
  const sequenceFrameCounts: Record<string, number> = {};
  for (const [seq, s] of Object.entries(report.sequences)) {
    sequences[seq] = jsonScores(s.mean);
    sequenceFrameCounts[seq] = s.count;
  }
  return {
    metrics,
    meanOfSequenceMeans: jsonScores(report.meanOfSequenceMeans),
    sequences,
    sequenceFrameCounts,
    frames: report.frames.map((f) => ({ path: f.path, ...jsonScores(f.scores) })),
    count: report.count,
    unavailable: report.unavailable,
    notes: report.notes,
  };
}

/** Writes `metrics.json` atomically (temp file in the same directory, then rename). */
export function writeMetricsJson(file: string, report: MetricsReport): void {
  writeJsonAtomicSync(file, metricsJson(report));
}
