export { KNOWN_WEIGHTS, DEFAULT_FETCH, selectWeights, weightsDir, weightsPresence, weightsInfo, requireWeights, WeightsMissingError, WeightsNotPublishedError } from './registry.ts';
export type { WeightsFile, WeightsPresence, WeightsId, WeightsPolicy } from './registry.ts';
export { readPth, parsePth, expectTensor } from './pth.ts';
export type { PthTensor, PthDType } from './pth.ts';
export { verifyWeights } from './verify.ts';
export type { WeightsCheck } from './verify.ts';
export { fetchWeights, downloadUrl, sha256File, WeightsHashMismatchError, WeightsDownloadError } from './fetch.ts';
export type { FetchWeightsOptions, FetchOutcome, FetchProgress, FetchStatus } from './fetch.ts';
