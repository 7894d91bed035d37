import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  KNOWN_WEIGHTS,
  WeightsDownloadError,
  WeightsHashMismatchError,
  fetchWeights,
  selectWeights,
  type FetchProgress,
  type WeightsFile,
} from '../metrics/index.ts';
import { UsageError } from '../src/errors.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A local stand-in for download.pytorch.org / GitHub releases: serves `files`, optionally with Range. */
class WeightsServer {
  readonly files = new Map<string, Buffer>();
  readonly requests: { url: string; range: string | undefined }[] = [];
  ranges = true;
  /** Answer a Range request with a 206 that starts at 0 instead of the offset asked for. */
  wrongRangeStart = false;
  /** Close the connection after this many body bytes, once (a dropped download). */
  cutAfter: number | null = null;
  /** Answer `/redirect/<name>` with a 302 to `/<name>`, as GitHub release assets do. */
  private server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url ?? '');
    this.requests.push({ url, range: req.headers.range });
    if (url.startsWith('/redirect/')) {
      res.writeHead(302, { location: url.slice('/redirect'.length) }).end();
      return;
    }
    const body = this.files.get(url.slice(1));
    if (!body) {
      res.writeHead(404).end('not here');
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (this.ranges && m) {
      start = this.wrongRangeStart ? 0 : Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'content-length': body.length - start });
    } else res.writeHead(200, { 'content-length': body.length });
    const rest = body.subarray(start);
    if (this.cutAfter !== null) {
      const n = this.cutAfter;
      this.cutAfter = null;
      res.write(rest.subarray(0, n), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(rest);
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function entry(file: string, content: Buffer, full = true): WeightsFile {
  const digest = sha(content);
  return { ...KNOWN_WEIGHTS[3]!, file, sha256: full ? digest : undefined, sha256Prefix: digest.slice(0, 8) };
}

const tmpDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'divd-fetch-'));

