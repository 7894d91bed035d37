/**
 * `divd weights fetch`: download canonical weights files into the weights directory, verified.
 *
 * Each file streams into `<dir>/.<file>.part`, hashed (SHA-256) as it arrives; only a file whose digest
 * matches the published one is renamed to its canonical name (rename within one directory is atomic, so
 * the metrics never see a half-written or wrong file under the real name). A digest mismatch deletes the
 * part file and fails with WeightsHashMismatchError, unless `trustWeights` (then it is kept, with a
 * warning). An interrupted download leaves its part file behind; the next fetch resumes it with an HTTP
 * Range request when the server honours ranges (206), and starts over when it does not (200).
 *
 * `baseUrl` (or DIVD_WEIGHTS_BASE_URL) replaces every canonical URL by `<baseUrl>/<canonical file name>`:
 * a mirror on a cluster without internet, or a local server in tests.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { UsageError } from '../../src/errors.ts';
import type { WeightsFile } from './registry.ts';

export interface FetchProgress {
  file: string;
  url: string;
  /** Bytes on disk so far (a resumed download starts above 0). */
  received: number;
  /** Total size when the server said so. */
  total: number | null;
}

export interface FetchWeightsOptions {
  dir: string;
  /** `<baseUrl>/<file>` instead of the canonical URL; default DIVD_WEIGHTS_BASE_URL when set. */
  baseUrl?: string;
  /** Download again even when a file with the right digest is present. */
  force?: boolean;
  /** Keep a file whose digest does not match (with a warning) instead of failing. */
  trustWeights?: boolean;
  /** Called as bytes arrive (at most every `progressEveryBytes`) and once at the start and end of each file. */
  onProgress?: (p: FetchProgress) => void;
  progressEveryBytes?: number;
  env?: NodeJS.ProcessEnv;
}

export type FetchStatus = 'present' | 'downloaded' | 'resumed' | 'untrusted';

export interface FetchOutcome {
  id: WeightsFile['id'];
  file: string;
  path: string;
  url: string;
  status: FetchStatus;
  sha256: string;
  bytes: number;
  /** Set for `untrusted`: why the results computed with this file are not comparable with published ones. */
  warning?: string;
}

/** The downloaded bytes are not the published file; exit code 2 in the CLI. */
export class WeightsHashMismatchError extends UsageError {
  constructor(
    readonly weights: WeightsFile,
    readonly url: string,
    readonly actual: string,
  ) {
    super(
      `${weights.file} from ${url} has SHA-256 ${actual}, expected ${expectedDigest(weights)}${weights.sha256 ? '' : '… (published prefix)'}; ` +
        'the partial file was deleted. Check the URL or mirror (DIVD_WEIGHTS_BASE_URL); pass --trust-weights to keep a file ' +
        'you know to be right (metrics computed with it are then marked as not comparable with published numbers).',
    );
    this.name = 'WeightsHashMismatchError';
  }
}

/** The server could not be reached or answered with an error; exit code 1. */
export class WeightsDownloadError extends Error {
  constructor(weights: WeightsFile, url: string, dir: string, why: string) {
    super(
      `could not download ${weights.file} from ${url}: ${why}. ` +
        `Download it by hand on a machine with internet and put it at ${path.join(dir, weights.file)} ` +
        '(or point DIVD_WEIGHTS_BASE_URL at a mirror holding the canonical file names); `divd weights verify` checks it.',
    );
    this.name = 'WeightsDownloadError';
  }
}

export function expectedDigest(w: WeightsFile): string {
  return w.sha256 ?? w.sha256Prefix;
}

export function digestMatches(w: WeightsFile, sha256: string): boolean {
  return sha256.startsWith(expectedDigest(w));
}

export function downloadUrl(w: WeightsFile, baseUrl?: string): string {
  if (!baseUrl) return w.source;
  return `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(w.file)}`;
}

/** Hashes a file into `hash` (used to resume: the digest covers the bytes already on disk). */
async function hashFileInto(file: string, hash: Hash): Promise<number> {
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return bytes;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFileInto(file, hash);
  return hash.digest('hex');
}

