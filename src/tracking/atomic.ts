/**
 * File writes that concurrent trial processes and a crash at any instant cannot corrupt:
 * readers see the old content or the new one, never a torn file.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { tempPathFor, writeFileAtomic } from '../atomic-write.ts';

/**
 * Replaces `finalPath` atomically. The temp file goes in `tempDir` (same filesystem), which callers
 * choose so that MLflow never lists a half-written temp file as a tag or param.
 */
export async function writeAtomic(finalPath: string, content: string | Uint8Array, tempDir = path.dirname(finalPath)): Promise<void> {
  await writeFileAtomic(finalPath, content, { tempDir });
}

/**
 * Creates `finalPath` with `content` only if it does not exist yet (hard link from a complete temp
 * file: exclusive and atomic). Returns the content already there when it existed.
 */
export async function writeOnce(finalPath: string, content: string, tempDir: string): Promise<string | undefined> {
  await fs.mkdir(path.dirname(finalPath), { recursive: true });
  const tmp = tempPathFor(finalPath, tempDir);
  await fs.writeFile(tmp, content);
  try {
    await fs.link(tmp, finalPath);
    return undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return await fs.readFile(finalPath, 'utf8');
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

export async function readJsonIfExists<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as T;
}
