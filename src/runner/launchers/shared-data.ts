/**
 * What every out-of-process launcher needs before it starts trials: the `divd` entry point they run, and
 * synthetic datasets generated once here, so parallel trials never race to generate the same one.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareDataset } from '../../../datasets/index.ts';
import type { Trial } from '../../spec/types.ts';
import { dataSourceOf, defaultDataCacheDir } from '../trial.ts';

/** The `divd` script (run with `node`): what `divd trial` processes are started from. */
export const DIVD_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cli/divd.mjs');

export async function prepareSyntheticData(trials: readonly Trial[], dataCacheDir = defaultDataCacheDir()): Promise<void> {
  const seen = new Set<string>();
  for (const trial of trials) {
    const source = dataSourceOf(trial.config.data);
    const key = JSON.stringify(source);
    if (source.kind !== 'synthetic' || seen.has(key)) continue;
    seen.add(key);
    await prepareDataset(source, { cacheDir: dataCacheDir });
  }
}
