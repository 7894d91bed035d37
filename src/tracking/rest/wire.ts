/**
 * JSON shapes exchanged with the server (mlflow.md §2), and the double encoding it needs:
 * non-finite values travel as the strings "NaN", "Infinity", "-Infinity" (JSON.stringify would send
 * null, which the server rejects).
 */
import type { KeyValue, MetricPoint } from '../types.ts';

export type WireDouble = number | 'NaN' | 'Infinity' | '-Infinity';

export interface WireMetric {
  key: string;
  value: WireDouble;
  timestamp: number;
  step: number;
}

export interface WireBatch {
  metrics: WireMetric[];
  params: KeyValue[];
  tags: KeyValue[];
}

export interface WireExperiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: 'active' | 'deleted';
}

export interface WireRunInfo {
  run_id: string;
  experiment_id: string;
  run_name?: string;
  status?: string;
  start_time?: number | string;
  end_time?: number | string;
  artifact_uri?: string;
  lifecycle_stage?: string;
}

export interface WireRun {
  info: WireRunInfo;
  data?: { metrics?: WireMetric[]; params?: KeyValue[]; tags?: KeyValue[] };
}

export function encodeDouble(v: number): WireDouble {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v;
}

export function decodeDouble(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  throw new Error(`expected a double, got ${JSON.stringify(v)}`);
}

export const toWireMetric = (p: MetricPoint): WireMetric => ({ key: p.key, value: encodeDouble(p.value), timestamp: p.timestamp, step: p.step });

/** int64 fields come back as numbers, but the server also accepts (and older proxies emit) strings. */
export const toInt = (v: unknown): number => (typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : 0);

export const fromWireMetric = (m: WireMetric): MetricPoint => ({
  key: m.key,
  value: decodeDouble(m.value),
  timestamp: toInt(m.timestamp),
  step: toInt(m.step ?? 0),
});
