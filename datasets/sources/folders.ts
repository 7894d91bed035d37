/**
 * Generic folders, for datasets without a dedicated source (BSD, REDS-style, a lab's own captures):
 * - split layout: `<root>/{train,test}/<sequence>/{blur,sharp}/*.png|jpg` (what `divd data synth` writes);
 * - flat layout: `<root>/<sequence>/{blur,sharp}/*` with the test split named by `testSequences`; without
 *   it every sequence is a test sequence (the flat layout is mostly a folder of results to score).
 * Folder names other than `blur`/`sharp` are configurable.
 */
import path from 'node:path';
import { isDir, listDirs, pairSequence } from './scan.ts';
import type { Problem, Scan, Sequence, SplitName } from './types.ts';

export interface FoldersOptions {
  blurDir?: string;
  sharpDir?: string;
  /** Flat layout only: names of the sequences that form the test split; the rest are train. */
  testSequences?: readonly string[];
}

export function hasSplitFolders(root: string): boolean {
  return isDir(path.join(root, 'train')) || isDir(path.join(root, 'test'));
}

export function scanFolders(rootArg: string, opts: FoldersOptions = {}): Scan {
  const root = path.resolve(rootArg);
  const blurDir = opts.blurDir ?? 'blur';
  const sharpDir = opts.sharpDir ?? 'sharp';
  const problems: Problem[] = [];
  const notes: string[] = [];
  const splits: Record<SplitName, Sequence[]> = { train: [], test: [] };

  const add = (split: SplitName, parent: string, name: string) => {
    const r = pairSequence(name, path.join(parent, name), blurDir, sharpDir);
    splits[split].push(r.sequence);
    problems.push(...r.problems);
    notes.push(...r.notes);
  };

  if (!isDir(root)) {
    problems.push({ code: 'missing-folder', path: root, message: `dataset folder ${root} does not exist` });
  } else if (hasSplitFolders(root)) {
    if (opts.testSequences) notes.push('testSequences is ignored: the tree has train/ and test/ folders');
    for (const split of ['train', 'test'] as const) {
      const dir = path.join(root, split);
      if (!isDir(dir)) notes.push(`no ${split}/ folder: the ${split} split is empty`);
      for (const name of listDirs(dir)) add(split, dir, name);
    }
  } else {
    const names = listDirs(root);
    if (names.length === 0) {
      problems.push({ code: 'missing-folder', path: root, message: `no sequence folders under ${root} (expected <sequence>/{${blurDir},${sharpDir}}/)` });
    }
    const test = opts.testSequences ? new Set(opts.testSequences) : null;
    if (!test) notes.push('flat layout without testSequences: every sequence is in the test split, train is empty');
    for (const name of names) add(test && !test.has(name) ? 'train' : 'test', root, name);
    for (const name of opts.testSequences ?? []) {
      if (!names.includes(name)) {
        problems.push({ code: 'unknown-sequence', path: path.join(root, name), message: `test sequence ${name} named in testSequences is not under ${root}` });
      }
    }
  }
  return { splits: { kind: 'folders', root, ...splits }, problems, notes };
}
