/** From a trial config to what the stages need: the datasets source and the training loop's settings. */
import os from 'node:os';
import path from 'node:path';
import type { DataSourceConfig } from '../../datasets/index.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig as LoopConfig } from '../train/index.ts';
import { UsageError } from '../errors.ts';
import type { TrialConfig } from '../spec/types.ts';

/** The datasets source of a data config; a relative `root` is resolved from the working directory. */
export function dataSourceOf(c: TrialConfig['data'], cwd = process.cwd()): DataSourceConfig {
  switch (c.source) {
    case 'synthetic': {
      const s = c.synthetic;
      // Both absent in the config.json of run directories made before them.
      const exposure = s.exposure ?? [1, 1];
      const motion = s.motion ?? 1;
      return {
        kind: 'synthetic',
        options: {
          sequences: s.trainSequences + s.testSequences,
          testSequences: s.testSequences,
          frames: s.frames,
          width: s.width,
          height: s.height,
          seed: s.seed,
          // Fully open and motion 1 are the generator's defaults: leave them out so the dataset keeps its cache folder and bytes.
          ...(exposure[0]! < 1 ? { exposure: [exposure[0]!, exposure[1]!] as [number, number] } : {}),
          ...(motion !== 1 ? { motion } : {}),
        },
      };
    }
    case 'gopro':
    case 'dvd':
    case 'folders': {
      if (!c.root) throw new UsageError(`data.root is required for data.source ${c.source}`);
      if (c.splits.train !== 'train' || c.splits.test !== 'test') {
        throw new UsageError(`data.splits: only the split folders train and test are read so far, got ${JSON.stringify(c.splits)}`);
      }
      const root = path.resolve(cwd, c.root);
      if (c.source === 'gopro') return { kind: 'gopro', root, variant: c.goproVariant };
      if (c.source === 'dvd') return { kind: 'dvd', root };
      return { kind: 'folders', root, blurDir: c.folders.blurDir, sharpDir: c.folders.sharpDir };
    }
  }
}

/** The trainer's settings from a trial config (crop lives in data; the rest keep the loop's defaults). */
export function loopConfig(c: TrialConfig): LoopConfig {
  const t = c.train;
  return {
    ...DEFAULT_TRAIN_CONFIG,
    steps: t.steps,
    batch: t.batch,
    accumulate: t.accumulate,
    crop: c.data.crop,
    lr: t.lr,
    betas: t.betas,
    warmupSteps: t.warmupSteps,
    schedule: t.schedule,
    gradClip: t.gradClip,
    ema: t.ema,
    checkpointEvery: t.checkpointEvery,
    keepLast: t.keepLast,
    validateEvery: t.validateEvery,
    logEvery: Math.max(1, Math.min(100, Math.round(t.steps / 50))),
    seed: t.seed,
  };
}

export function defaultDataCacheDir(): string {
  return process.env.DIVD_DATA_CACHE ?? path.join(os.homedir(), '.cache', 'divd', 'data');
}
