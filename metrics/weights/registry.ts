/**
 * The pretrained weights files divd's metrics use, where it looks for them, and whether they are there.
 * Nothing is downloaded at run time: users place the files (or run `divd weights fetch` on an online
 * machine, see README) in the weights directory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface WeightsFile {
  /** Path relative to the weights directory. */
  file: string;
  /** What needs it. */
  usedBy: string;
  /** Canonical download location (documentation only; never fetched by divd at run time). */
  source: string;
}

export const KNOWN_WEIGHTS: readonly WeightsFile[] = [
  {
    file: 'lpips-v0.1/alex.pth',
    usedBy: 'LPIPS (AlexNet linear layers)',
    source: 'richzhang/PerceptualSimilarity lpips/weights/v0.1/alex.pth',
  },
  {
    file: 'alexnet-owt-7be5be79.pth',
    usedBy: 'LPIPS (AlexNet backbone, torchvision)',
    source: 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth',
  },
  {
    file: 'pt_inception-2015-12-05-6726825d.pth',
    usedBy: 'FID / KID (pytorch-fid Inception v3)',
    source:
      'https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth',
  },
];

/** $DIVD_WEIGHTS_DIR, else ~/.cache/divd/weights. */
export function weightsDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.DIVD_WEIGHTS_DIR;
  if (fromEnv && fromEnv.trim() !== '') return path.resolve(fromEnv);
  return path.join(os.homedir(), '.cache', 'divd', 'weights');
}

export interface WeightsPresence extends WeightsFile {
  path: string;
  present: boolean;
  bytes: number | null;
}

export function weightsPresence(dir: string = weightsDir()): WeightsPresence[] {
  return KNOWN_WEIGHTS.map((w) => {
    const p = path.join(dir, w.file);
    const stat = fs.statSync(p, { throwIfNoEntry: false });
    const present = stat?.isFile() ?? false;
    return { ...w, path: p, present, bytes: present ? stat!.size : null };
  });
}
