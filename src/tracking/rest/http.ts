/**
 * One HTTP exchange with an MLflow server, with the Python client's retry policy (mlflow.md §6):
 * 408/429/500/502/503/504 and connection errors are retried for every method (POST included), with no
 * wait before the first retry, then factor·2^(n−1) s plus jitter, capped at 120 s, or the server's
 * Retry-After on 429/503. Everything else comes back at once as an MlflowApiError.
 */
import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { MlflowApiError, MlflowUnavailableError } from './errors.ts';
import type { HttpSettings, RetryPolicy } from './settings.ts';

export const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/** urllib3's RETRY_AFTER_STATUS_CODES. */
const RETRY_AFTER_STATUS = new Set([413, 429, 503]);

export const USER_AGENT = `divd/${process.env.npm_package_version ?? '0.1.0'} (mlflow-rest; node ${process.version})`;

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  /** JSON body (POST). */
  json?: unknown;
  /** Raw body (artifact PUT); a factory because a stream can be sent only once and we may retry. */
  body?: () => Readable;
  contentLength?: number;
  contentType?: string;
}

export interface HttpHooks {
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

const defaultHooks: HttpHooks = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** Seconds to wait before retry `n` (1-based), urllib3's Retry.get_backoff_time. */
export function backoffSeconds(n: number, policy: RetryPolicy, random: () => number): number {
  if (n <= 1) return 0;
  let wait = policy.backoffFactor * 2 ** (n - 1);
  if (policy.backoffJitter > 0) wait += random() * policy.backoffJitter;
  return Math.max(0, Math.min(policy.backoffMax, wait));
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unparseable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

/**
 * MLflow errors are JSON {error_code, message} (plus keys we ignore), but auth failures are plain text
 * and unknown routes Flask HTML pages: take whatever is there and keep it short.
 */
export function parseErrorBody(text: string): { errorCode?: string; message: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const body = JSON.parse(trimmed) as { error_code?: unknown; message?: unknown };
      const errorCode = typeof body.error_code === 'string' ? body.error_code : undefined;
      const message = typeof body.message === 'string' ? body.message : trimmed;
      return { ...(errorCode ? { errorCode } : {}), message };
    } catch {
      // fall through: not JSON after all
    }
  }
  if (/^<(!doctype|html)/i.test(trimmed)) {
    const title = /<title>([\s\S]*?)<\/title>/i.exec(trimmed)?.[1];
    const para = /<p>([\s\S]*?)<\/p>/i.exec(trimmed)?.[1];
    const text = [title, para].filter(Boolean).join(': ').replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim();
    return { message: text || 'HTML error page' };
  }
  const oneLine = trimmed.replace(/\s+/g, ' ');
  return { message: oneLine.length > 500 ? `${oneLine.slice(0, 500)}…` : oneLine || '(empty body)' };
}

export class HttpClient {
  private readonly dispatcher: Agent;

  constructor(
    private readonly settings: HttpSettings,
    private readonly hooks: HttpHooks = defaultHooks,
  ) {
    const { tls } = settings;
    this.dispatcher = new Agent({
      connect: {
        rejectUnauthorized: !tls.insecure,
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.clientCert ? { cert: tls.clientCert, key: tls.clientCert } : {}),
      },
    });
  }

  /** Sends the request with retries; returns the parsed JSON body ({} for an empty one). */
  async send(req: HttpRequest): Promise<unknown> {
    const { retry, timeoutMs } = this.settings;
    let lastFailure = '';
    let retryAfter: number | undefined;
    for (let attempt = 0; attempt <= retry.maxRetries; attempt++) {
      if (attempt > 0) await this.hooks.sleep(this.waitBeforeRetry(attempt, retryAfter));
      retryAfter = undefined;
      let status: number;
      let text: string;
      let headers: Record<string, string | string[] | undefined>;
      try {
        const res = await request(req.url, {
          method: req.method,
          headers: this.headers(req),
          body: req.json !== undefined ? JSON.stringify(req.json) : req.body?.(),
          dispatcher: this.dispatcher,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        status = res.statusCode;
        headers = res.headers;
        text = await res.body.text();
      } catch (e) {
        lastFailure = `${(e as NodeJS.ErrnoException).code ?? (e as Error).name}: ${(e as Error).message}`;
        continue;
      }
      if (RETRYABLE_STATUS.has(status)) {
        lastFailure = `HTTP ${status}: ${parseErrorBody(text).message}`;
        if (retry.respectRetryAfter && RETRY_AFTER_STATUS.has(status)) {
          const h = headers['retry-after'];
          retryAfter = parseRetryAfter(Array.isArray(h) ? h[0] : h);
        }
        continue;
      }
      if (status >= 400) {
        const { errorCode, message } = parseErrorBody(text);
        throw new MlflowApiError(req.method, req.url, status, errorCode, message);
      }
      return parseSuccessBody(req, text);
    }
    throw new MlflowUnavailableError(req.method, req.url, retry.maxRetries + 1, lastFailure);
  }

  private waitBeforeRetry(retryNumber: number, retryAfterSeconds: number | undefined): number {
    const seconds = retryAfterSeconds ?? backoffSeconds(retryNumber, this.settings.retry, this.hooks.random);
    return seconds * 1000;
  }

  private headers(req: HttpRequest): Record<string, string> {
    const h: Record<string, string> = { 'user-agent': USER_AGENT, accept: 'application/json' };
    if (this.settings.authorization) h.authorization = this.settings.authorization;
    if (req.json !== undefined) h['content-type'] = 'application/json';
    if (req.body) {
      h['content-type'] = req.contentType ?? 'application/octet-stream';
      if (req.contentLength !== undefined) h['content-length'] = String(req.contentLength);
    }
    return h;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function parseSuccessBody(req: HttpRequest, text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new MlflowApiError(req.method, req.url, 200, undefined, `expected a JSON body, got: ${parseErrorBody(text).message}`);
  }
}
