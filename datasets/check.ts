/**
 * `checkDataset`: everything wrong with a dataset tree, in one pass — layout (missing folders, unpaired
 * frames), every frame's header (or pixels, with `deep`), sizes, and counts against the published split.
 * A tiny or partial tree is reported as such: its counts are problems unless the caller names its own
 * expectations.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { decodeImage, imageSize } from './io/index.ts';
import {
  detectKind,
  DVD_PUBLISHED,
  GOPRO_PUBLISHED,
  LAYOUTS_HELP,
  scanSource,
  type DatasetKind,
  type FoldersOptions,
  type GoProVariant,
  type Problem,
  type PublishedCounts,
  type Sequence,
  type SplitCounts,
  type SplitName,
} from './sources/index.ts';

export interface CheckOptions extends FoldersOptions {
  variant?: GoProVariant;
  /**
   * Counts and size to compare against. Default: the published ones for gopro/dvd, none for folders.
   * `null` skips the comparison.
   */
  expected?: PublishedCounts | null;
  /** Decode every frame fully instead of reading headers only (catches truncated files; slower). */
  deep?: boolean;
  /** Called after each frame pair is read: (done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface CheckReport {
  ok: boolean;
  kind: DatasetKind | null;
  /** True when the kind was recognised from the layout rather than given. */
  detected: boolean;
  root: string;
  counts: Record<SplitName, SplitCounts>;
  expected: PublishedCounts | null;
  /** Frame sizes found, as `WxH` → number of pairs. */
  sizes: Record<string, number>;
  problems: Problem[];
  notes: string[];
}

const fmt = (n: number) => n.toLocaleString('en-US');

function publishedFor(kind: DatasetKind): PublishedCounts | null {
  return kind === 'gopro' ? GOPRO_PUBLISHED : kind === 'dvd' ? DVD_PUBLISHED : null;
}

async function frameSize(file: string, deep: boolean): Promise<{ width: number; height: number }> {
  if (!deep) return imageSize(file);
  const f = await decodeImage(await fs.readFile(file), file);
  return { width: f.width, height: f.height };
}

/** Reads every pair's size; unreadable frames and size disagreements become problems. */
async function checkFrames(
  sequences: Sequence[],
  opts: CheckOptions,
  problems: Problem[],
  sizes: Record<string, number>,
): Promise<void> {
  const jobs = sequences.flatMap((seq) => seq.frames);
  const results: ({ width: number; height: number } | null)[] = new Array(jobs.length).fill(null);
  let next = 0;
  let done = 0;
  const read = async (file: string) => {
    try {
      return await frameSize(file, opts.deep ?? false);
    } catch (e) {
      problems.push({ code: 'unreadable-frame', path: file, message: (e as Error).message });
      return null;
    }
  };
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const pair = jobs[i]!;
      const [b, s] = await Promise.all([read(pair.blurry), read(pair.sharp)]);
      if (b && s && (b.width !== s.width || b.height !== s.height)) {
        problems.push({
          code: 'size-mismatch',
          path: pair.blurry,
          message: `${pair.blurry} is ${b.width}x${b.height} but its sharp frame ${pair.sharp} is ${s.width}x${s.height}`,
        });
      }
      results[i] = b && s && b.width === s.width && b.height === s.height ? b : null;
      opts.onProgress?.(++done, jobs.length);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));

  // Within a sequence every frame must share one size (the model stacks F frames of a window).
  let i = 0;
  for (const seq of sequences) {
    let first: { width: number; height: number; name: string } | null = null;
    for (const pair of seq.frames) {
      const size = results[i++];
      if (!size) continue;
      const key = `${size.width}x${size.height}`;
      sizes[key] = (sizes[key] ?? 0) + 1;
      if (!first) first = { ...size, name: pair.name };
      else if (size.width !== first.width || size.height !== first.height) {
        problems.push({
          code: 'size-mismatch',
          path: pair.blurry,
          message: `sequence ${seq.name}: frame ${pair.name} is ${key}, unlike ${first.name} (${first.width}x${first.height})`,
        });
      }
    }
  }
}