function header(h: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Total size from `Content-Range: bytes a-b/total` or, for a 200, `Content-Length`. */
function totalSize(status: number, headers: Dispatcher.ResponseData['headers'], offset: number): number | null {
  if (status === 206) {
    const m = /\/(\d+)\s*$/.exec(header(headers, 'content-range') ?? '');
    return m ? Number(m[1]) : null;
  }
  const len = header(headers, 'content-length');
  return len !== undefined && /^\d+$/.test(len) ? Number(len) + offset : null;
}

/** Byte offset a 206 answer starts at, from `Content-Range: bytes <start>-<end>/<total>`. */
function rangeStart(headers: Dispatcher.ResponseData['headers']): number | null {
  const m = /^bytes\s+(\d+)-/.exec(header(headers, 'content-range') ?? '');
  return m ? Number(m[1]) : null;
}

/**
 * Streams one file into its part file (resuming when possible) and returns its digest and size.
 * Leaves the part file in place on network errors so the next attempt can resume.
 */
async function download(
  w: WeightsFile,
  url: string,
  part: string,
  dir: string,
  dispatcher: Dispatcher,
  opts: FetchWeightsOptions,
): Promise<{ sha256: string; bytes: number; resumed: boolean }> {
  const have = fs.statSync(part, { throwIfNoEntry: false })?.size ?? 0;
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, { dispatcher, headers: have > 0 ? { range: `bytes=${have}-` } : {} });
  } catch (e) {
    throw new WeightsDownloadError(w, url, dir, (e as Error).message);
  }
  const { statusCode, headers, body } = response;
  let offset = 0;
  if (statusCode === 206 && have > 0 && rangeStart(headers) === have) offset = have;
  else if ((statusCode === 416 || statusCode === 206) && have > 0) {
    // 416: the part file is as long as the file (or longer); 206 from another offset than asked for.
    // Either way, start afresh rather than guess.
    await body.dump();
    await fsp.rm(part, { force: true });
    return download(w, url, part, dir, dispatcher, opts);
  } else if (statusCode !== 200) {
    await body.dump();
    throw new WeightsDownloadError(w, url, dir, `HTTP ${statusCode}`);
  }
  const hash = createHash('sha256');
  if (offset > 0) await hashFileInto(part, hash);
  const total = totalSize(statusCode, headers, offset);
  const every = opts.progressEveryBytes ?? 1 << 20;
  let received = offset;
  let reported = received;
  opts.onProgress?.({ file: w.file, url, received, total });
  const out = await fsp.open(part, offset > 0 ? 'a' : 'w');
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      hash.update(buf);
      await out.write(buf);
      received += buf.length;
      if (received - reported >= every) {
        reported = received;
        opts.onProgress?.({ file: w.file, url, received, total });
      }
    }
    await out.sync();
  } catch (e) {
    throw new WeightsDownloadError(w, url, dir, `connection lost after ${received} bytes (${(e as Error).message}); run the command again to resume`);
  } finally {
    await out.close();
  }
  if (total !== null && received !== total) {
    throw new WeightsDownloadError(w, url, dir, `got ${received} of ${total} bytes; run the command again to resume`);
  }
  opts.onProgress?.({ file: w.file, url, received, total: total ?? received });
  return { sha256: hash.digest('hex'), bytes: received, resumed: offset > 0 };
}

/**
 * Makes each file present and verified in `opts.dir`, one after another. Files already there with the
 * right digest are left alone (unless `force`); a present file with another digest is replaced only once
 * a verified download is complete.
 */
export async function fetchWeights(files: readonly WeightsFile[], opts: FetchWeightsOptions): Promise<FetchOutcome[]> {
  const baseUrl = opts.baseUrl ?? ((opts.env ?? process.env).DIVD_WEIGHTS_BASE_URL?.trim() || undefined);
  await fsp.mkdir(opts.dir, { recursive: true });
  // GitHub release assets answer with a redirect to their storage host.
  const dispatcher = new Agent().compose(interceptors.redirect({ maxRedirections: 5 }));
  const outcomes: FetchOutcome[] = [];
  try {
    for (const w of files) {
      const url = downloadUrl(w, baseUrl);
      const target = path.join(opts.dir, w.file);
      const base = { id: w.id, file: w.file, path: target, url };
      if (!opts.force && fs.statSync(target, { throwIfNoEntry: false })?.isFile()) {
        const sha256 = await sha256File(target);
        if (digestMatches(w, sha256)) {
          outcomes.push({ ...base, status: 'present', sha256, bytes: fs.statSync(target).size });
          continue;
        }
      }
      const part = path.join(opts.dir, `.${w.file}.part`);
      if (opts.force) await fsp.rm(part, { force: true });
      const got = await download(w, url, part, opts.dir, dispatcher, opts);
      let warning: string | undefined;
      if (!digestMatches(w, got.sha256)) {
        if (!opts.trustWeights) {
          await fsp.rm(part, { force: true });
          throw new WeightsHashMismatchError(w, url, got.sha256);
        }
        warning =
          `${w.file} has SHA-256 ${got.sha256}, not the published ${expectedDigest(w)}; kept because of --trust-weights. ` +
          'Metrics computed with it are not comparable with published numbers.';
      }
      await fsp.rename(part, target);
      const status: FetchStatus = warning ? 'untrusted' : got.resumed ? 'resumed' : 'downloaded';
      outcomes.push({ ...base, status, sha256: got.sha256, bytes: got.bytes, ...(warning ? { warning } : {}) });
    }
  } finally {
    await dispatcher.close();
  }
  return outcomes;
}
