/** DVD: `DeepVideoDeblurring_Dataset/quantitative_datasets/<video>/{input,GT}/<frame>.jpg`, split by name. */
import path from 'node:path';
import { DVD_TEST_SEQUENCES } from './published.ts';
import { isDir, listDirs, pairSequence } from './scan.ts';
import type { Problem, Scan, Sequence } from './types.ts';

/** Accepts the unpacked `DeepVideoDeblurring_Dataset`, its parent, or `quantitative_datasets` itself. */
export function resolveDvdRoot(root: string): string {
  for (const candidate of [
    path.join(root, 'DeepVideoDeblurring_Dataset', 'quantitative_datasets'),
    path.join(root, 'quantitative_datasets'),
  ]) {
    if (isDir(candidate)) return candidate;
  }
  return root;
}

export function scanDvd(rootArg: string): Scan {
  const root = path.resolve(resolveDvdRoot(rootArg));
  const problems: Problem[] = [];
  const notes: string[] = [];
  const train: Sequence[] = [];
  const test: Sequence[] = [];
  const testNames = new Set(DVD_TEST_SEQUENCES);
  const videos = listDirs(root);
  if (videos.length === 0) {
    problems.push({
      code: 'missing-folder',
      path: root,
      message: `no DVD videos under ${root} (expected DeepVideoDeblurring_Dataset/quantitative_datasets/<video>/{input,GT})`,
    });
  }
  for (const name of videos) {
    const r = pairSequence(name, path.join(root, name), 'input', 'GT');
    (testNames.has(name) ? test : train).push(r.sequence);
    problems.push(...r.problems);
    notes.push(...r.notes);
  }
  if (videos.length > 0) {
    const present = new Set(videos);
    for (const name of DVD_TEST_SEQUENCES) {
      if (!present.has(name)) {
        problems.push({ code: 'missing-sequence', path: path.join(root, name), message: `DVD test video ${name} (part of the published test split) is missing` });
      }
    }
  }
  return { splits: { kind: 'dvd', root, train, test }, problems, notes };
}
