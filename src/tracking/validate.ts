/**
 * Client-side checks mirroring mlflow/utils/validation.py, so a bad key or an over-long value fails
 * here with a message naming it, instead of a 400 from the server or silent server-side truncation.
 */
import { UsageError } from '../errors.ts';
import type { KeyValue, MetricPoint, ParamValue } from './types.ts';

export const LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  entitiesPerBatch: 1000,
  /** Databricks enforces it; the OSS server never does. Stay below it anyway. */
  batchBodyBytes: 1_000_000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
  experimentNameLength: 500,
} as const;

// Python's `^[/\w.\- :]*$` with a Unicode-aware \w (letters, digits, underscore).
const KEY_PATTERN = /^[/\p{L}\p{N}_.\- :]*$/u;

type Kind = 'metric' | 'param' | 'tag';

export function validateKey(kind: Kind, key: string): void {
  const where = `${kind} key ${JSON.stringify(key)}`;
  if (key.length === 0) throw new UsageError(`${kind} key is empty; MLflow needs a non-empty name`);
  if (key.length > LIMITS.keyLength) {
    throw new UsageError(`${where} is ${key.length} characters; MLflow allows at most ${LIMITS.keyLength}`);
  }
  if (!KEY_PATTERN.test(key)) {
    throw new UsageError(
      `${where} has characters MLflow rejects; use letters, digits, '_', '-', '.', ' ', ':' and '/' only`,
    );
  }
  // MLflow stores keys as relative file paths, so they must already be normalized.
  if (key.startsWith('/') || key.includes('//') || key === '.' || key.split('/').some((part) => part === '..' || part === '.')) {
    throw new UsageError(`${where} must be a normalized relative path (no leading '/', '//', '.' or '..' parts)`);
  }
}

function checkValueLength(kind: 'param' | 'tag', key: string, value: string, max: number): void {
  if (value.length > max) {
    throw new UsageError(
      `${kind} ${JSON.stringify(key)}: value is ${value.length} characters; MLflow stores at most ${max} ` +
        `(it would be truncated silently) — shorten it or log it as an artifact`,
    );
  }
}

/** MLflow params are strings; config values are stringified the way the Python client does (str()). */
export function paramToString(value: ParamValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}

export function toParams(params: Record<string, ParamValue>): KeyValue[] {
  return Object.entries(params).map(([key, raw]) => {
    const value = paramToString(raw);
    validateKey('param', key);
    checkValueLength('param', key, value, LIMITS.paramValueLength);
    return { key, value };
  });
}

export function toTags(tags: Record<string, string>): KeyValue[] {
  return Object.entries(tags).map(([key, value]) => {
    validateKey('tag', key);
    if (typeof value !== 'string') throw new UsageError(`tag ${JSON.stringify(key)}: value must be a string, got ${typeof value}`);
    checkValueLength('tag', key, value, LIMITS.tagValueLength);
    return { key, value };
  });
}

function checkInt64(what: string, v: number): void {
  if (!Number.isSafeInteger(v)) throw new UsageError(`${what} must be an integer, got ${v}`);
}

export function validateMetricPoint(p: MetricPoint): void {
  validateKey('metric', p.key);
  if (typeof p.value !== 'number') {
    throw new UsageError(`metric ${JSON.stringify(p.key)}: value must be a number, got ${typeof p.value}`);
  }
  checkInt64(`metric ${JSON.stringify(p.key)}: step`, p.step);
  checkInt64(`metric ${JSON.stringify(p.key)}: timestamp (Unix ms)`, p.timestamp);
}

export function validateExperimentName(name: string): void {
  if (name.trim().length === 0) throw new UsageError('experiment name is empty');
  if (name.length > LIMITS.experimentNameLength) {
    throw new UsageError(`experiment name is ${name.length} characters; MLflow allows at most ${LIMITS.experimentNameLength}`);
  }
}

/** Artifact directories are relative POSIX paths; MLflow's artifact proxy rejects '..', '#', '\\' and absolute paths. */
export function normalizeArtifactDir(dir: string | undefined): string {
  if (dir === undefined || dir === '' || dir === '.') return '';
  const parts = dir.split('/').filter((p) => p !== '' && p !== '.');
  if (dir.startsWith('/') || dir.includes('\\') || dir.includes('#') || parts.includes('..')) {
    throw new UsageError(`artifact path ${JSON.stringify(dir)} must be relative, without '..', '#' or '\\'`);
  }
  return parts.join('/');
}
