/**
 * Replays one spool against its server. Idempotent: acknowledged records are skipped; a run whose
 * create was sent but not acknowledged is found again by its spool tag; metric points the server
 * already holds (a batch sent but not acknowledged) are not sent again; params, tags, run updates and
 * artifact PUTs are idempotent by MLflow's own semantics.
 */
import path from 'node:path';
import type { MlflowClient } from '../rest/client.ts';
import { decodeDouble, type WireMetric } from '../rest/wire.ts';
import { TAG } from '../system-tags.ts';
import type { KeyValue } from '../types.ts';
import { LOCAL_RUN_PREFIX, SPOOL_RUN_TAG, type Spool, type SpoolRecord } from './spool.ts';

export interface ReplayContext {
  clientFor(url: string): MlflowClient;
  /** local-… run id → server run id, shared across spools so children find their parents. */
  runIds: Map<string, string>;
}

export interface ReplayResult {
  replayed: number;
  /** Records left because their parent run is still only local (its spool not replayed yet). */
  blockedOn?: string;
  /** Metric points not sent because the server already had them. */
  duplicatesSkipped: number;
}

// The SQL store clamps ±Infinity to ±DBL_MAX, so treat those as equal when matching points.
const DBL_MAX = 1.7976931348623157e308;
function pointKey(m: { timestamp: number; step: number; value: WireMetric['value'] | number }): string {
  let v = typeof m.value === 'number' ? m.value : decodeDouble(m.value);
  if (v === DBL_MAX) v = Infinity;
  if (v === -DBL_MAX) v = -Infinity;
  return `${m.timestamp}|${m.step}|${String(v)}`;
}

/** Server-side points of one run, as a multiset per metric key. */
class ServerPoints {
  private readonly byKey = new Map<string, Map<string, number>>();
  constructor(
    private readonly client: MlflowClient,
    private readonly runId: string,
    private readonly empty: boolean,
  ) {}

  /** True (and consumes one occurrence) when the server already has this point. */
  async has(m: WireMetric): Promise<boolean> {
    if (this.empty) return false;
    let points = this.byKey.get(m.key);
    if (!points) {
      points = new Map();
      for (const p of await this.client.getMetricHistory(this.runId, m.key)) {
        const k = pointKey(p);
        points.set(k, (points.get(k) ?? 0) + 1);
      }
      this.byKey.set(m.key, points);
    }
    const k = pointKey(m);
    const n = points.get(k) ?? 0;
    if (n === 0) return false;
    points.set(k, n - 1);
    return true;
  }
}

function parentOf(tags: KeyValue[]): string | undefined {
  return tags.find((t) => t.key === TAG.parentRunId)?.value;
}

export async function replaySpool(spool: Spool, ctx: ReplayContext): Promise<ReplayResult> {
  const records = await spool.records();
  const acks = await spool.acks();
  const bySeq = new Map(records.map((r) => [r.seq, r]));
  for (const ack of acks.values()) {
    const rec = bySeq.get(ack.seq);
    if (rec?.op === 'create' && ack.runId) ctx.runIds.set(rec.run, ack.runId);
  }
  const pending = records.filter((r) => !acks.has(r.seq));
  const result: ReplayResult = { replayed: 0, duplicatesSkipped: 0 };

  for (const r of pending) {
    const parent = r.op === 'create' ? parentOf(r.tags) : undefined;
    if (parent?.startsWith(LOCAL_RUN_PREFIX) && !ctx.runIds.has(parent)) return { ...result, blockedOn: parent };
  }

  const mapTags = (tags: KeyValue[]): KeyValue[] =>
    tags.map((t) => (t.key === TAG.parentRunId && ctx.runIds.has(t.value) ? { key: t.key, value: ctx.runIds.get(t.value)! } : t));
  const serverPoints = new Map<string, ServerPoints>();
  const createdNow = new Set<string>();
  const artifactUris = new Map<string, string>();

  const serverRunId = (r: SpoolRecord): string => {
    if (!r.run.startsWith(LOCAL_RUN_PREFIX)) return r.run;
    const id = ctx.runIds.get(r.run);
    if (!id) throw new Error(`${spool.file}: record ${r.seq} refers to run ${r.run}, whose create record is missing`);
    return id;
  };

  for (const r of pending) {
    const client = ctx.clientFor(r.url);
    if (r.op === 'create') {
      const experimentId = r.experimentId ?? (await client.getOrCreateExperiment(r.experimentName ?? 'Default'));
      const found = await client.searchRuns([experimentId], `tags."${SPOOL_RUN_TAG}" = '${r.run}'`);
      let runId = found[0]?.info.run_id;
      if (!runId) {
        const info = await client.createRun({
          experimentId,
          ...(r.runName !== undefined ? { runName: r.runName } : {}),
          startTime: r.startTime,
          userId: r.userId,
          tags: [...mapTags(r.tags), { key: SPOOL_RUN_TAG, value: r.run }],
        });
        runId = info.run_id;
        createdNow.add(runId);
        if (info.artifact_uri) artifactUris.set(runId, info.artifact_uri);
      }
      ctx.runIds.set(r.run, runId);
      await spool.ack({ seq: r.seq, runId });
    } else if (r.op === 'batch') {
      const runId = serverRunId(r);
      let points = serverPoints.get(runId);
      if (!points) serverPoints.set(runId, (points = new ServerPoints(client, runId, createdNow.has(runId))));
      const metrics: WireMetric[] = [];
      for (const m of r.metrics) {
        if (await points.has(m)) result.duplicatesSkipped++;
        else metrics.push(m);
      }
      await client.logBatch(runId, { metrics, params: r.params, tags: mapTags(r.tags) });
      await spool.ack({ seq: r.seq });
    } else if (r.op === 'update') {
      await client.updateRun(serverRunId(r), { status: r.status, ...(r.endTime !== undefined ? { endTime: r.endTime } : {}) });
      await spool.ack({ seq: r.seq });
    } else {
      const runId = serverRunId(r);
      let uri = artifactUris.get(runId);
      if (!uri) {
        uri = (await client.getRun(runId))?.info.artifact_uri;
        if (!uri) throw new Error(`run ${runId} on ${r.url} has no artifact_uri (deleted?)`);
        artifactUris.set(runId, uri);
      }
      for (const f of r.files) await client.uploadArtifact(uri, f.artifactPath, path.join(spool.runDir, f.file));
      await spool.ack({ seq: r.seq });
    }
    result.replayed++;
  }
  return result;
}
