export {
  KNOWN_WEIGHTS,
  weightsDir,
  weightsPresence,
  weightsInfo,
  requireWeights,
  WeightsMissingError,
  WeightsNotPublishedError,
  readPth,
  parsePth,
  expectTensor,
  verifyWeights,
  DEFAULT_FETCH,
  selectWeights,
  fetchWeights,
  WeightsHashMismatchError,
  WeightsDownloadError,
} from './weights/index.ts';
export type { WeightsFile, WeightsPresence, WeightsId, WeightsPolicy, PthTensor, PthDType, WeightsCheck, FetchOutcome, FetchProgress } from './weights/index.ts';
export { loadLpips, lpipsFromStateDicts } from './lpips.ts';
export type { LpipsModel, LpipsNet, LoadLpipsOptions } from './lpips.ts';
export { imagesToBatch } from './nets/images.ts';
export type { RgbImage } from './nets/images.ts';
export { loadFidInception, fidInceptionFromStateDict, FID_FEATURE_DIMS } from './nets/inception.ts';
export type { FidInception, FidInceptionOptions, LoadFidInceptionOptions } from './nets/inception.ts';

// Full-reference frame metrics (pure functions over HWC frames).
export { psnr, meanSquaredError } from './psnr.ts';
export type { PsnrOptions } from './psnr.ts';
export { ssim, gaussianTaps, SSIM_VARIANTS } from './ssim.ts';
export type { SsimOptions, SsimVariant, SsimEngine } from './ssim.ts';
export { defaultDataRange } from './frame-input.ts';
export type { Frame, FrameCompareOptions, PixelArray } from './frame-input.ts';

// Set-level metrics over feature vectors (FID / KID), float64.
export { FeatureStatistics } from './feature-stats.ts';
export type { GaussianStatistics, FeatureStatisticsOptions } from './feature-stats.ts';
export { frechetDistance, traceSqrtProduct, FID_RECOMMENDED_MIN_SAMPLES } from './frechet.ts';
export type { FrechetInput, FrechetResult, FrechetMethod, TraceSqrtEngine } from './frechet.ts';
export { kernelInceptionDistance, kernelInceptionDistanceOfSets, KID_DEFAULTS, LegacyRandomState } from './kid.ts';
export type { KidMethod, KidOptions, KidResult } from './kid.ts';

// Per-frame -> per-sequence -> dataset aggregation and metrics.json.
export { aggregateFrames, buildMetricsReport, metricsJson, sequenceOf, writeMetricsJson } from './aggregate.ts';
export type {
  FrameAggregation,
  FrameScores,
  KidSummary,
  MetricsReport,
  SequenceSummary,
  SetLevelMetrics,
} from './aggregate.ts';
