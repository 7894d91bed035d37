/** Finds external programs on PATH without running a shell. */
import fs from 'node:fs';
import path from 'node:path';

export function which(program: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (program.includes('/')) return isExecutable(program) ? program : null;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, program);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Chromium for reports' screenshots/PDF: $CHROMIUM_PATH, else the usual Debian names. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.CHROMIUM_PATH) return which(env.CHROMIUM_PATH, env);
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = which(name, env);
    if (found) return found;
  }
  return null;
}
