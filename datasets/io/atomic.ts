/**
 * Atomic file writes: a reader (or a resumed run) sees either the old file or the complete new one,
 * never a half-written frame, because rename() within one directory is atomic on POSIX filesystems.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

let counter = 0;

/** A temp name beside `file` (same directory, so the rename never crosses filesystems). */
export function tempPathFor(file: string): string {
  counter += 1;
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${counter}`);
}

export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
