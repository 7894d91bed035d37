/**
 * The DIVD model: config, the conditional UNet with WTSA and MRPE, and its checkpoint format.
 */
export { DEFAULT_MODEL_CONFIG, ATTENTION_KINDS, resolveModelConfig, validateModelConfig, groupsFor, headsFor } from './config.ts';
export type { ModelConfig, MrpeConfig, AttentionKind } from './config.ts';
export { createModel, predict, parameterCount, parameterInfo, disposeModel, checkInputSize, timeEmbeddingDim } from './unet.ts';
export type { DivdModel, ForwardOptions } from './unet.ts';
export { unetLayout, IN_CHANNELS, OUT_CHANNELS } from './layout.ts';
export type { Block } from './layout.ts';
export { partitionWindows, mergeWindows, windowGeometry, windowKeyMask } from './windows.ts';
export type { WindowGeometry } from './windows.ts';
export { relativePositionIndex, frameWindowRelativeIndex, relativeTableSize, localityBias } from './relative-index.ts';
export {
  saveCheckpoint,
  readCheckpoint,
  encodeCheckpoint,
  decodeCheckpoint,
  modelCheckpoint,
  checkpointMismatch,
  loadIntoModel,
  modelFromCheckpoint,
} from './checkpoint.ts';
export type { Checkpoint, StoredTensor } from './checkpoint.ts';
export { summarizeModel, formatSummary } from './summary.ts';
export type { ModelSummary, LayerSummary, SummaryInput } from './summary.ts';
