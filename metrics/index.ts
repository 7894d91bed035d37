export { KNOWN_WEIGHTS, weightsDir, weightsPresence } from './weights/registry.ts';
export type { WeightsFile, WeightsPresence } from './weights/registry.ts';
