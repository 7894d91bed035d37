/**
 * Splits one log-batch into requests the way MLflow's Python client does
 * (`_tracking_service/client.py::log_batch`): params and tags in chunks of 100, zipped pairwise, each
 * request topped up with as many metrics as fit in 1000 entities; leftover metrics in chunks of 1000.
 * On top of that, any request whose JSON body would reach 1 MB is halved until it fits.
 */
import { LIMITS } from '../validate.ts';
import type { WireBatch } from './wire.ts';

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function bodyBytes(runId: string, batch: WireBatch): number {
  return Buffer.byteLength(JSON.stringify({ run_id: runId, ...batch }));
}

function entityCount(b: WireBatch): number {
  return b.metrics.length + b.params.length + b.tags.length;
}

/** Halves a request (each list split in two, order kept) until every body is under the limit. */
function fitBodySize(runId: string, batch: WireBatch, maxBytes: number): WireBatch[] {
  if (bodyBytes(runId, batch) < maxBytes || entityCount(batch) <= 1) return [batch];
  const half = <T>(xs: T[]): [T[], T[]] => [xs.slice(0, Math.ceil(xs.length / 2)), xs.slice(Math.ceil(xs.length / 2))];
  const [m1, m2] = half(batch.metrics);
  const [p1, p2] = half(batch.params);
  const [t1, t2] = half(batch.tags);
  return [
    ...fitBodySize(runId, { metrics: m1, params: p1, tags: t1 }, maxBytes),
    ...fitBodySize(runId, { metrics: m2, params: p2, tags: t2 }, maxBytes),
  ];
}

export function splitLogBatch(runId: string, batch: WireBatch, maxBytes: number = LIMITS.batchBodyBytes): WireBatch[] {
  const paramChunks = chunk(batch.params, LIMITS.paramsPerBatch);
  const tagChunks = chunk(batch.tags, LIMITS.tagsPerBatch);
  let metrics = batch.metrics;
  const requests: WireBatch[] = [];
  for (let i = 0; i < Math.max(paramChunks.length, tagChunks.length); i++) {
    const params = paramChunks[i] ?? [];
    const tags = tagChunks[i] ?? [];
    const room = Math.max(0, Math.min(LIMITS.entitiesPerBatch - params.length - tags.length, LIMITS.metricsPerBatch));
    requests.push({ metrics: metrics.slice(0, room), params, tags });
    metrics = metrics.slice(room);
  }
  for (const rest of chunk(metrics, LIMITS.metricsPerBatch)) requests.push({ metrics: rest, params: [], tags: [] });
  return requests.flatMap((r) => fitBodySize(runId, r, maxBytes));
}
