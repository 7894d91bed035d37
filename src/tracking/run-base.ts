/**
 * What every TrackedRun shares: turning the caller's records into validated MLflow entities.
 * Implementations only store entities.
 */
import type { EndStatus, KeyValue, LogMetricsOptions, MetricPoint, ParamValue, TrackedRun } from './types.ts';
import { normalizeArtifactDir, toParams, toTags, validateMetricPoint } from './validate.ts';

export abstract class RunBase implements TrackedRun {
  abstract readonly runId: string;
  abstract readonly experimentId: string;
  abstract readonly resumed: boolean;

  protected abstract writeParams(params: KeyValue[]): Promise<void>;
  protected abstract writeMetrics(points: MetricPoint[]): Promise<void>;
  protected abstract writeTags(tags: KeyValue[]): Promise<void>;
  protected abstract writeArtifact(localPath: string, artifactDir: string): Promise<void>;
  protected abstract finish(status: EndStatus, endTime: number): Promise<void>;

  async logParams(params: Record<string, ParamValue>): Promise<void> {
    const list = toParams(params);
    if (list.length > 0) await this.writeParams(list);
  }

  async logMetrics(metrics: Record<string, number>, options: LogMetricsOptions = {}): Promise<void> {
    const timestamp = options.timestamp ?? Date.now();
    const step = options.step ?? 0;
    await this.logMetricPoints(Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp, step })));
  }

  async logMetricPoints(points: readonly MetricPoint[]): Promise<void> {
    for (const p of points) validateMetricPoint(p);
    if (points.length > 0) await this.writeMetrics(points.map((p) => ({ ...p })));
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    const list = toTags(tags);
    if (list.length > 0) await this.writeTags(list);
  }

  async logArtifact(localPath: string, artifactDir?: string): Promise<void> {
    await this.writeArtifact(localPath, normalizeArtifactDir(artifactDir));
  }

  async end(status: EndStatus = 'FINISHED'): Promise<void> {
    await this.finish(status, Date.now());
  }
}
