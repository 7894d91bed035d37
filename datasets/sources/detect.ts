/** Recognises which supported layout a folder holds, so `divd data check <path>` needs no --dataset. */
import path from 'node:path';
import { resolveDvdRoot } from './dvd.ts';
import { resolveGoProRoot } from './gopro.ts';
import { isDir, listDirs } from './scan.ts';
import type { DatasetKind } from './types.ts';

/** Sequence folders of a tree with `train/` and `test/` (GoPro, split generic), else the root's own. */
function sequenceDirs(root: string): string[] {
  const splitDirs = ['train', 'test'].map((s) => path.join(root, s)).filter(isDir);
  const parents = splitDirs.length > 0 ? splitDirs : [root];
  return parents.flatMap((p) => listDirs(p).map((name) => path.join(p, name)));
}

const has = (dir: string, ...names: string[]) => names.every((n) => isDir(path.join(dir, n)));

export const LAYOUTS_HELP =
  'supported layouts: GoPro GOPRO_Large/{train,test}/<seq>/{blur,blur_gamma,sharp}/*.png; ' +
  'DVD DeepVideoDeblurring_Dataset/quantitative_datasets/<video>/{input,GT}/*.jpg; ' +
  'folders <root>/[train|test/]<seq>/{blur,sharp}/*.png|jpg';

export function detectKind(root: string): DatasetKind | null {
  if (!isDir(root)) return null;
  const gopro = resolveGoProRoot(root);
  // blur_gamma exists only in GoPro; GOPR#### sequence names are GoPro's camera file names.
  if (sequenceDirs(gopro).some((d) => has(d, 'sharp') && (has(d, 'blur_gamma') || (/^GOPR\d{4}_/.test(path.basename(d)) && has(d, 'blur'))))) {
    return 'gopro';
  }
  const dvd = resolveDvdRoot(root);
  if (dvd !== root || listDirs(root).some((name) => has(path.join(root, name), 'input', 'GT'))) return 'dvd';
  if (sequenceDirs(root).some((d) => has(d, 'blur', 'sharp'))) return 'folders';
  return null;
}
