/**
 * Compiles a generated kernel module with V8's optimizing compiler up front.
 *
 * Why: V8 starts wasm functions in its baseline compiler and tiers hot ones up per isolate. A module handed
 * to a worker thread (src/nn/kernel-threads.ts) kept running baseline code there: measured on the conv
 * filter gradient, half of the rows took 10.2 ms on a helper against 6.6 ms on the main thread, so two
 * threads gained 1.3x instead of 1.9x. Compiling with dynamic tiering off gives every isolate the optimized
 * code from the first call. The flag is process-wide, so it is set only around this compile (tfjs's own
 * module keeps V8's default).
 */
import v8 from 'node:v8';

export function compileOptimized(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  v8.setFlagsFromString('--no-wasm-dynamic-tiering');
  try {
    return new WebAssembly.Module(bytes);
  } finally {
    v8.setFlagsFromString('--wasm-dynamic-tiering');
  }
}