function compareCounts(
  kind: DatasetKind,
  root: string,
  counts: Record<SplitName, SplitCounts>,
  expected: PublishedCounts,
  problems: Problem[],
): void {
  for (const split of ['train', 'test'] as const) {
    const got = counts[split];
    const want = expected[split];
    if (got.sequences !== want.sequences || got.pairs !== want.pairs) {
      problems.push({
        code: 'unexpected-count',
        path: root,
        message:
          `${split}: found ${fmt(got.pairs)} pairs in ${got.sequences} sequences, expected ${fmt(want.pairs)} pairs in ` +
          `${want.sequences} sequences${expected === publishedFor(kind) ? ` (the published ${kind} ${split} split)` : ''}` +
          ' — this is not the full dataset; results on it are not comparable to published numbers',
      });
    }
  }
}

function compareSizes(sizes: Record<string, number>, expected: PublishedCounts, root: string, problems: Problem[], notes: string[]): void {
  const want = `${expected.width}x${expected.height}`;
  for (const [size, n] of Object.entries(sizes)) {
    if (size === want) continue;
    const message = `${fmt(n)} pair(s) are ${size}, the published frame size is ${want}`;
    if (expected.sizeIsStrict) problems.push({ code: 'unexpected-size', path: root, message });
    else notes.push(message);
  }
}

export async function checkDataset(root: string, kind?: DatasetKind, opts: CheckOptions = {}): Promise<CheckReport> {
  const resolvedKind = kind ?? detectKind(root);
  const counts = { train: { sequences: 0, pairs: 0 }, test: { sequences: 0, pairs: 0 } };
  if (!resolvedKind) {
    return {
      ok: false,
      kind: null,
      detected: false,
      root: path.resolve(root),
      counts,
      expected: null,
      sizes: {},
      problems: [{ code: 'unknown-layout', path: path.resolve(root), message: `${path.resolve(root)} is not a dataset divd recognises (${LAYOUTS_HELP})` }],
      notes: [],
    };
  }
  const scan = scanSource(
    resolvedKind === 'gopro'
      ? { kind: 'gopro', root, variant: opts.variant }
      : resolvedKind === 'dvd'
        ? { kind: 'dvd', root }
        : { kind: 'folders', root, blurDir: opts.blurDir, sharpDir: opts.sharpDir, testSequences: opts.testSequences },
  );
  const problems = [...scan.problems];
  const notes = [...scan.notes];
  const sizes: Record<string, number> = {};
  for (const split of ['train', 'test'] as const) {
    const seqs = scan.splits[split];
    counts[split] = { sequences: seqs.length, pairs: seqs.reduce((n, s) => n + s.frames.length, 0) };
  }
  const frameProblems: Problem[] = [];
  await checkFrames([...scan.splits.train, ...scan.splits.test], opts, frameProblems, sizes);
  // Concurrent reads finish in any order; report them in path order so output is stable.
  problems.push(...frameProblems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
  const expected = opts.expected === undefined ? publishedFor(resolvedKind) : opts.expected;
  if (expected) {
    compareCounts(resolvedKind, scan.splits.root, counts, expected, problems);
    compareSizes(sizes, expected, scan.splits.root, problems, notes);
  }
  return { ok: problems.length === 0, kind: resolvedKind, detected: kind === undefined, root: scan.splits.root, counts, expected, sizes, problems, notes };
}

export function formatCheckReport(r: CheckReport): string {
  const lines: string[] = [];
  const kind = r.kind ? `${r.kind}${r.detected ? ' (detected)' : ''}` : 'unknown';
  lines.push(`${r.ok ? '✓' : '✗'} ${kind} dataset at ${r.root}`);
  for (const split of ['train', 'test'] as const) {
    const c = r.counts[split];
    const want = r.expected ? ` (expected ${fmt(r.expected[split].pairs)} in ${r.expected[split].sequences})` : '';
    lines.push(`  ${split.padEnd(5)} ${fmt(c.pairs)} pairs in ${c.sequences} sequences${want}`);
  }
  const sizes = Object.entries(r.sizes).map(([s, n]) => `${s} ×${fmt(n)}`);
  if (sizes.length > 0) lines.push(`  sizes ${sizes.join(', ')}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  if (r.problems.length > 0) {
    lines.push(`${r.problems.length} problem(s):`);
    for (const p of r.problems) lines.push(`  [${p.code}] ${p.message}`);
  }
  return lines.join('\n');
}
