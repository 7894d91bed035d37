/**
 * A small MLflow REST client (mlflow.md §2–§5): the endpoints the harness needs, with the server's
 * documented quirks handled here so callers never see them.
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../../errors.ts';
import type { KeyValue, MetricPoint, RunStatus } from '../types.ts';
import { resolveArtifactTarget } from './artifacts.ts';
import { splitLogBatch } from './batch.ts';
import { MlflowApiError } from './errors.ts';
import type { HttpClient } from './http.ts';
import { fromWireMetric, type WireBatch, type WireExperiment, type WireMetric, type WireRun, type WireRunInfo } from './wire.ts';

/** The Python client's page size for metrics/get-history. */
export const HISTORY_PAGE_SIZE = 25000;

export interface CreateRunRequest {
  experimentId: string;
  runName?: string;
  startTime: number;
  userId: string;
  tags: KeyValue[];
}

const isCode = (e: unknown, code: string): boolean => e instanceof MlflowApiError && e.errorCode === code;

export class MlflowClient {
  constructor(
    readonly baseUrl: string,
    private readonly http: HttpClient,
  ) {}

  private url(endpoint: string, query?: Record<string, string | number | undefined>): string {
    const u = new URL(`${this.baseUrl.replace(/\/+$/, '')}/api/2.0/mlflow/${endpoint}`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  private get(endpoint: string, query: Record<string, string | number | undefined>): Promise<unknown> {
    return this.http.send({ method: 'GET', url: this.url(endpoint, query) });
  }

  private post(endpoint: string, body: object): Promise<unknown> {
    return this.http.send({ method: 'POST', url: this.url(endpoint), json: body });
  }

  async getExperimentByName(name: string): Promise<WireExperiment | undefined> {
    try {
      const res = (await this.get('experiments/get-by-name', { experiment_name: name })) as { experiment?: WireExperiment };
      return res.experiment;
    } catch (e) {
      if (isCode(e, 'RESOURCE_DOES_NOT_EXIST')) return undefined;
      throw e;
    }
  }

  async getExperiment(experimentId: string): Promise<WireExperiment> {
    const res = (await this.get('experiments/get', { experiment_id: experimentId })) as { experiment?: WireExperiment };
    if (!res.experiment) throw new MlflowApiError('GET', this.url('experiments/get'), 200, undefined, 'response has no experiment');
    return res.experiment;
  }

  async createExperiment(name: string): Promise<string> {
    const res = (await this.post('experiments/create', { name })) as { experiment_id?: string };
    if (typeof res.experiment_id !== 'string') {
      throw new MlflowApiError('POST', this.url('experiments/create'), 200, undefined, 'response has no experiment_id');
    }
    return res.experiment_id;
  }

  /**
   * get-by-name → create on a miss → get-by-name again on RESOURCE_ALREADY_EXISTS (another process won
   * the race, or a retried create already succeeded, or the name belongs to a deleted experiment).
   */
  async getOrCreateExperiment(name: string): Promise<string> {
    let exp = await this.getExperimentByName(name);
    if (!exp) {
      try {
        return await this.createExperiment(name);
      } catch (e) {
        if (!isCode(e, 'RESOURCE_ALREADY_EXISTS')) throw e;
      }
      exp = await this.getExperimentByName(name);
      if (!exp) throw new MlflowApiError('GET', this.url('experiments/get-by-name'), 404, 'RESOURCE_DOES_NOT_EXIST', `experiment ${JSON.stringify(name)} exists per create, but get-by-name cannot find it`);
    }
    if (exp.lifecycle_stage === 'deleted') {
      throw new UsageError(
        `MLflow experiment ${JSON.stringify(name)} (id ${exp.experiment_id}) at ${this.baseUrl} is deleted; restore it ` +
          `(mlflow experiments restore --experiment-id ${exp.experiment_id}) or choose another experiment name`,
      );
    }
    return exp.experiment_id;
  }

  async createRun(req: CreateRunRequest): Promise<WireRunInfo> {
    const res = (await this.post('runs/create', {
      experiment_id: req.experimentId,
      user_id: req.userId,
      // Always sent: a run created without start_time is stored with start_time 0.
      start_time: req.startTime,
      ...(req.runName !== undefined ? { run_name: req.runName } : {}),
      tags: req.tags,
    })) as { run?: WireRun };
    if (!res.run?.info?.run_id) throw new MlflowApiError('POST', this.url('runs/create'), 200, undefined, 'response has no run.info.run_id');
    return res.run.info;
  }

  async updateRun(runId: string, update: { status?: RunStatus; endTime?: number }): Promise<void> {
    await this.post('runs/update', {
      run_id: runId,
      run_uuid: runId,
      ...(update.status ? { status: update.status } : {}),
      ...(update.endTime !== undefined ? { end_time: update.endTime } : {}),
    });
  }

  async getRun(runId: string): Promise<WireRun | undefined> {
    try {
      const res = (await this.get('runs/get', { run_id: runId })) as { run?: WireRun };
      return res.run;
    } catch (e) {
      if (isCode(e, 'RESOURCE_DOES_NOT_EXIST')) return undefined;
      throw e;
    }
  }

  /** Sends the batch in as many requests as MLflow's limits need (see batch.ts), in order. */
  async logBatch(runId: string, batch: WireBatch): Promise<number> {
    const requests = splitLogBatch(runId, { ...batch, params: uniqueParams(batch.params) });
    for (const r of requests) {
      await this.post('runs/log-batch', {
        run_id: runId,
        ...(r.metrics.length ? { metrics: r.metrics } : {}),
        ...(r.params.length ? { params: r.params } : {}),
        ...(r.tags.length ? { tags: r.tags } : {}),
      });
    }
    return requests.length;
  }

  /** The whole series of one metric, following next_page_token, always with max_results. */
  async getMetricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    const points: MetricPoint[] = [];
    const seenTokens = new Set<string>();
    let pageToken: string | undefined;
    do {
      const res = (await this.get('metrics/get-history', {
        run_id: runId,
        metric_key: key,
        max_results: HISTORY_PAGE_SIZE,
        page_token: pageToken,
      })) as { metrics?: WireMetric[]; next_page_token?: string };
      for (const m of res.metrics ?? []) points.push(fromWireMetric(m));
      pageToken = res.next_page_token || undefined;
      if (pageToken !== undefined) {
        // MLflow 3.1.1+ servers can hand back a token pointing at the start again: stop instead of looping.
        if (seenTokens.has(pageToken)) throw new MlflowApiError('GET', this.url('metrics/get-history'), 200, undefined, `next_page_token ${JSON.stringify(pageToken)} repeats; the server's paging is broken`);
        seenTokens.add(pageToken);
      }
    } while (pageToken !== undefined);
    return points;
  }

  /** All runs matching a filter (runs/search, every page). */
  async searchRuns(experimentIds: string[], filter: string): Promise<WireRun[]> {
    const runs: WireRun[] = [];
    let pageToken: string | undefined;
    do {
      const res = (await this.post('runs/search', {
        experiment_ids: experimentIds,
        filter,
        run_view_type: 'ALL',
        max_results: 1000,
        ...(pageToken ? { page_token: pageToken } : {}),
      })) as { runs?: WireRun[]; next_page_token?: string };
      runs.push(...(res.runs ?? []));
      pageToken = res.next_page_token || undefined;
    } while (pageToken !== undefined);
    return runs;
  }

  /** Uploads one local file to `<artifactUri>/<relPath>` (proxy PUT, or a local copy for file: URIs). */
  async uploadArtifact(artifactUri: string, relPath: string, localFile: string): Promise<void> {
    const target = resolveArtifactTarget(this.baseUrl, artifactUri, relPath);
    if (target.kind === 'local') {
      await fs.mkdir(path.dirname(target.path), { recursive: true });
      await fs.copyFile(localFile, target.path);
      return;
    }
    const { size } = await fs.stat(localFile);
    await this.http.send({ method: 'PUT', url: target.url, body: () => createReadStream(localFile), contentLength: size });
  }
}

/** The server rejects a request naming one param twice, even with the same value. */
function uniqueParams(params: KeyValue[]): KeyValue[] {
  const seen = new Map<string, string>();
  for (const p of params) {
    const prev = seen.get(p.key);
    if (prev !== undefined && prev !== p.value) {
      throw new UsageError(`param ${JSON.stringify(p.key)} given twice with different values (${JSON.stringify(prev)}, ${JSON.stringify(p.value)}); MLflow params are write-once`);
    }
    seen.set(p.key, p.value);
  }
  return [...seen].map(([key, value]) => ({ key, value }));
}
