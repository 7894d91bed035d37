/**
 * HTTP settings of the MLflow client from MLflow's own environment variables (mlflow.md §6, §7),
 * with the Python client's defaults, so a user's existing MLflow setup works unchanged.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../errors.ts';

export interface RetryPolicy {
  /** Retries after the first attempt (MLFLOW_HTTP_REQUEST_MAX_RETRIES, default 7, at most 10). */
  maxRetries: number;
  /** Seconds; wait before retry n (n ≥ 2) is factor·2^(n−1) (default 2, at most 120). */
  backoffFactor: number;
  /** Up to this many random seconds added to each backoff (default 1). */
  backoffJitter: number;
  /** Each wait is capped at this many seconds (urllib3's DEFAULT_BACKOFF_MAX). */
  backoffMax: number;
  /** Honour Retry-After on 413/429/503 (default true). */
  respectRetryAfter: boolean;
}

export interface TlsSettings {
  insecure: boolean;
  /** PEM CA bundle (MLFLOW_TRACKING_SERVER_CERT_PATH). */
  ca?: string;
  /** PEM holding the client certificate and key (MLFLOW_TRACKING_CLIENT_CERT_PATH). */
  clientCert?: string;
}

export interface HttpSettings {
  retry: RetryPolicy;
  /** Per-request timeout in ms (MLFLOW_HTTP_REQUEST_TIMEOUT seconds, default 120). */
  timeoutMs: number;
  /** The Authorization header value, if any. */
  authorization?: string;
  tls: TlsSettings;
}

const RETRY_LIMIT = 10;
const BACKOFF_FACTOR_LIMIT = 120;

function numberVar(env: NodeJS.ProcessEnv, name: string, fallback: number, check: (n: number) => boolean, expected: string): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || !check(n)) throw new UsageError(`${name}=${JSON.stringify(raw)}: expected ${expected}`);
  return n;
}

function boolVar(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new UsageError(`${name}=${JSON.stringify(env[name])}: expected true or false`);
}

/** `~/.mlflow/credentials`, INI section [mlflow]: MLflow's fallback for username and password. */
function readCredentialsFile(home: string): { username?: string; password?: string } {
  let text: string;
  try {
    text = fs.readFileSync(path.join(home, '.mlflow', 'credentials'), 'utf8');
  } catch {
    return {};
  }
  const out: { username?: string; password?: string } = {};
  let section = '';
  for (const line of text.split(/\r?\n/)) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      section = header[1]!.trim();
      continue;
    }
    const kv = /^\s*([^=:#;]+?)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (section !== 'mlflow' || !kv) continue;
    if (kv[1] === 'mlflow_tracking_username') out.username = kv[2];
    if (kv[1] === 'mlflow_tracking_password') out.password = kv[2];
  }
  return out;
}

/** Basic (username + password) wins over Bearer (token), as in MLflow. */
export function authorizationHeader(env: NodeJS.ProcessEnv, home = os.homedir()): string | undefined {
  const file = readCredentialsFile(home);
  const username = env.MLFLOW_TRACKING_USERNAME || file.username;
  const password = env.MLFLOW_TRACKING_PASSWORD || file.password;
  if (username && password) return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  if (env.MLFLOW_TRACKING_TOKEN) return `Bearer ${env.MLFLOW_TRACKING_TOKEN}`;
  return undefined;
}

function readPem(name: string, file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${name}=${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function httpSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): HttpSettings {
  return {
    retry: {
      maxRetries: numberVar(env, 'MLFLOW_HTTP_REQUEST_MAX_RETRIES', 7, (n) => Number.isInteger(n) && n >= 0 && n <= RETRY_LIMIT, `an integer from 0 to ${RETRY_LIMIT}`),
      backoffFactor: numberVar(env, 'MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR', 2, (n) => n >= 0 && n <= BACKOFF_FACTOR_LIMIT, `a number from 0 to ${BACKOFF_FACTOR_LIMIT}`),
      backoffJitter: numberVar(env, 'MLFLOW_HTTP_REQUEST_BACKOFF_JITTER', 1, (n) => n >= 0, 'a non-negative number of seconds'),
      backoffMax: 120,
      respectRetryAfter: boolVar(env, 'MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER', true),
    },
    timeoutMs: numberVar(env, 'MLFLOW_HTTP_REQUEST_TIMEOUT', 120, (n) => n > 0, 'a positive number of seconds') * 1000,
    authorization: authorizationHeader(env, env.HOME || os.homedir()),
    tls: {
      insecure: boolVar(env, 'MLFLOW_TRACKING_INSECURE_TLS', false),
      ca: readPem('MLFLOW_TRACKING_SERVER_CERT_PATH', env.MLFLOW_TRACKING_SERVER_CERT_PATH),
      clientCert: readPem('MLFLOW_TRACKING_CLIENT_CERT_PATH', env.MLFLOW_TRACKING_CLIENT_CERT_PATH),
    },
  };
}
