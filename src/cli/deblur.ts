/**
 * `divd deblur <video | frames dir> --checkpoint <run dir | checkpoint> -o <out>`: a thin layer over
 * src/runner/deblur.ts — flags, backend, progress (a bar on a terminal, plain lines otherwise), the summary.
 */
import { initBackend } from '../backend/index.ts';
import { createProgress, deblur } from '../runner/index.ts';
import { sampleOverrides, type SamplingOverrideFlags } from './stages.ts';

export interface DeblurFlags extends SamplingOverrideFlags {
  checkpoint: string;
  out: string;
  fps?: number;
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
  backend?: string;
  threads?: number;
}

export async function deblurCommand(input: string, flags: DeblurFlags): Promise<number> {
  const sample = sampleOverrides(flags);
  const quiet = flags.quiet || flags.json;
  const info = await initBackend({ requested: flags.backend, threads: flags.threads });
  if (!quiet) process.stderr.write(`backend ${info.name}${info.name === 'wasm' ? ` (${info.threads} threads)` : ''}\n`);
  const progress = createProgress('deblur', { quiet });
  const r = await deblur({ input, checkpoint: flags.checkpoint, out: flags.out, sample, force: flags.force, fps: flags.fps, progress });
  progress.done();
  process.stdout.write(
    flags.json
      ? `${JSON.stringify(r)}\n`
      : `${r.frames} frames (${r.width}x${r.height}) restored with the EMA weights of step ${r.checkpoint.step} → ${r.output}${r.kind === 'video' ? ` (${r.fps} fps)` : ''}\n`,
  );
  return 0;
}
