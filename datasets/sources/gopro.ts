/** GoPro: `GOPRO_Large/{train,test}/<sequence>/{blur,blur_gamma,sharp}/<frame>.png`. */
import path from 'node:path';
import { GOPRO_TEST_SEQUENCES } from './published.ts';
import { isDir, listDirs, pairSequence } from './scan.ts';
import type { Problem, Scan, Sequence, SplitName } from './types.ts';

/** `blur` averages gamma-encoded values, `blur_gamma` averages in (approximately) linear light. */
export type GoProVariant = 'blur' | 'blur_gamma';
export const GOPRO_VARIANTS: readonly GoProVariant[] = ['blur', 'blur_gamma'];

export interface GoProOptions {
  variant?: GoProVariant;
}

/** Accepts the folder that holds `train/` and `test/`, or its parent holding `GOPRO_Large/`. */
export function resolveGoProRoot(root: string): string {
  const nested = path.join(root, 'GOPRO_Large');
  return isDir(nested) && !isDir(path.join(root, 'train')) ? nested : root;
}

export function scanGoPro(rootArg: string, opts: GoProOptions = {}): Scan {
  const variant = opts.variant ?? 'blur';
  const root = path.resolve(resolveGoProRoot(rootArg));
  const problems: Problem[] = [];
  const notes: string[] = [`GoPro variant: ${variant}`];
  const splits: Record<SplitName, Sequence[]> = { train: [], test: [] };
  for (const split of ['train', 'test'] as const) {
    const splitDir = path.join(root, split);
    if (!isDir(splitDir)) {
      problems.push({ code: 'missing-folder', path: splitDir, message: `GoPro ${split} split folder ${splitDir} is missing` });
      continue;
    }
    for (const name of listDirs(splitDir)) {
      const r = pairSequence(name, path.join(splitDir, name), variant, 'sharp');
      splits[split].push(r.sequence);
      problems.push(...r.problems);
      notes.push(...r.notes);
    }
  }
  if (isDir(path.join(root, 'test'))) {
    const present = new Set(splits.test.map((s) => s.name));
    for (const name of GOPRO_TEST_SEQUENCES) {
      if (!present.has(name)) {
        problems.push({
          code: 'missing-sequence',
          path: path.join(root, 'test', name),
          message: `GoPro test sequence ${name} (part of the published test split) is missing`,
        });
      }
    }
  }
  return { splits: { kind: 'gopro', root, ...splits }, problems, notes };
}
