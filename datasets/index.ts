/**
 * datasets/: benchmark sources (GoPro, DVD, generic folders), the synthetic blur generator, frame windows
 * and crops, and image/video IO. This file is the folder's whole public face.
 */
export * from './io/index.ts';
export * from './sources/index.ts';
export { checkDataset, formatCheckReport } from './check.ts';
export type { CheckOptions, CheckReport } from './check.ts';
