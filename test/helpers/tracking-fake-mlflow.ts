/**
 * An in-process stand-in for an MLflow tracking server (node:http), for the tracking tests. It plays
 * the behaviours mlflow.md documents — the 400 for a missing Content-Type, RESOURCE_ALREADY_EXISTS as
 * 400, deleted experiments returned by get-by-name, log-batch limits, write-once params, NaN strings,
 * get-history paging, the artifact proxy, plain-text 401, HTML 404 — records every request, and can
 * inject failures (status codes with headers, dropped connections).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json?: any;
}

/**
 * 'drop': close the connection without answering; 'hang': never answer (a timeout);
 * 'lose-response': do the work, then drop the connection (the client cannot know it succeeded).
 */
export type Failure = { status: number; body?: string; headers?: Record<string, string> } | 'drop' | 'hang' | 'lose-response';

interface Injection {
  match: (r: RecordedRequest) => boolean;
  failure: Failure;
  remaining: number;
}

export interface StoredMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export interface StoredRun {
  info: Record<string, any>;
  metrics: StoredMetric[];
  params: Map<string, string>;
  tags: Map<string, string>;
}

const json = (res: http.ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const mlflowError = (res: http.ServerResponse, status: number, code: string, message: string): void =>
  json(res, status, { error_code: code, message });

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
const invalid = (message: string): HttpError => new HttpError(400, 'INVALID_PARAMETER_VALUE', message);

function decodeDouble(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  throw invalid(`Missing value for required parameter '${where}'`);
}
const encodeDouble = (v: number): number | string => (Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v);

export class FakeMlflow {
  readonly requests: RecordedRequest[] = [];
  readonly experiments = new Map<string, { experiment_id: string; name: string; lifecycle_stage: string; artifact_location: string }>();
  readonly runs = new Map<string, StoredRun>();
  readonly artifacts = new Map<string, Buffer>();
  /** Server-side page size cap for get-history (real servers page by max_results). */
  historyPageSize = 25000;
  /** When set, requests need `Authorization: <this>`, else a plain-text 401 as with basic-auth. */
  requireAuthorization: string | undefined;
  private injections: Injection[] = [];
  private server: http.Server;
  private nextExperimentId = 1;
  /** Runs before a create stores its experiment: lets a test simulate a concurrent creator. */
  beforeCreateExperiment: ((name: string) => void) | undefined;

  constructor(
    readonly prefix = '',
    private readonly tls?: { key: string; cert: string },
  ) {
    this.experiments.set('0', { experiment_id: '0', name: 'Default', lifecycle_stage: 'active', artifact_location: 'mlflow-artifacts:/0' });
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks)));
    };
    this.server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.prefix}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  inject(match: (r: RecordedRequest) => boolean, failure: Failure, times = 1): void {
    this.injections.push({ match, failure, remaining: times });
  }

  /** Requests to one endpoint (e.g. 'runs/log-batch'). */
  calls(endpoint: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.endsWith(`/api/2.0/mlflow/${endpoint}`));
  }

  run(runId: string): StoredRun {
    const run = this.runs.get(runId);
    if (!run) throw new Error(`fake MLflow has no run ${runId}`);
    return run;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const rec: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body };
    if (body.length > 0 && String(req.headers['content-type']).startsWith('application/json')) {
      try {
        rec.json = JSON.parse(body.toString('utf8'));
      } catch {
        rec.json = undefined;
      }
    }
    this.requests.push(rec);

    const inj = this.injections.find((i) => i.remaining > 0 && i.match(rec));
    if (inj) inj.remaining--;
    if (inj?.failure === 'lose-response') {
      res.end = (() => {
        req.socket.destroy();
        return res;
      }) as typeof res.end;
    } else if (inj) {
      if (inj.failure === 'hang') return;
      if (inj.failure === 'drop') {
        req.socket.destroy();
        return;
      }
      res.writeHead(inj.failure.status, { 'content-type': 'text/plain', ...inj.failure.headers });
      res.end(inj.failure.body ?? '');
      return;
    }
    if (this.requireAuthorization !== undefined && req.headers.authorization !== this.requireAuthorization) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Basic realm="mlflow"' });
      res.end('You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html on how to authenticate.');
      return;
    }
    if (!rec.path.startsWith(`${this.prefix}/api/2.0/`)) return this.notFound(res);
    const route = rec.path.slice(`${this.prefix}/api/2.0/`.length);
    try {
      if (route.startsWith('mlflow-artifacts/artifacts/')) return this.artifact(rec, route.slice('mlflow-artifacts/artifacts/'.length), res);
      if (rec.method === 'POST' && !String(req.headers['content-type'] ?? '').startsWith('application/json')) {
        return mlflowError(res, 400, 'INVALID_PARAMETER_VALUE', "Bad Request. Content-Type must be one of ['application/json'].");
      }
      const handler = this.routes[`${rec.method} ${route}`];
      if (!handler) return this.notFound(res);
      json(res, 200, handler(rec));
    } catch (e) {
      if (e instanceof HttpError) return mlflowError(res, e.status, e.code, e.message);
      mlflowError(res, 500, 'INTERNAL_ERROR', String(e));
    }
  }

  private notFound(res: http.ServerResponse): void {
    res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>\n');
  }

  private artifact(rec: RecordedRequest, rawPath: string, res: http.ServerResponse): void {
    const p = decodeURIComponent(rawPath);
    if (p.includes('#') || p.split('/').includes('..') || p.includes('\\') || p.startsWith('/')) throw new HttpError(400, 'INVALID_PARAMETER_VALUE', 'Invalid path');
    if (rec.method !== 'PUT') return this.notFound(res);
    this.artifacts.set(p, rec.body);
    json(res, 200, {});
  }

  private experimentByName(name: string) {
    const all = [...this.experiments.values()].filter((e) => e.name === name);
    return all.find((e) => e.lifecycle_stage === 'active') ?? all[0];
  }

  private getRunOr404(runId: unknown): StoredRun {
    const run = typeof runId === 'string' ? this.runs.get(runId) : undefined;
    if (!run) throw new HttpError(404, 'RESOURCE_DOES_NOT_EXIST', `Run with id=${String(runId)} not found`);
    return run;
  }

  private runJson(run: StoredRun) {
    const latest = new Map<string, StoredMetric>();
    for (const m of run.metrics) {
      const cur = latest.get(m.key);
      if (!cur || m.step > cur.step || (m.step === cur.step && m.timestamp >= cur.timestamp)) latest.set(m.key, m);
    }
    return {
      info: run.info,
      data: {
        metrics: [...latest.values()].map((m) => ({ ...m, value: encodeDouble(m.value) })),
        params: [...run.params].map(([key, value]) => ({ key, value })),
        tags: [...run.tags].map(([key, value]) => ({ key, value })),
      },
    };
  }

  private routes: Record<string, (r: RecordedRequest) => unknown> = {
    'GET mlflow/experiments/get-by-name': (r) => {
      const exp = this.experimentByName(r.query.get('experiment_name') ?? '');
      if (!exp) throw new HttpError(404, 'RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${r.query.get('experiment_name')}'`);
      return { experiment: exp };
    },
    'GET mlflow/experiments/get': (r) => {
      const exp = this.experiments.get(r.query.get('experiment_id') ?? '');
      if (!exp) throw new HttpError(404, 'RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${r.query.get('experiment_id')} exists`);
      return { experiment: exp };
    },
    'POST mlflow/experiments/create': (r) => {
      const name = r.json?.name;
      if (typeof name !== 'string' || name === '') throw invalid("Missing value for required parameter 'name'.");
      this.beforeCreateExperiment?.(name);
      if (this.experimentByName(name)) throw new HttpError(400, 'RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
      const id = String(this.nextExperimentId++);
      this.experiments.set(id, { experiment_id: id, name, lifecycle_stage: 'active', artifact_location: `mlflow-artifacts:/${id}` });
      return { experiment_id: id };
    },
    'POST mlflow/runs/create': (r) => {
      const b = r.json ?? {};
      const exp = this.experiments.get(String(b.experiment_id));
      if (!exp) throw new HttpError(404, 'RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${b.experiment_id} exists`);
      const runId = randomUUID().replaceAll('-', '');
      const tags = new Map<string, string>((b.tags ?? []).map((t: { key: string; value: string }) => [t.key, t.value]));
      const tagName = tags.get('mlflow.runName');
      if (b.run_name !== undefined && tagName !== undefined && tagName !== b.run_name) throw invalid('Both run_name and mlflow.runName tag are set and differ');
      const runName = b.run_name ?? tagName ?? 'treasured-asp-910';
      tags.set('mlflow.runName', runName);
      const info = {
        run_id: runId,
        run_uuid: runId,
        run_name: runName,
        experiment_id: exp.experiment_id,
        user_id: b.user_id,
        status: 'RUNNING',
        start_time: b.start_time ?? 0,
        artifact_uri: `${exp.artifact_location}/${runId}/artifacts`,
        lifecycle_stage: 'active',
      };
      const run: StoredRun = { info, metrics: [], params: new Map(), tags };
      this.runs.set(runId, run);
      return { run: this.runJson(run) };
    },
    'POST mlflow/runs/update': (r) => {
      const run = this.getRunOr404(r.json?.run_id);
      if (r.json.status !== undefined) run.info.status = r.json.status;
      if (r.json.end_time !== undefined) run.info.end_time = r.json.end_time;
      return { run_info: run.info };
    },
    'GET mlflow/runs/get': (r) => ({ run: this.runJson(this.getRunOr404(r.query.get('run_id'))) }),
    'POST mlflow/runs/log-batch': (r) => {
      const b = r.json ?? {};
      const run = this.getRunOr404(b.run_id);
      const metrics = b.metrics ?? [];
      const params = b.params ?? [];
      const tags = b.tags ?? [];
      if (metrics.length > 1000) throw invalid(`A batch logging request can contain at most 1000 metrics. Got ${metrics.length} metrics.`);
      if (params.length > 100) throw invalid(`A batch logging request can contain at most 100 params. Got ${params.length} params.`);
      if (tags.length > 100) throw invalid(`A batch logging request can contain at most 100 tags. Got ${tags.length} tags.`);
      if (metrics.length + params.length + tags.length > 1000) throw invalid('A batch logging request can contain at most 1000 metrics, params, and tags in total.');
      const keys = params.map((p: { key: string }) => p.key);
      if (new Set(keys).size !== keys.length) throw invalid('Duplicate parameter keys have been submitted.');
      const parsed: StoredMetric[] = metrics.map((m: Record<string, unknown>, i: number) => {
        if (m.timestamp === undefined) throw invalid(`Missing value for required parameter 'metrics[${i}].timestamp'`);
        return { key: String(m.key), value: decodeDouble(m.value, `metrics[${i}].value`), timestamp: Number(m.timestamp), step: Number(m.step ?? 0) };
      });
      for (const p of params) {
        const old = run.params.get(p.key);
        if (old !== undefined && old !== p.value) throw invalid(`Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${old}' for run ID='${run.info.run_id}'. Attempted logging new value '${p.value}'.`);
      }
      for (const p of params) run.params.set(p.key, p.value);
      for (const t of tags) run.tags.set(t.key, t.value);
      run.metrics.push(...parsed);
      return {};
    },
    'GET mlflow/metrics/get-history': (r) => {
      const run = this.getRunOr404(r.query.get('run_id'));
      const key = r.query.get('metric_key');
      const maxResults = r.query.get('max_results');
      // MLflow 3.1.1+ SQL store without max_results: no metrics, and a token pointing back at the start.
      if (maxResults === null) return { next_page_token: 'offset-0' };
      const all = run.metrics.filter((m) => m.key === key);
      const offset = Number((r.query.get('page_token') ?? 'offset-0').slice('offset-'.length));
      const size = Math.min(Number(maxResults), this.historyPageSize);
      const page = all.slice(offset, offset + size).map((m) => ({ ...m, value: encodeDouble(m.value) }));
      const next = offset + size < all.length ? { next_page_token: `offset-${offset + size}` } : {};
      return { ...(page.length ? { metrics: page } : {}), ...next };
    },
    'POST mlflow/runs/search': (r) => {
      const b = r.json ?? {};
      const m = /^tags\.(?:"([^"]+)"|`([^`]+)`|([\w.]+))\s*=\s*'([^']*)'$/.exec(String(b.filter ?? '').trim());
      const ids: string[] = b.experiment_ids ?? [];
      const runs = [...this.runs.values()].filter((run) => ids.includes(run.info.experiment_id) && (!m || run.tags.get(m[1] ?? m[2] ?? m[3]!) === m[4]));
      return runs.length ? { runs: runs.map((run) => this.runJson(run)) } : {};
    },
  };
}
