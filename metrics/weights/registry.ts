/**
 * The pretrained weights files divd's metrics use, where it looks for them, and whether they are there.
 * Nothing is downloaded at run time: `divd weights fetch` (fetch.ts) downloads them on request, or users
 * place the files (downloaded on a machine with internet) in the weights directory under the canonical
 * file names below.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../src/errors.ts';

export type WeightsId = 'lpips-alex' | 'lpips-vgg' | 'lpips-squeeze' | 'alexnet' | 'vgg16' | 'squeezenet1_1' | 'inception-fid';

export interface WeightsFile {
  id: WeightsId;
  /** Canonical file name inside the weights directory. */
  file: string;
  /** What needs it. */
  usedBy: string;
  /** Canonical download location (`divd weights fetch`; never fetched at run time). */
  source: string;
  /** Start of the file's SHA-256 as published (torchvision/pytorch-fid put 8 hex digits in the name). */
  sha256Prefix: string;
  /** Full SHA-256 where known. */
  sha256?: string;
}

const LPIPS_SOURCE = 'https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1';

export const KNOWN_WEIGHTS: readonly WeightsFile[] = [
  {
    id: 'lpips-alex',
    file: 'lpips-v0.1-alex.pth',
    usedBy: 'LPIPS (AlexNet linear layers)',
    source: `${LPIPS_SOURCE}/alex.pth`,
    sha256Prefix: 'df73285e',
    sha256: 'df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0',
  },
  {
    id: 'lpips-vgg',
    file: 'lpips-v0.1-vgg.pth',
    usedBy: 'LPIPS (VGG16 linear layers)',
    source: `${LPIPS_SOURCE}/vgg.pth`,
    sha256Prefix: 'a78928a0',
    sha256: 'a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868',
  },
  {
    id: 'lpips-squeeze',
    file: 'lpips-v0.1-squeeze.pth',
    usedBy: 'LPIPS (SqueezeNet linear layers)',
    source: `${LPIPS_SOURCE}/squeeze.pth`,
    sha256Prefix: '4a5350f2',
    sha256: '4a5350f23600cb79923ce65bb07cbf57dca461329894153e05a1346bd531cf76',
  },
  {
    id: 'alexnet',
    file: 'alexnet-owt-7be5be79.pth',
    usedBy: 'LPIPS (AlexNet backbone, torchvision)',
    source: 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth',
    sha256Prefix: '7be5be79',
  },
  {
    id: 'vgg16',
    file: 'vgg16-397923af.pth',
    usedBy: 'LPIPS (VGG16 backbone, torchvision)',
    source: 'https://download.pytorch.org/models/vgg16-397923af.pth',
    sha256Prefix: '397923af',
  },
  {
    id: 'squeezenet1_1',
    file: 'squeezenet1_1-b8a52dc0.pth',
    usedBy: 'LPIPS (SqueezeNet 1.1 backbone, torchvision)',
    source: 'https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth',
    sha256Prefix: 'b8a52dc0',
  },
  {
    id: 'inception-fid',
    file: 'pt_inception-2015-12-05-6726825d.pth',
    usedBy: 'FID / KID (pytorch-fid Inception v3)',
    source:
      'https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth',
    sha256Prefix: '6726825d',
  },
];

/** What `divd weights fetch` gets when no names are given: the default LPIPS (AlexNet) and FID/KID files. */
export const DEFAULT_FETCH: readonly WeightsId[] = ['lpips-alex', 'alexnet', 'inception-fid'];

/**
 * Registry entries by id or canonical file name (`all`: every known file); UsageError listing the known
 * names for anything else.
 */
