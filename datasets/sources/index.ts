/** Dataset sources: a config names a tree, `openDataset` gives its splits or throws listing every layout problem. */
import { UsageError } from '../../src/errors.ts';
import { scanDvd } from './dvd.ts';
import { scanFolders, type FoldersOptions } from './folders.ts';
import { scanGoPro, type GoProVariant } from './gopro.ts';
import type { DatasetKind, DatasetSplits, Scan } from './types.ts';

export type DatasetSource =
  | { kind: 'gopro'; root: string; variant?: GoProVariant }
  | { kind: 'dvd'; root: string }
  | ({ kind: 'folders'; root: string } & FoldersOptions);

export function scanSource(source: DatasetSource): Scan {
  switch (source.kind) {
    case 'gopro':
      return scanGoPro(source.root, { variant: source.variant });
    case 'dvd':
      return scanDvd(source.root);
    case 'folders':
      return scanFolders(source.root, source);
  }
}

/** Layout problems as one error message: every problem on its own line, capped so a broken tree stays readable. */
export function formatProblems(kind: DatasetKind, root: string, problems: { message: string }[], limit = 50): string {
  const lines = problems.slice(0, limit).map((p) => `  - ${p.message}`);
  if (problems.length > limit) lines.push(`  … and ${problems.length - limit} more (run \`divd data check ${root}\` for all)`);
  return `${kind} dataset at ${root} has ${problems.length} problem(s):\n${lines.join('\n')}`;
}

/** The splits of a well-formed tree; a UsageError listing every structural problem otherwise. */
export function openDataset(source: DatasetSource): DatasetSplits {
  const scan = scanSource(source);
  if (scan.problems.length > 0) throw new UsageError(formatProblems(source.kind, scan.splits.root, scan.problems));
  return scan.splits;
}

export { scanGoPro, GOPRO_VARIANTS, resolveGoProRoot } from './gopro.ts';
export type { GoProVariant, GoProOptions } from './gopro.ts';
export { scanDvd, resolveDvdRoot } from './dvd.ts';
export { scanFolders } from './folders.ts';
export type { FoldersOptions } from './folders.ts';
export { detectKind, LAYOUTS_HELP } from './detect.ts';
export { GOPRO_PUBLISHED, GOPRO_TEST_SEQUENCES, DVD_PUBLISHED, DVD_TEST_SEQUENCES } from './published.ts';
export type { PublishedCounts, SplitCounts } from './published.ts';
export { DATASET_KINDS } from './types.ts';
export type { DatasetKind, DatasetSplits, FramePair, Problem, ProblemCode, Scan, Sequence, SplitName } from './types.ts';
