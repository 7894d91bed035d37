/**
 * The differentiable op layer: every op the DIVD UNet needs, forward and backward, in the formulation
 * that trains fastest on wasm (and tf's own on backends with native gradients). Shapes are NHWC.
 */
export { conv2d, depthToSpace2 } from './conv.ts';
export type { ConvPadding } from './conv.ts';
export { dense, addBias, linear } from './dense.ts';
export { silu } from './activation.ts';
export { upsampleNearest2x } from './upsample.ts';
export { upsampleConv3x3 } from './upsample-conv.ts';
export { groupNorm, groupNormSilu, groupNormReference } from './groupnorm.ts';
export { reshape, addSame, addBroadcast, concatChannels } from './elementwise.ts';
export { windowAttention, windowAttentionReference, depthwiseBatchMatMul, rowsPerEntry } from './attention.ts';
export { setFusedAttention, fusedAttentionAvailable } from './attention-wasm.ts';
export type { AttentionOptions } from './attention.ts';
export { gatherRelativeBias, gatherRelativeBiasReference } from './relative-bias.ts';
export { ParamStore, ParamScope, initValues, fans } from './params.ts';
export type { Init, ParamInfo } from './params.ts';
export { Rng } from './random.ts';
export type { RngState } from './random.ts';
export { withGrad, withEarlyRelease, shareIdentityOnWasm, matMulTN, sumRows, nativeGradients } from './custom.ts';