export function selectWeights(names: readonly string[]): WeightsFile[] {
  if (names.length === 0) return DEFAULT_FETCH.map(weightsInfo);
  if (names.includes('all')) return [...KNOWN_WEIGHTS];
  const unknown = names.filter((n) => !KNOWN_WEIGHTS.some((w) => w.id === n || w.file === n));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown weights ${unknown.map((n) => JSON.stringify(n)).join(', ')}; expected 'all' or any of: ${KNOWN_WEIGHTS.map((w) => w.id).join(', ')}`,
    );
  }
  return KNOWN_WEIGHTS.filter((w) => names.includes(w.id) || names.includes(w.file));
}

/** $DIVD_WEIGHTS_DIR, else ~/.cache/divd/weights. */
export function weightsDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.DIVD_WEIGHTS_DIR;
  if (fromEnv && fromEnv.trim() !== '') return path.resolve(fromEnv);
  return path.join(os.homedir(), '.cache', 'divd', 'weights');
}

export interface WeightsPresence extends WeightsFile {
  path: string;
  present: boolean;
  bytes: number | null;
}

export function weightsPresence(dir: string = weightsDir()): WeightsPresence[] {
  return KNOWN_WEIGHTS.map((w) => {
    const p = path.join(dir, w.file);
    const stat = fs.statSync(p, { throwIfNoEntry: false });
    const present = stat?.isFile() ?? false;
    return { ...w, path: p, present, bytes: present ? stat!.size : null };
  });
}

export function weightsInfo(id: WeightsId): WeightsFile {
  const w = KNOWN_WEIGHTS.find((k) => k.id === id);
  if (!w) throw new Error(`unknown weights id '${id}'`);
  return w;
}

/** A weights file the metric needs is not in the weights directory; `metric` can then be reported unavailable. */
export class WeightsMissingError extends UsageError {
  constructor(
    readonly weights: WeightsFile,
    readonly path: string,
  ) {
    super(
      `${weights.usedBy} needs ${weights.file}, not found at ${path}. ` +
        `Fetch it with \`divd weights fetch ${weights.id}\`, or download ${weights.source} on a machine with internet and put it there, ` +
        `or point DIVD_WEIGHTS_DIR at the folder that has it (divd doctor lists every weights file).`,
    );
    this.name = 'WeightsMissingError';
  }
}

/** A weights file is present but is not the published file (its SHA-256 differs); refused unless trusted. */
export class WeightsNotPublishedError extends UsageError {
  constructor(
    readonly weights: WeightsFile,
    readonly path: string,
    readonly actual: string,
  ) {
    super(
      `${path} is not the published ${weights.file}: its SHA-256 is ${actual}, expected ${weights.sha256 ?? `${weights.sha256Prefix}… (published prefix)`}. ` +
        `Fetch it again (divd weights fetch ${weights.id} --force), or pass --trust-weights (DIVD_TRUST_WEIGHTS=1) to use it anyway; ` +
        'metrics computed with it are then marked as not comparable with published numbers.',
    );
    this.name = 'WeightsNotPublishedError';
  }
}

/**
 * Whether loaded weights must be the published files. Metrics reported as comparable with papers need the
 * published weights, so the evaluation path verifies; library callers that load their own test weights
 * pass no policy. `warnings` collects what was used anyway under `trust`.
 */
export interface WeightsPolicy {
  trust: boolean;
  warnings: string[];
}

// Hashing a 100 MB file costs ~0.3 s: remember digests per (path, size, mtime) for the process's lifetime.
const digestCache = new Map<string, string>();

function sha256Sync(file: string): string {
  const st = fs.statSync(file);
  const key = `${file}\0${st.size}\0${st.mtimeMs}`;
  const cached = digestCache.get(key);
  if (cached) return cached;
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  const digest = hash.digest('hex');
  digestCache.set(key, digest);
  return digest;
}

/** The path of a weights file, checked to exist and, under a policy, to be the published file. */
export function requireWeights(id: WeightsId, dir: string = weightsDir(), policy?: WeightsPolicy): string {
  const w = weightsInfo(id);
  const p = path.join(dir, w.file);
  if (!fs.statSync(p, { throwIfNoEntry: false })?.isFile()) throw new WeightsMissingError(w, p);
  if (policy) {
    const digest = sha256Sync(p);
    if (!digest.startsWith(w.sha256 ?? w.sha256Prefix)) {
      const refused = new WeightsNotPublishedError(w, p, digest);
      if (!policy.trust) throw refused;
      policy.warnings.push(`${w.file} is not the published file (SHA-256 ${digest.slice(0, 12)}…), used because of --trust-weights: not comparable with published numbers`);
    }
  }
  return p;
}
