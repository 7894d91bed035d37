/**
 * From a trial's data config to splits on disk: benchmark trees are opened where they are; the synthetic
 * source is generated (or resumed) into a cache folder named by a hash of its options, so every trial
 * with the same options shares one copy and a changed option never reuses stale frames.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { openDataset, type DatasetSource, type DatasetSplits } from './sources/index.ts';
import { synthesize, SYNTH_DEFAULTS, type SynthOptions, type SynthProgress } from './synth/index.ts';

export type DataSourceConfig = DatasetSource | { kind: 'synthetic'; options?: Partial<SynthOptions> };

export interface PreparedDataset {
  splits: DatasetSplits;
  /** For the synthetic source: the folder it was written to and the full options used. */
  synthetic?: { dir: string; options: SynthOptions; written: number };
}

export function syntheticCacheDir(cacheDir: string, options: SynthOptions): string {
  const hash = createHash('sha256').update(JSON.stringify(options)).digest('hex').slice(0, 12);
  return path.join(cacheDir, `synthetic-${hash}`);
}

export async function prepareDataset(
  config: DataSourceConfig,
  opts: { cacheDir: string; onProgress?: (p: SynthProgress) => void },
): Promise<PreparedDataset> {
  if (config.kind !== 'synthetic') return { splits: openDataset(config) };
  const options: SynthOptions = { ...SYNTH_DEFAULTS, ...config.options };
  const dir = syntheticCacheDir(opts.cacheDir, options);
  const result = await synthesize(dir, options, opts.onProgress);
  return { splits: openDataset({ kind: 'folders', root: dir }), synthetic: { dir, options, written: result.written } };
}
