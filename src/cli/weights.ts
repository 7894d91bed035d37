/**
 * `divd weights fetch|verify`: download the weights files LPIPS/FID/KID need (verified against their published
 * SHA-256), and check what is in the weights directory.
 */
import { Command } from 'commander';
import { DEFAULT_FETCH, KNOWN_WEIGHTS, fetchWeights, selectWeights, verifyWeights, weightsDir } from '../../metrics/index.ts';
import type { FetchOutcome, FetchProgress } from '../../metrics/index.ts';

const MB = 1024 * 1024;

/** A one-line progress bar on a terminal; on pipes and logs, one line when each file starts. */
function progressReporter(stream: NodeJS.WriteStream): { update(p: FetchProgress): void; done(): void } {
  let current = '';
  let started = 0;
  return {
    update(p) {
      if (p.file !== current) {
        if (current && stream.isTTY) stream.write('\n');
        current = p.file;
        started = performance.now();
        if (!stream.isTTY) stream.write(`downloading ${p.file} from ${p.url}${p.total ? ` (${(p.total / MB).toFixed(1)} MB)` : ''}\n`);
      }
      if (!stream.isTTY) return;
      const secs = Math.max((performance.now() - started) / 1000, 1e-3);
      const frac = p.total ? Math.min(p.received / p.total, 1) : 0;
      const width = 30;
      const bar = p.total ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${(frac * 100).toFixed(0).padStart(3)}%` : '[size unknown]';
      const size = `${(p.received / MB).toFixed(1)}${p.total ? `/${(p.total / MB).toFixed(1)}` : ''} MB`;
      stream.write(`\r${p.file} ${bar} ${size} ${(p.received / MB / secs).toFixed(1)} MB/s\x1b[K`);
    },
    done() {
      if (current && stream.isTTY) stream.write('\n');
    },
  };
}

function describeOutcome(o: FetchOutcome): string {
  const what = { present: 'already present, hash ok', downloaded: 'downloaded, hash ok', resumed: 'resumed and completed, hash ok', untrusted: 'KEPT WITH A HASH MISMATCH' }[o.status];
  return `  ${o.file.padEnd(40)} ${what} (${(o.bytes / MB).toFixed(1)} MB)`;
}

export function buildWeightsCommand(): Command {
  const weights = new Command('weights').description('pretrained weights files for LPIPS, FID and KID (never downloaded at run time)').exitOverride();
  weights
    .command('fetch')
    .description(
      `download weights files from their canonical URLs (or DIVD_WEIGHTS_BASE_URL/<file name>, a mirror) into the\n` +
        `weights directory, verifying each SHA-256; resumes interrupted downloads. names: ids or file names, 'all';\n` +
        `default ${DEFAULT_FETCH.join(', ')}. Known: ${KNOWN_WEIGHTS.map((w) => w.id).join(', ')}. Exit 2 on a hash mismatch`,
    )
    .argument('[names...]', 'weights to fetch (default: the AlexNet LPIPS and FID Inception files)')
    .option('--weights-dir <dir>', 'weights directory (default: DIVD_WEIGHTS_DIR or ~/.cache/divd/weights)')
    .option('--force', 'download again even when a verified file is present')
    .option('--trust-weights', 'keep a file whose hash differs from the published one (with a warning) instead of failing')
    .option('--json', 'print one JSON object instead of text (no progress output)')
    .exitOverride()
    .action(async (names: string[], opts: { weightsDir?: string; force?: boolean; trustWeights?: boolean; json?: boolean }) => {
      const dir = opts.weightsDir ?? weightsDir();
      const files = selectWeights(names);
      const progress = opts.json ? undefined : progressReporter(process.stderr);
      let outcomes: FetchOutcome[];
      try {
        outcomes = await fetchWeights(files, { dir, force: opts.force, trustWeights: opts.trustWeights, onProgress: progress?.update });
      } finally {
        progress?.done();
      }
      const warnings = outcomes.flatMap((o) => (o.warning ? [o.warning] : []));
      if (opts.json) process.stdout.write(`${JSON.stringify({ dir, files: outcomes, warnings }, null, 2)}\n`);
      else process.stdout.write(`${[`weights directory: ${dir}`, ...outcomes.map(describeOutcome)].join('\n')}\n`);
      for (const w of warnings) process.stderr.write(`divd: warning: ${w}\n`);
    });
  weights
    .command('verify')
    .description('list every weights file divd knows, where it should be, and check present ones against their published SHA-256;\nexit 1 when a present file does not match')
    .option('--weights-dir <dir>', 'weights directory (default: DIVD_WEIGHTS_DIR or ~/.cache/divd/weights)')
    .option('--dir <dir>', 'same as --weights-dir')
    .option('--json', 'print one JSON object instead of text')
    .exitOverride()
    .action(async (opts: { dir?: string; weightsDir?: string; json?: boolean }) => {
      const dir = opts.weightsDir ?? opts.dir ?? weightsDir();
      const checks = await verifyWeights(dir);
      if (opts.json) process.stdout.write(`${JSON.stringify({ dir, files: checks }, null, 2)}\n`);
      else {
        const lines = [`weights directory: ${dir}`];
        for (const c of checks) {
          const what = c.status === 'ok' ? 'ok' : c.status === 'missing' ? 'missing' : `MISMATCH: sha256 ${c.sha256!.slice(0, 16)}…, expected ${c.expected.slice(0, 16)}…`;
          lines.push(`  ${c.file.padEnd(40)} ${what.padEnd(9)} ${c.usedBy}`);
          if (c.status === 'missing') lines.push(`  ${''.padEnd(40)} get it with \`divd weights fetch ${c.id}\` or from ${c.source}`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (checks.some((c) => c.status === 'mismatch')) process.exitCode = 1;
    });
  return weights;
}