describe('divd weights fetch (library)', () => {
  const server = new WeightsServer();
  let base = '';
  const big = randomBytes(300_000);
  const small = randomBytes(5_000);
  before(async () => {
    base = await server.start();
    server.files.set('big.pth', big);
    server.files.set('small.pth', small);
  });
  after(() => server.stop());

  it('downloads, verifies (full digest and published prefix), reports progress and leaves no part file', async () => {
    const dir = tmpDir();
    const seen: FetchProgress[] = [];
    const out = await fetchWeights([entry('big.pth', big), entry('small.pth', small, false)], {
      dir,
      baseUrl: base,
      onProgress: (p) => seen.push(p),
      progressEveryBytes: 1,
    });
    assert.deepEqual(out.map((o) => [o.file, o.status, o.bytes]), [['big.pth', 'downloaded', big.length], ['small.pth', 'downloaded', small.length]]);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'big.pth')), big);
    assert.equal(out[0]!.sha256, sha(big));
    assert.equal(out[0]!.url, `${base}/big.pth`);
    const bigProgress = seen.filter((p) => p.file === 'big.pth');
    // How the bytes are split into chunks depends on the network stack, so only the shape is checked:
    // a start at 0, sizes that only grow, and the full size (known from Content-Length) at the end.
    assert.deepEqual(bigProgress[0], { file: 'big.pth', url: `${base}/big.pth`, received: 0, total: big.length });
    assert.ok(bigProgress.length >= 3, `progress called ${bigProgress.length} times`);
    assert.ok(bigProgress.every((p, i) => i === 0 || p.received >= bigProgress[i - 1]!.received));
    assert.deepEqual(bigProgress.at(-1), { file: 'big.pth', url: `${base}/big.pth`, received: big.length, total: big.length });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['big.pth', 'small.pth']);
  });

  it('skips a file already present with the right digest (no request), re-downloads with force', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'small.pth'), small);
    const before = server.requests.length;
    const [o] = await fetchWeights([entry('small.pth', small)], { dir, baseUrl: base });
    assert.equal(o!.status, 'present');
    assert.equal(server.requests.length, before);
    const [f] = await fetchWeights([entry('small.pth', small)], { dir, baseUrl: base, force: true });
    assert.equal(f!.status, 'downloaded');
    assert.equal(server.requests.length, before + 1);
  });

  it('a digest mismatch deletes the partial file and fails; a present wrong file is kept until a verified one replaces it', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'small.pth'), 'an older, wrong file');
    const wrong = entry('small.pth', Buffer.from('what the registry expects'));
    await assert.rejects(fetchWeights([wrong], { dir, baseUrl: base }), (e: unknown) => {
      assert.ok(e instanceof WeightsHashMismatchError && e instanceof UsageError);
      assert.match(e.message, new RegExp(`small\\.pth from ${base}/small\\.pth has SHA-256 ${sha(small)}, expected ${wrong.sha256}`));
      assert.match(e.message, /--trust-weights/);
      return true;
    });
    assert.deepEqual(fs.readdirSync(dir), ['small.pth']);
    assert.equal(fs.readFileSync(path.join(dir, 'small.pth'), 'utf8'), 'an older, wrong file');
    const [o] = await fetchWeights([entry('small.pth', small)], { dir, baseUrl: base });
    assert.equal(o!.status, 'downloaded');
    assert.deepEqual(fs.readFileSync(path.join(dir, 'small.pth')), small);
  });

  it('--trust-weights keeps a mismatching file and says its numbers are not comparable', async () => {
    const dir = tmpDir();
    const [o] = await fetchWeights([entry('small.pth', Buffer.from('other'))], { dir, baseUrl: base, trustWeights: true });
    assert.equal(o!.status, 'untrusted');
    assert.match(o!.warning ?? '', /not the published .*not comparable with published numbers/);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'small.pth')), small);
  });

  it('a dropped connection keeps the part file and names the URL; the next fetch resumes it with a Range request', async () => {
    const dir = tmpDir();
    server.cutAfter = 100_000;
    await assert.rejects(fetchWeights([entry('big.pth', big)], { dir, baseUrl: base }), (e: unknown) => {
      assert.ok(e instanceof WeightsDownloadError);
      assert.match(e.message, new RegExp(`could not download big\\.pth from ${base}/big\\.pth`));
      assert.match(e.message, new RegExp(`put it at ${path.join(dir, 'big.pth').replace(/[.\\/]/g, '\\$&')}`));
      return true;
    });
    const partSize = fs.statSync(path.join(dir, '.big.pth.part')).size;
    assert.ok(partSize > 0 && partSize <= 100_000, `part file has ${partSize} bytes`);
    assert.ok(!fs.existsSync(path.join(dir, 'big.pth')));
    const [o] = await fetchWeights([entry('big.pth', big)], { dir, baseUrl: base });
    assert.equal(o!.status, 'resumed');
    assert.equal(server.requests.at(-1)!.range, `bytes=${partSize}-`);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'big.pth')), big);
    assert.deepEqual(fs.readdirSync(dir), ['big.pth']);
  });

  it('a server without Range support (or answering another range) restarts the download from the beginning, still verified', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, '.big.pth.part'), big.subarray(0, 1234));
    server.ranges = false;
    try {
      const [o] = await fetchWeights([entry('big.pth', big)], { dir, baseUrl: base });
      assert.equal(o!.status, 'downloaded');
      assert.deepEqual(fs.readFileSync(path.join(dir, 'big.pth')), big);
    } finally {
      server.ranges = true;
    }
    // A 206 from another offset than asked for is not appended to the part file either.
    const other = tmpDir();
    fs.writeFileSync(path.join(other, '.big.pth.part'), big.subarray(0, 999));
    server.wrongRangeStart = true;
    try {
      const [o] = await fetchWeights([entry('big.pth', big)], { dir: other, baseUrl: base });
      assert.equal(o!.status, 'downloaded');
      assert.deepEqual(fs.readFileSync(path.join(other, 'big.pth')), big);
    } finally {
      server.wrongRangeStart = false;
    }
  });

  it('follows redirects; HTTP errors and unreachable hosts name the URL and where to put the file by hand', async () => {
    const dir = tmpDir();
    const [o] = await fetchWeights([entry('small.pth', small)], { dir, baseUrl: `${base}/redirect` });
    assert.equal(o!.status, 'downloaded');
    await assert.rejects(fetchWeights([entry('absent.pth', small)], { dir, baseUrl: base }), /could not download absent\.pth from http:.*\/absent\.pth: HTTP 404\. Download it by hand .* put it at .*absent\.pth/);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(fetchWeights([entry('small.pth', small)], { dir: tmpDir(), baseUrl: `http://127.0.0.1:${port}` }), (e: unknown) => {
      return e instanceof WeightsDownloadError && e.message.includes(`from http://127.0.0.1:${port}/small.pth`);
    });
  });

  it('selects weights by id or file name, defaults to the LPIPS-alex and FID files, refuses unknown names', () => {
    assert.deepEqual(selectWeights([]).map((w) => w.id), ['lpips-alex', 'alexnet', 'inception-fid']);
    assert.deepEqual(selectWeights(['inception-fid', 'lpips-v0.1-vgg.pth']).map((w) => w.id), ['lpips-vgg', 'inception-fid']);
    assert.equal(selectWeights(['all']).length, KNOWN_WEIGHTS.length);
    assert.throws(() => selectWeights(['alexnet', 'resnet']), /unknown weights "resnet"; expected 'all' or any of: lpips-alex/);
  });
});

