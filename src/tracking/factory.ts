/**
 * Picks the tracker from the config's `tracking` section, falling back to MLflow's environment
 * variables: http(s) → MLflow REST, `file:` URI or a plain path → FileStore, `none` → nothing.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { FileStoreTracker } from './filestore/tracker.ts';
import { NoneTracker } from './none.ts';
import { RestTracker, type RestTrackerOptions } from './rest/tracker.ts';
import type { Tracker, TrackingConfig } from './types.ts';

export const DEFAULT_TRACKING_URI = './mlruns';
export const DEFAULT_EXPERIMENT = 'Default';

export type ResolvedTracking =
  | { kind: 'none' }
  | { kind: 'filestore'; root: string; experiment: string }
  | { kind: 'mlflow-rest'; url: string; experiment: string; experimentId?: string };

export function resolveTracking(config: TrackingConfig = {}, env: NodeJS.ProcessEnv = process.env): ResolvedTracking {
  const uri = (config.uri ?? env.MLFLOW_TRACKING_URI ?? DEFAULT_TRACKING_URI).trim();
  const experiment = config.experiment ?? env.MLFLOW_EXPERIMENT_NAME ?? DEFAULT_EXPERIMENT;
  if (uri === '') throw new UsageError('tracking uri is empty; use http(s)://host, a path (./mlruns) or none');
  if (uri === 'none') return { kind: 'none' };
  if (/^https?:\/\//i.test(uri)) {
    // MLFLOW_EXPERIMENT_ID applies only when no name was configured, as in MLflow's fluent API.
    const experimentId = config.experiment === undefined && !env.MLFLOW_EXPERIMENT_NAME ? env.MLFLOW_EXPERIMENT_ID : undefined;
    return { kind: 'mlflow-rest', url: uri.replace(/\/+$/, ''), experiment, ...(experimentId ? { experimentId } : {}) };
  }
  if (uri.startsWith('file:')) {
    let root: string;
    try {
      root = fileURLToPath(uri);
    } catch {
      throw new UsageError(`tracking uri ${JSON.stringify(uri)}: not a valid file: URI (expected file:///absolute/path)`);
    }
    return { kind: 'filestore', root, experiment };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1];
  if (scheme && scheme.length > 1) {
    throw new UsageError(
      `tracking uri ${JSON.stringify(uri)}: scheme '${scheme}:' is not supported by divd; ` +
        `run \`mlflow server --backend-store-uri ${uri}\` and point divd at its http:// address, ` +
        `or use a local directory (./mlruns) or none`,
    );
  }
  return { kind: 'filestore', root: path.resolve(uri), experiment };
}

export function createTracker(
  config: TrackingConfig = {},
  env: NodeJS.ProcessEnv = process.env,
  restOptions: Partial<RestTrackerOptions> = {},
): Tracker {
  const resolved = resolveTracking(config, env);
  switch (resolved.kind) {
    case 'none':
      return new NoneTracker();
    case 'filestore':
      return new FileStoreTracker(resolved.root, resolved.experiment, env);
    case 'mlflow-rest':
      return new RestTracker({ url: resolved.url, experiment: resolved.experiment, experimentId: resolved.experimentId, env, ...restOptions });
  }
}
