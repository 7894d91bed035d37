export { KNOWN_WEIGHTS, weightsDir, weightsPresence, weightsInfo, requireWeights, WeightsMissingError } from './registry.ts';
export type { WeightsFile, WeightsPresence, WeightsId } from './registry.ts';
export { readPth, parsePth, expectTensor } from './pth.ts';
export type { PthTensor, PthDType } from './pth.ts';
export { verifyWeights } from './verify.ts';
export type { WeightsCheck } from './verify.ts';
