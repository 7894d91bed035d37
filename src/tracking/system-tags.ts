/**
 * The tags MLflow's own default context providers put on every run (mlflow/tracking/context/*):
 * who ran it, from which program, at which git commit. The UI reads names, users and nesting from them.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

export const TAG = {
  runName: 'mlflow.runName',
  user: 'mlflow.user',
  sourceName: 'mlflow.source.name',
  sourceType: 'mlflow.source.type',
  gitCommit: 'mlflow.source.git.commit',
  parentRunId: 'mlflow.parentRunId',
} as const;

export function currentUser(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MLFLOW_TRACKING_USERNAME) return env.MLFLOW_TRACKING_USERNAME;
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown'; // no passwd entry (some containers)
  }
}

function gitCommit(cwd: string): string | undefined {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    const sha = out.toString().trim();
    return /^[0-9a-f]{40}$/.test(sha) ? sha : undefined;
  } catch {
    return undefined; // not a checkout, or git missing
  }
}

let cachedCommit: { cwd: string; sha: string | undefined } | undefined;

/** mlflow.user, mlflow.source.name (the entry script), mlflow.source.type and the git commit if any. */
export function systemTags(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const cwd = process.cwd();
  if (cachedCommit?.cwd !== cwd) cachedCommit = { cwd, sha: gitCommit(cwd) };
  const script = process.argv[1] ? path.resolve(process.argv[1]) : process.argv0;
  const tags: Record<string, string> = {
    [TAG.user]: currentUser(env),
    [TAG.sourceName]: script,
    [TAG.sourceType]: 'LOCAL',
  };
  if (cachedCommit.sha) tags[TAG.gitCommit] = cachedCommit.sha;
  return tags;
}

/** The tag set for a new run: system tags, then the caller's, then name and parent (which win). */
export function runTags(
  options: { runName?: string; parentRunId?: string; tags?: Record<string, string> },
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const tags = { ...systemTags(env), ...options.tags };
  if (options.runName !== undefined) tags[TAG.runName] = options.runName;
  if (options.parentRunId !== undefined) tags[TAG.parentRunId] = options.parentRunId;
  return tags;
}
