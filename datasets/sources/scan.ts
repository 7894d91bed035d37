/** Directory-walking helpers shared by the sources: sorted listings and blurry/sharp pairing. */
import fs from 'node:fs';
import path from 'node:path';
import { compareNames, isImageFile } from '../io/index.ts';
import type { FramePair, Problem, Sequence } from './types.ts';


export function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Visible sub-directories, sorted. Hidden entries (dot files, our own temp files) are never data. */
export function listDirs(dir: string): string[] {
  if (!isDir(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && isDir(path.join(dir, e.name)))))
    .map((e) => e.name)
    .sort(compareNames);
}

/** Visible image files (png/jpg/jpeg), sorted; and the count of other visible files for notes. */
export function listImages(dir: string): { images: string[]; others: string[] } {
  const images: string[] = [];
  const others: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.isDirectory()) continue;
    (isImageFile(e.name) ? images : others).push(e.name);
  }
  return { images: images.sort(compareNames), others: others.sort(compareNames) };
}

export interface PairResult {
  sequence: Sequence;
  problems: Problem[];
  notes: string[];
}

/**
 * Pairs `<seqDir>/<blurName>/*` with `<seqDir>/<sharpName>/*` by file name. Only frames present on both
 * sides enter the sequence; every one-sided frame is a problem.
 */
export function pairSequence(name: string, seqDir: string, blurName: string, sharpName: string): PairResult {
  const problems: Problem[] = [];
  const notes: string[] = [];
  const blurDir = path.join(seqDir, blurName);
  const sharpDir = path.join(seqDir, sharpName);
  let missing = false;
  for (const [dir, role] of [
    [blurDir, 'blurry'],
    [sharpDir, 'sharp'],
  ] as const) {
    if (!isDir(dir)) {
      problems.push({ code: 'missing-folder', path: dir, message: `sequence ${name}: ${role} folder ${dir} is missing` });
      missing = true;
    }
  }
  if (missing) return { sequence: { name, frames: [] }, problems, notes };

  const blur = listImages(blurDir);
  const sharp = listImages(sharpDir);
  for (const [dir, listing] of [
    [blurDir, blur],
    [sharpDir, sharp],
  ] as const) {
    if (listing.others.length > 0) notes.push(`${dir}: ignored ${listing.others.length} non-image file(s), e.g. ${listing.others[0]}`);
  }
  const sharpSet = new Set(sharp.images);
  const blurSet = new Set(blur.images);
  const frames: FramePair[] = [];
  for (const f of blur.images) {
    if (sharpSet.has(f)) frames.push({ name: f, blurry: path.join(blurDir, f), sharp: path.join(sharpDir, f) });
    else problems.push({ code: 'unpaired-frame', path: path.join(blurDir, f), message: `${path.join(blurDir, f)} has no sharp frame ${path.join(sharpDir, f)}` });
  }
  for (const f of sharp.images) {
    if (!blurSet.has(f)) problems.push({ code: 'unpaired-frame', path: path.join(sharpDir, f), message: `${path.join(sharpDir, f)} has no blurry frame ${path.join(blurDir, f)}` });
  }
  if (blur.images.length === 0 && sharp.images.length === 0) {
    problems.push({ code: 'empty-sequence', path: seqDir, message: `sequence ${name} (${seqDir}) has no png/jpg frames` });
  }
  return { sequence: { name, frames }, problems, notes };
}
