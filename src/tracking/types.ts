/**
 * The tracking contract every stage of divd logs through. Three implementations sit behind it
 * (MLflow REST, MLflow FileStore directory, none); callers never know which one they hold.
 */

/** MLflow's terminal run states; RUNNING is implicit between start and end. */
export type EndStatus = 'FINISHED' | 'FAILED' | 'KILLED';
export type RunStatus = 'RUNNING' | 'SCHEDULED' | EndStatus;

export interface MetricPoint {
  key: string;
  /** Any double, NaN and ±Infinity included. */
  value: number;
  /** Unix milliseconds. */
  timestamp: number;
  step: number;
}

export interface KeyValue {
  key: string;
  value: string;
}

export type ParamValue = string | number | boolean | null;

export interface StartRunOptions {
  /** Shown in the UI (`mlflow.runName`); e.g. a trial label. */
  runName?: string;
  /** Makes this a child run: the UI nests it under that run (`mlflow.parentRunId`). */
  parentRunId?: string;
  /** Extra tags on top of the system tags (mlflow.user, mlflow.source.*). */
  tags?: Record<string, string>;
  /**
   * The trial's run directory. When given, the tracker remembers the run there (`tracking.json`) so a
   * restarted trial reattaches to the same MLflow run, and the REST tracker spools records there when
   * the server is unreachable.
   */
  runDir?: string;
  /** Unix ms; defaults to now. */
  startTime?: number;
}

export interface LogMetricsOptions {
  step?: number;
  /** Unix ms; defaults to now. */
  timestamp?: number;
}

/** One started (or reattached) run. Calls are meant to be awaited in order. */
export interface TrackedRun {
  readonly runId: string;
  readonly experimentId: string;
  /** True when this run continued an earlier run found in the run directory. */
  readonly resumed: boolean;
  logParams(params: Record<string, ParamValue>): Promise<void>;
  logMetrics(metrics: Record<string, number>, options?: LogMetricsOptions): Promise<void>;
  /** Explicit points, for series logged out of order or with their own timestamps. */
  logMetricPoints(points: readonly MetricPoint[]): Promise<void>;
  setTags(tags: Record<string, string>): Promise<void>;
  /**
   * Uploads a file or a directory's contents. A file lands at `<artifactDir>/<basename>`, a directory's
   * files at `<artifactDir>/<relative path>` (MLflow's log_artifact / log_artifacts).
   */
  logArtifact(localPath: string, artifactDir?: string): Promise<void>;
  end(status?: EndStatus): Promise<void>;
}

export interface Tracker {
  readonly kind: 'mlflow-rest' | 'filestore' | 'none';
  /** Human-readable destination, e.g. the server URL or the mlruns directory. */
  readonly location: string;
  startRun(options?: StartRunOptions): Promise<TrackedRun>;
  /** Releases connections; call once when done with the tracker. */
  close(): Promise<void>;
}

/** The `tracking` section of a trial config. */
export interface TrackingConfig {
  /** `http(s)://…` (REST), `file:/abs/path` or a plain path (FileStore), or `none`. */
  uri?: string;
  /** Experiment name; created when missing. */
  experiment?: string;
}
