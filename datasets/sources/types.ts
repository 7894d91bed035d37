/** What every dataset source produces: ordered (blurry, sharp) frame paths per sequence, per split. */

export type DatasetKind = 'gopro' | 'dvd' | 'folders';
export const DATASET_KINDS: readonly DatasetKind[] = ['gopro', 'dvd', 'folders'];

export type SplitName = 'train' | 'test';

export interface FramePair {
  /** The shared file name of the pair, e.g. `000047.png`. */
  name: string;
  blurry: string; // absolute path
  sharp: string; // absolute path
}

export interface Sequence {
  name: string;
  /** Frames in temporal order (numeric-aware sort of the file names). */
  frames: FramePair[];
}

export interface DatasetSplits {
  kind: DatasetKind;
  root: string;
  train: Sequence[];
  test: Sequence[];
}

/** Kinds of problem `checkDataset` reports; each is documented in datasets/README.md. */
export type ProblemCode =
  | 'unknown-layout' // nothing under the path looks like any supported layout
  | 'missing-folder' // a split, sequence or blur/sharp folder that the layout requires is absent
  | 'missing-sequence' // a sequence the published split names is absent
  | 'unknown-sequence' // a configured test sequence that does not exist
  | 'empty-sequence' // a sequence with no image frames
  | 'unpaired-frame' // a frame present on one side (blurry or sharp) only
  | 'unreadable-frame' // a frame whose header (or, with deep checks, pixels) cannot be decoded
  | 'size-mismatch' // a blurry/sharp pair of different sizes, or a frame unlike the rest of its sequence
  | 'unexpected-size' // frames not of the published resolution
  | 'unexpected-count'; // sequence or pair counts unlike the published ones

export interface Problem {
  code: ProblemCode;
  path: string;
  message: string;
}

/** The structural scan of a tree: what was found, and what is wrong with the layout. */
export interface Scan {
  splits: DatasetSplits;
  problems: Problem[];
  notes: string[];
}
