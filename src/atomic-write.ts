/**
 * The one way divd replaces a file: write a temp file, then rename it over the target. rename() within a
 * filesystem is atomic, so a reader — another trial process, a resumed run, `mlflow ui` — sees the old
 * content or the complete new one, never a torn file, whatever instant the writer is killed at.
 * A leaf module (Node only) so datasets/, metrics/ and every src/ folder can share it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** Where the temp file goes (same filesystem as the target); default: beside it. */
  tempDir?: string;
}

/** A temp path unique to this process and call, beside `file` unless `dir` says otherwise. */
export function tempPathFor(file: string, dir = path.dirname(file)): string {
  return path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = tempPathFor(file, opts.tempDir);
  try {
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** The synchronous form; `durable` also fsyncs the data before the rename (checkpoints: survives power loss). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, opts: AtomicWriteOptions & { durable?: boolean } = {}): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempPathFor(file, opts.tempDir);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, data);
      if (opts.durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Pretty-printed JSON with a trailing newline, replaced atomically. */
export function writeJsonAtomicSync(file: string, value: unknown): void {
  writeFileAtomicSync(file, `${JSON.stringify(value, null, 2)}\n`);
}
