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
