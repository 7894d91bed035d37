/**
 * Tracking: one Tracker interface, three implementations (MLflow REST, MLflow FileStore `mlruns/`,
 * none), chosen by `createTracker` from the config's `tracking` section or MLFLOW_TRACKING_URI.
 */
export type { EndStatus, LogMetricsOptions, MetricPoint, ParamValue, RunStatus, StartRunOptions, TrackedRun, Tracker, TrackingConfig } from './types.ts';
export { createTracker, resolveTracking, DEFAULT_TRACKING_URI, DEFAULT_EXPERIMENT, type ResolvedTracking } from './factory.ts';
export { flattenParams } from './flatten.ts';
export { syncSpools, type SyncReport } from './spool/sync.ts';
export { MlflowApiError, MlflowUnavailableError } from './rest/errors.ts';
export { TAG } from './system-tags.ts';
