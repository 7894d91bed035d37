/**
 * datasets/: benchmark sources (GoPro, DVD, generic folders), the synthetic blur generator, frame windows
 * and crops, and image/video IO. This file is the folder's whole public face.
 */
export * from './io/index.ts';
export * from './sources/index.ts';
export { checkDataset, formatCheckReport } from './check.ts';
export type { CheckOptions, CheckReport } from './check.ts';
export { windowIndices, centredWindow, testWindows, restoreWindows, restoreWindowCount, WindowSampler, PADDING_POLICIES, RESTORE_WINDOW_MODES } from './windows.ts';
export type { PaddingPolicy, TestWindow, RestoreWindow, RestoreWindowMode, SequenceShape, WindowSamplerOptions, WindowSample, SamplerState, Crop } from './windows.ts';
export { sequenceShapes, cropAndFlip, loadWindow, WindowBatches } from './batches.ts';
export type { Batch, WindowData } from './batches.ts';
export { SeededRandom } from './random.ts';
export * from './synth/index.ts';
export { prepareDataset, syntheticCacheDir } from './prepare.ts';
export type { DataSourceConfig, PreparedDataset } from './prepare.ts';
