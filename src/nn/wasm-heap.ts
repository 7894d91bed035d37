/**
 * Access to the tfjs wasm backend's heap for divd's generated kernels (./attention-kernel.ts,
 * ./conv-filter-kernel.ts): the backend's WebAssembly.Memory (imported by the kernels' modules, shared when
 * the backend is the threaded build), tensor addresses, outputs made by the backend's own allocator (so tf
 * owns and frees them like any other tensor), and a reusable scratch block.
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's BackendWasm (and its emscripten module) used here. */
export interface WasmBackendLike {
  wasm: { wasmMemory?: WebAssembly.Memory; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

export interface BackendHeap {
  backend: WasmBackendLike;
  memory: WebAssembly.Memory;
  /** A 16-byte aligned scratch block of at least `bytes`, valid until the next call. */
  scratch(bytes: number): number;
  /** Byte address of a tensor's data. */
  address(t: tf.TensorInfo): number;
  /** A float32 tensor made on the heap; its contents are undefined until written. */
  output(shape: number[]): tf.TensorInfo;
}

let cached: { backend: WasmBackendLike; heap: BackendHeap | null } | null = null;

function scratchAllocator(backend: WasmBackendLike): (bytes: number) => number {
  let ptr = 0;
  let size = 0;
  return (bytes) => {
    if (bytes > size) {
      if (ptr) backend.wasm._free(ptr);
      size = Math.max(bytes, size * 2);
      // malloc aligns to 8; a block 16 bytes larger holds a 16-aligned one.
      ptr = backend.wasm._malloc(size + 16) >>> 0;
    }
    return (ptr + 15) & ~15;
  };
}

function makeHeap(backend: WasmBackendLike): BackendHeap | null {
  const memory = backend.wasm?.wasmMemory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  return {
    backend,
    memory,
    scratch: scratchAllocator(backend),
    address: (t) => backend.dataIdMap.get(t.dataId).memoryOffset,
    output: (shape) => backend.makeOutput(shape, 'float32'),
  };
}

/** The active wasm backend's heap, or null when the backend is not wasm or its memory is not reachable. */
export function backendHeap(): BackendHeap | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as WasmBackendLike;
  // A wasm backend made anew (shutdownBackend, then initBackend) has a new module and a new memory.
  if (cached?.backend !== backend) cached = { backend, heap: makeHeap(backend) };
  return cached.heap;
}

/**
 * Instantiates a kernel module on the backend's memory once per backend (`make` gets the memory); null,
 * once and for all, when that fails, so callers keep their tfjs formulation.
 */
export function onBackendHeap<K>(make: (memory: WebAssembly.Memory) => K): () => { heap: BackendHeap; kernels: K } | null {
  let made: { heap: BackendHeap; kernels: K } | 'failed' | null = null;
  return () => {
    if (made === 'failed') return null;
    const h = backendHeap();
    if (!h) return null;
    // Kernels instantiated on an earlier backend's memory would write into a heap tf no longer reads
    // (their helper threads stay parked on Atomics.wait, unref'd; only a backend restart leaves them).
    if (made && made.heap === h) return made;
    try {
      made = { heap: h, kernels: make(h.memory) };
      return made;
    } catch {
      made = 'failed';
      return null;
    }
  };
}

/** Whether `memory` is a shared (threaded) memory, which the importing module must declare. */
export function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}
