/**
 * The diffusion core: schedules, the forward process and training objective, and interchangeable
 * samplers (DDPM ancestral, DDIM) with a diffusers-style scheduler API.
 */
export { DEFAULT_DIFFUSION_CONFIG, DEFAULT_SAMPLE_CONFIG, SAMPLE_WINDOWS, TIMESTEP_SPACINGS, resolveDiffusionConfig, resolveSampleConfig } from './config.ts';
export type { DiffusionConfig, SampleConfig, SampleWindow, TimestepSpacing, ScheduleKind, PredictionKind, SamplerKind } from './config.ts';
export { makeSchedule, linearBetas, cosineBetas, scheduleFromBetas, alphaBar, posterior } from './schedule.ts';
export type { NoiseSchedule, Posterior } from './schedule.ts';
export { qSample, predictionTarget, splitPrediction, mseLoss, denoisingLoss } from './process.ts';
export type { Denoiser } from './process.ts';
export { diffusionData, restoredFrames, dataRange, RESIDUAL_RANGE } from './residual.ts';
export { runSampler } from './sample-loop.ts';
export type { SampleLoopOptions } from './sample-loop.ts';
export { randn, randn4d } from './noise.ts';
export { Scheduler, DDPMScheduler, DDIMScheduler, createScheduler } from './schedulers.ts';
export type { StepOptions, StepResult, SchedulerOptions } from './schedulers.ts';
