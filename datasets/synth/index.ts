export { synthesize, buildSequenceScene, renderFramePair, planSequences, validateSynthOptions, frameFileName, SYNTH_DEFAULTS } from './generate.ts';
export type { SynthOptions, SynthManifest, SynthProgress, SynthResult, SynthSequence } from './generate.ts';
export { averageInLinearLight, LINEAR_FROM_CODE, GAMMA } from './gamma.ts';
export { renderSubframe, subframeTimes, sharpSubframeTime } from './scene.ts';
export type { Scene, SceneOptions } from './scene.ts';
