export {
  KNOWN_WEIGHTS,
  weightsDir,
  weightsPresence,
  weightsInfo,
  requireWeights,
  WeightsMissingError,
  readPth,
  parsePth,
  expectTensor,
} from './weights/index.ts';
export type { WeightsFile, WeightsPresence, WeightsId, PthTensor, PthDType } from './weights/index.ts';
export { loadLpips, lpipsFromStateDicts } from './lpips.ts';
export type { LpipsModel, LpipsNet, LoadLpipsOptions } from './lpips.ts';
export { imagesToBatch } from './nets/images.ts';
export type { RgbImage } from './nets/images.ts';
export { loadFidInception, fidInceptionFromStateDict, FID_FEATURE_DIMS } from './nets/inception.ts';
export type { FidInception, FidInceptionOptions, LoadFidInceptionOptions } from './nets/inception.ts';
