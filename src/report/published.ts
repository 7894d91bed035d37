/**
 * Published numbers, stored as data in reports/published/<dataset>.json, one file per benchmark:
 *   { "dataset": "gopro", "title": "...", "rows": [{ "method", "metrics": {psnr, ssim, lpips, fid, kid},
 *     "source": { "citation", "table", "verification" } }], "missing": "what could not be verified, and why" }
 * Only rows whose numbers were checked against a source are stored; every row names that source.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { METRICS, type MetricKey } from './metric-spec.ts';

export interface PublishedSource {
  /** the paper the numbers are from */
  citation: string;
  /** table (and column) in that paper */
  table: string;
  /** how the numbers were checked */
  verification: string;
}

export interface PublishedRow {
  method: string;
  metrics: Partial<Record<MetricKey, number>>;
  source: PublishedSource;
}

export interface PublishedBenchmark {
  dataset: string;
  title: string;
  rows: PublishedRow[];
  missing?: string;
  file: string;
}

/** reports/published/ of this checkout, wherever the CLI is started from. */
export const DEFAULT_PUBLISHED_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../reports/published');

function fail(file: string, where: string, expected: string): never {
  throw new UsageError(`${file}: ${where}: expected ${expected}`);
}

function str(v: unknown, file: string, where: string): string {
  if (typeof v !== 'string' || v.trim() === '') fail(file, where, 'a non-empty string');
  return v;
}

export function parsePublished(raw: unknown, file: string): PublishedBenchmark {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(file, '(top level)', 'a JSON object');
  const o = raw as Record<string, unknown>;
  const known = new Set(['dataset', 'title', 'rows', 'missing']);
  for (const k of Object.keys(o)) if (!known.has(k)) fail(file, k, `one of the keys ${[...known].join(', ')}`);
  if (!Array.isArray(o.rows)) fail(file, 'rows', 'an array');
  const metricKeys = new Set<string>(METRICS.map((m) => m.key));
  const rows = o.rows.map((r: unknown, i: number): PublishedRow => {
    const at = `rows[${i}]`;
    if (typeof r !== 'object' || r === null) fail(file, at, 'an object');
    const row = r as Record<string, unknown>;
    const metrics: Partial<Record<MetricKey, number>> = {};
    if (typeof row.metrics !== 'object' || row.metrics === null) fail(file, `${at}.metrics`, 'an object');
    for (const [k, v] of Object.entries(row.metrics as Record<string, unknown>)) {
      if (!metricKeys.has(k)) fail(file, `${at}.metrics.${k}`, `a metric key (${[...metricKeys].join(', ')})`);
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(file, `${at}.metrics.${k}`, 'a finite number');
      metrics[k as MetricKey] = v;
    }
    if (Object.keys(metrics).length === 0) fail(file, `${at}.metrics`, 'at least one metric');
    const s = row.source as Record<string, unknown> | undefined;
    if (typeof s !== 'object' || s === null) fail(file, `${at}.source`, 'an object {citation, table, verification}');
    return {
      method: str(row.method, file, `${at}.method`),
      metrics,
      source: {
        citation: str(s.citation, file, `${at}.source.citation`),
        table: str(s.table, file, `${at}.source.table`),
        verification: str(s.verification, file, `${at}.source.verification`),
      },
    };
  });
  return {
    dataset: str(o.dataset, file, 'dataset').toLowerCase(),
    title: str(o.title, file, 'title'),
    rows,
    ...(o.missing !== undefined ? { missing: str(o.missing, file, 'missing') } : {}),
    file,
  };
}

/** Every *.json benchmark file in `dir` (none when the directory does not exist). */
export function loadPublished(dir: string = DEFAULT_PUBLISHED_DIR): PublishedBenchmark[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        throw new UsageError(`${file}: not valid JSON (${(e as Error).message})`);
      }
      return parsePublished(raw, file);
    });
}

/** One line naming where a row's numbers come from. */
export function sourceLine(s: PublishedSource): string {
  return `${s.citation}, ${s.table}`;
}
