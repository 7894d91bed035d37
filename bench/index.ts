/**
 * Benchmarks, run on demand (never by CI): `npm run bench -- <name> [--json] [--only <op name part>]`.
 * Each prints ratios against a reference measured in the same run, so numbers from different machines compare.
 */
import { runAttentionShapesBench } from './attention-shapes.ts';
import { runOpsBench } from './ops.ts';
import { runMetricsBench } from './metrics.ts';
import { runTrainBenchCli } from './train.ts';
import { UsageError } from '../src/errors.ts';

const BENCHES: Record<string, { about: string; run(args: string[]): void }> = {
  ops: {
    about: 'forward+backward of every src/nn op vs the plain tfjs formulation, 1 thread and all threads',
    run(args) {
      const i = args.indexOf('--only');
      runOpsBench({ json: args.includes('--json'), only: i >= 0 ? args[i + 1] : undefined });
    },
  },
  metrics: {
    about: 'SSIM (1280x720 RGB) and the Fréchet distance (2048-d) vs scikit-image / SciPy via /usr/bin/python3',
    run(args) {
      runMetricsBench({ json: args.includes('--json'), skipFrechet: args.includes('--skip-frechet') });
    },
  },
  attention: {
    about: 'the XNNPACK fallback of the attention core (head sizes not a multiple of 4): its products and transposes against their alternatives, interleaved A/B, 1 thread',
    run: () => void runAttentionShapesBench(),
  },
  train: {
    about: 'training step and DDIM sampling of the reference UNet and the smoke model, divd (wasm) vs the PyTorch port, 1 and 2 threads',
    run(args) {
      runTrainBenchCli(args).catch((e: unknown) => {
        process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = e instanceof UsageError ? 2 : 1;
      });
    },
  },
};

function usage(): string {
  const lines = Object.entries(BENCHES).map(([name, b]) => `  ${name.padEnd(8)} ${b.about}`);
  return `usage: npm run bench -- <name> [--json] [--only <op> | --only divd|torch for train]\n\nbenchmarks:\n${lines.join('\n')}\n`;
}

const [name, ...rest] = process.argv.slice(2);
const bench = name ? BENCHES[name] : undefined;
if (!bench) {
  process.stderr.write(name && name !== '--help' ? `unknown benchmark ${JSON.stringify(name)}\n${usage()}` : usage());
  process.exitCode = name && name !== '--help' ? 2 : 0;
} else {
  bench.run(rest);
}
