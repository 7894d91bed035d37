/**
 * Rules a JSON Schema cannot state because they relate two fields. They run on every resolved trial,
 * so a sweep value that breaks one is caught before anything is launched.
 */
import type { TrialConfig } from './types.ts';

export interface ConfigProblem {
  /** The config path to blame (and to point at in the file). */
  path: string;
  message: string;
}

export function checkTrialConfig(c: TrialConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { model, data, diffusion, sample } = c;
  const levels = model.channelMults.length;

  if (model.windows.length !== levels) {
    problems.push({
      path: 'model.windows',
      message: `found ${model.windows.length} window sizes for ${levels} UNet levels (model.channelMults has ${levels}), expected one per level`,
    });
  }
  if (data.source !== 'synthetic' && !data.root) {
    problems.push({ path: 'data.source', message: `data.source is ${data.source}, which needs data.root (the dataset folder)` });
  }
  const exposure = data.synthetic.exposure as number[] | undefined;
  if (exposure && exposure[0]! > exposure[1]!) {
    problems.push({ path: 'data.synthetic.exposure', message: `found [${exposure.join(', ')}], expected [lo, hi] with lo <= hi` });
  }
  if (c.eval.contextProbe && !c.eval.testLoss) {
    problems.push({ path: 'eval.contextProbe', message: 'found true with eval.testLoss false, expected eval.testLoss: true (the probe sets the test loss alone beside it)' });
  }
  const downsampling = 2 ** (levels - 1);
  if (data.crop % downsampling !== 0) {
    problems.push({
      path: 'data.crop',
      message: `found ${data.crop}, expected a multiple of ${downsampling} (the UNet halves the size ${levels - 1} time(s))`,
    });
  }
  if (model.attention !== 'none') {
    for (const mult of model.channelMults) {
      const channels = model.baseChannels * mult;
      if (channels % model.headChannels !== 0) {
        problems.push({
          path: 'model.headChannels',
          message: `found ${model.headChannels}, which does not divide ${channels} channels (baseChannels ${model.baseChannels} x ${mult}); expected a divisor of every level's width`,
        });
        break;
      }
    }
  }
  if (diffusion.schedule === 'linear' && diffusion.betaStart >= diffusion.betaEnd) {
    problems.push({ path: 'diffusion.betaEnd', message: `found ${diffusion.betaEnd}, expected more than betaStart (${diffusion.betaStart})` });
  }
  if (sample.sampler === 'ddim' && sample.steps > diffusion.timesteps) {
    problems.push({ path: 'sample.steps', message: `found ${sample.steps}, expected at most diffusion.timesteps (${diffusion.timesteps})` });
  }
  return problems;
}
