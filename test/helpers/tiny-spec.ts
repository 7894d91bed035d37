/**
 * The data, model and diffusion of a trial small enough to train, sample and score in seconds, as YAML lines
 * to put under a spec's `base:` (runner, stage and Slurm tests share it so they exercise the same trial shape).
 */
export const TINY_BASE = `  data:
    source: synthetic
    crop: 16
    synthetic: { trainSequences: 2, testSequences: 1, frames: 5, height: 20, width: 24, seed: 3 }
  model: { frames: 4, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, windows: [2, 1], attention: wtsa, headChannels: 8, groups: 4 }
  diffusion: { timesteps: 100 }`;