describe('divd weights fetch (command line, DIVD_WEIGHTS_BASE_URL mirror)', () => {
  const server = new WeightsServer();
  let base = '';
  const shared = process.env.DIVD_LPIPS_WEIGHTS ?? '/work/shared/weights/lpips-v0.1';
  const run = async (args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const r = await promisify(execFile)(process.execPath, [path.join(root, 'src/cli/divd.mjs'), 'weights', 'fetch', ...args], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };
  before(async () => {
    base = await server.start();
  });
  after(() => server.stop());

  it('downloads the published LPIPS file from a mirror and verifies it against the registry digest', async () => {
    server.files.set('lpips-v0.1-alex.pth', fs.readFileSync(path.join(shared, 'alex.pth')));
    const dir = tmpDir();
    const r = await run(['lpips-alex', '--weights-dir', dir, '--json'], { DIVD_WEIGHTS_BASE_URL: base });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { files: { file: string; status: string; sha256: string }[]; warnings: string[] };
    assert.deepEqual(out.files.map((f) => [f.file, f.status]), [['lpips-v0.1-alex.pth', 'downloaded']]);
    assert.equal(out.files[0]!.sha256, KNOWN_WEIGHTS.find((w) => w.id === 'lpips-alex')!.sha256);
    assert.deepEqual(fs.readdirSync(dir), ['lpips-v0.1-alex.pth']);
  });

  it('exits 2 on a hash mismatch and keeps nothing; with --trust-weights keeps it and warns', async () => {
    server.files.set('alexnet-owt-7be5be79.pth', Buffer.from('not the torchvision AlexNet'));
    const dir = tmpDir();
    const r = await run(['alexnet', '--weights-dir', dir], { DIVD_WEIGHTS_BASE_URL: base });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /alexnet-owt-7be5be79\.pth from http:.* has SHA-256 [0-9a-f]{64}, expected 7be5be79… \(published prefix\)/);
    assert.deepEqual(fs.readdirSync(dir), []);
    const t = await run(['alexnet', '--weights-dir', dir, '--trust-weights'], { DIVD_WEIGHTS_BASE_URL: base });
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /KEPT WITH A HASH MISMATCH/);
    assert.match(t.stderr, /warning: .*not comparable with published numbers/);
    assert.ok(fs.existsSync(path.join(dir, 'alexnet-owt-7be5be79.pth')));
  });

  it('exits 1 when the mirror lacks the file, naming the URL', async () => {
    const m = await run(['inception-fid', '--weights-dir', tmpDir()], { DIVD_WEIGHTS_BASE_URL: base });
    assert.equal(m.code, 1);
    assert.match(m.stderr, /could not download pt_inception-2015-12-05-6726825d\.pth from http:.*: HTTP 404/);
  });
});
