/** Experiment specs: schema, validation, defaults and sweep expansion. The public face of src/spec. */
export type {
  DataConfig, DiffusionConfig, EvalConfig, ModelConfig, Plan, SampleConfig, SyntheticData, TrackingConfig, TrainConfig,
  Trial, TrialConfig,
} from './types.ts';
export { DEFAULTS } from './defaults.ts';
export { TRIAL_SCHEMA, specSchema } from './schema.ts';
export { loadSpec, parseSpec, trialId } from './load.ts';
export { SpecError, formatIssues, type SpecIssue } from './issues.ts';
export { canonicalJson } from './canonical.ts';
export { selectTrials } from './select.ts';
