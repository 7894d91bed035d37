/**
 * `divd weights verify`: which weights files are in the weights directory and whether each is the published
 * file (its SHA-256, or the 8 hex digits torchvision and pytorch-fid put in their file names). A renamed or
 * truncated download would otherwise only show up as wrong metric values.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KNOWN_WEIGHTS, weightsDir, type WeightsFile } from './registry.ts';

export interface WeightsCheck {
  id: WeightsFile['id'];
  file: string;
  path: string;
  usedBy: string;
  source: string;
  status: 'ok' | 'mismatch' | 'missing';
  /** SHA-256 of the file on disk (present files only). */
  sha256?: string;
  /** What it should be: the full digest where known, else its published prefix. */
  expected: string;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function verifyWeights(dir: string = weightsDir(), files: readonly WeightsFile[] = KNOWN_WEIGHTS): Promise<WeightsCheck[]> {
  const out: WeightsCheck[] = [];
  for (const w of files) {
    const p = path.join(dir, w.file);
    const expected = w.sha256 ?? w.sha256Prefix;
    const base = { id: w.id, file: w.file, path: p, usedBy: w.usedBy, source: w.source, expected };
    if (!fs.statSync(p, { throwIfNoEntry: false })?.isFile()) {
      out.push({ ...base, status: 'missing' });
      continue;
    }
    const digest = await sha256(p);
    out.push({ ...base, sha256: digest, status: digest.startsWith(expected) ? 'ok' : 'mismatch' });
  }
  return out;
}
