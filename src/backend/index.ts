export { initBackend, activeBackend, shutdownBackend, defaultThreads, defaultPoolThreads, silenceCpuBanner } from './activate.ts';
export type { BackendInfo, BackendOptions } from './activate.ts';
export { inPlaceSliceOnWasm } from './wasm-slice.ts';
export { BACKEND_NAMES, AUTO_ORDER, probeAll, probeBackend, wasmFeatures, cudaDeviceVisible, isInstalled } from './probe.ts';
export type { BackendName, BackendProbe } from './probe.ts';
