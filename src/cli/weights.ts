/** `divd weights verify`: the weights files LPIPS/FID/KID need, present or not, and whether each is the published one. */
import { Command } from 'commander';
import { verifyWeights, weightsDir } from '../../metrics/index.ts';

export function buildWeightsCommand(): Command {
  const weights = new Command('weights').description('pretrained weights files for LPIPS, FID and KID (never downloaded at run time)').exitOverride();
  weights
    .command('verify')
    .description('list every weights file divd knows, where it should be, and check present ones against their published SHA-256;\nexit 1 when a present file does not match')
    .option('--dir <dir>', 'weights directory (default: DIVD_WEIGHTS_DIR or ~/.cache/divd/weights)')
    .option('--json', 'print one JSON object instead of text')
    .exitOverride()
    .action(async (opts: { dir?: string; json?: boolean }) => {
      const dir = opts.dir ?? weightsDir();
      const checks = await verifyWeights(dir);
      if (opts.json) process.stdout.write(`${JSON.stringify({ dir, files: checks }, null, 2)}\n`);
      else {
        const lines = [`weights directory: ${dir}`];
        for (const c of checks) {
          const what = c.status === 'ok' ? 'ok' : c.status === 'missing' ? 'missing' : `MISMATCH: sha256 ${c.sha256!.slice(0, 16)}…, expected ${c.expected.slice(0, 16)}…`;
          lines.push(`  ${c.file.padEnd(40)} ${what.padEnd(9)} ${c.usedBy}`);
          if (c.status === 'missing') lines.push(`  ${''.padEnd(40)} get it from ${c.source}`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (checks.some((c) => c.status === 'mismatch')) process.exitCode = 1;
    });
  return weights;
}
