/** Expands what logArtifact was given into (local file, artifact path) pairs, MLflow-style. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.ts';

export interface ArtifactFile {
  local: string;
  /** POSIX path relative to the run's artifact root. */
  artifactPath: string;
}

const joinPosix = (dir: string, rel: string): string => (dir === '' ? rel : `${dir}/${rel}`);

async function walk(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
    const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await walk(root, child)));
    else if (entry.isFile()) out.push(child);
  }
  return out.sort();
}

/** A file lands at `<dir>/<basename>`; a directory's files at `<dir>/<path inside it>`. */
export async function listArtifactFiles(localPath: string, artifactDir: string): Promise<ArtifactFile[]> {
  let stat;
  try {
    stat = await fs.stat(localPath);
  } catch {
    throw new UsageError(`artifact ${localPath}: no such file or directory`);
  }
  if (!stat.isDirectory()) return [{ local: localPath, artifactPath: joinPosix(artifactDir, path.basename(localPath)) }];
  return (await walk(localPath)).map((rel) => ({ local: path.join(localPath, rel), artifactPath: joinPosix(artifactDir, rel) }));
}
