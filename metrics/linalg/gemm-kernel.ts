/**
 * C += A B' (or C -= A B') for float64 row-major blocks in WebAssembly linear memory, as a generated f64x2
 * SIMD kernel: two rows of A against four rows of B per pass (eight vector accumulators, six loads per
 * sixteen multiply-adds), B walked in blocks of rows that stay in cache. The Fréchet distance's
 * Cholesky update and its two products (full-rank-product.ts) are all this shape.
 *
 * Shapes are padded by the caller: m and n multiples of 4, k a multiple of 2. All pointers and leading
 * dimensions are in bytes. The last argument, i0, is the absolute index of A's and C's first row (a multiple
 * of 4): a call on rows i0.. of a larger product (one thread's share, `gemmSplit`) keeps the triangle and the
 * trapezoid where the whole product has them. Variants (one exported function each):
 * - `add` adds to C (callers zero C first for a plain product), `sub` subtracts from C;
 * - `lower`: only the 4-column blocks that reach the lower triangle (j <= i + 1 for the row pair i, i+1)
 *   are computed — a few entries just above the diagonal are written too, callers read the lower triangle;
 * - `fromRow`: the sum for rows i, i+1 starts at t = i, for an A that is zero left of its diagonal
 *   (an upper trapezoidal factor), skipping the zeros.
 */
import { Code, encodeModule } from '../../src/wasm/encoder.ts';
import type { ValType, WasmFunction } from '../../src/wasm/encoder.ts';
import { defaultThreads } from '../../src/backend/index.ts';
import { compileOptimized } from '../../src/wasm/compile.ts';
import { KernelThreads, runSplit } from '../../src/nn/kernel-threads.ts';
import { sweepPairsFunction } from './sweep-kernel.ts';

/** Rows of B per cache block and the depth of a k block: a 64 x 256 panel of B (128 KiB) stays in L2. */
const B_BLOCK = 64;
const K_BLOCK_BYTES = 256 * 8;

export interface GemmVariant {
  /** Add A B' to C or subtract it. */
  mode: 'add' | 'sub';
  lower: boolean;
  fromRow: boolean;
}

export function gemmName(v: GemmVariant): string {
  return `gemm_${v.mode}${v.lower ? '_lower' : ''}${v.fromRow ? '_fromrow' : ''}`;
}

/** gemm(A, lda, B, ldb, C, ldc, m, n, k, i0): C +=/-= A B', blocked over k and over rows of B. */
function gemm(v: GemmVariant): WasmFunction {
  const [A, lda, B, ldb, C, ldc, m, n, k, i0] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  let next = 10;
  const i32 = (): number => next++;
  const [kb, kbEnd, jb, i, j, jEnd, jLimit, t, tEnd, a0, a1, b0, b1, b2, b3, c0, iEnd] = Array.from({ length: 17 }, i32);
  const vFirst = next;
  const [x, y, q0, q1, q2, q3] = [0, 1, 2, 3, 4, 5].map((o) => vFirst + o);
  const acc = vFirst + 6; // 8 accumulators: acc + 4 * row + col
  const locals: ValType[] = [...Array<ValType>(17).fill('i32'), ...Array<ValType>(14).fill('v128')];
  const code = new Code();
  /** for (local = from; local < limit; local += step) { body } with `from` already pushed by `init`. */
  const forLoop = (local: number, init: () => void, limit: number, step: number, body: () => void): void => {
    init();
    code.set(local).block().loop();
    code.get(local).get(limit).i32LtS().i32Eqz().brIf(1);
    body();
    code.get(local).i32Const(step).i32Add().set(local).br(0).end().end();
  };
  /** local = min(local, other) */
  const minInto = (local: number, other: number): void => {
    code.get(other).get(local).i32LtS().if().get(other).set(local).end();
  };
  code.get(k).i32Const(8).i32Mul().set(tEnd); // k in bytes (reused as a temp below)
  forLoop(kb, () => code.i32Const(0), tEnd, K_BLOCK_BYTES, () => {
    code.get(kb).i32Const(K_BLOCK_BYTES).i32Add().set(kbEnd);
    code.get(k).i32Const(8).i32Mul().set(c0);
    minInto(kbEnd, c0);
    forLoop(jb, () => code.i32Const(0), n, B_BLOCK, () => {
      code.get(jb).i32Const(B_BLOCK).i32Add().set(jEnd);
      minInto(jEnd, n);
      // Rows that meet this block (absolute row i + i0): (lower) i + i0 + 1 >= jb, i.e. from jb - 2 - i0;
      // (fromRow) (i + i0) * 8 < kbEnd.
      code.get(m).set(iEnd);
      if (v.fromRow) {
        code.get(kbEnd).i32Const(8).i32DivS().get(i0).i32Sub().i32Const(1).i32Add().i32Const(-2).i32And().set(c0);
        minInto(iEnd, c0);
      }
      const iStart = (): void => {
        if (!v.lower) {
          code.i32Const(0);
          return;
        }
        code.get(jb).i32Const(2).i32Sub().get(i0).i32Sub().set(c0);
        code.get(c0).i32Const(0).i32LtS().if().i32Const(0).set(c0).end();
        code.get(c0);
      };
      forLoop(i, iStart, iEnd, 2, () => {
        code.get(A).get(i).get(lda).i32Mul().i32Add().set(a0);
        code.get(a0).get(lda).i32Add().set(a1);
        // Columns j: this block, and (lower) only up to ((i + i0 + 1) & ~3) + 4.
        code.get(jEnd).set(jLimit);
        if (v.lower) {
          code.get(i).get(i0).i32Add().i32Const(1).i32Add().i32Const(-4).i32And().i32Const(4).i32Add().set(c0);
          minInto(jLimit, c0);
        }
        forLoop(j, () => code.get(jb), jLimit, 4, () => {
          code.get(B).get(j).get(ldb).i32Mul().i32Add().set(b0);
          code.get(b0).get(ldb).i32Add().set(b1);
          code.get(b1).get(ldb).i32Add().set(b2);
          code.get(b2).get(ldb).i32Add().set(b3);
          for (let r = 0; r < 8; r++) code.f64Const(0).f64x2Splat().set(acc + r);
          // t from kb, or (fromRow) from max(kb, (i + i0) * 8).
          code.get(kb).set(t);
          if (v.fromRow) {
            code.get(i).get(i0).i32Add().i32Const(8).i32Mul().set(c0);
            code.get(t).get(c0).i32LtS().if().get(c0).set(t).end();
          }
          code.block().loop();
          code.get(t).get(kbEnd).i32LtS().i32Eqz().brIf(1);
          code.get(a0).get(t).i32Add().v128Load().set(x);
          code.get(a1).get(t).i32Add().v128Load().set(y);
          [b0, b1, b2, b3].forEach((b, col) => code.get(b).get(t).i32Add().v128Load().set(q0 + col));
          [q0, q1, q2, q3].forEach((q, col) => {
            code.get(acc + col).get(x).get(q).f64x2Mul().f64x2Add().set(acc + col);
            code.get(acc + 4 + col).get(y).get(q).f64x2Mul().f64x2Add().set(acc + 4 + col);
          });
          code.get(t).i32Const(16).i32Add().set(t);
          code.br(0).end().end();
          // C[i + row][j + col] +=/-= the two lanes' sum.
          for (let row = 0; row < 2; row++) {
            code.get(C).get(i).i32Const(row).i32Add().get(ldc).i32Mul().i32Add().get(j).i32Const(8).i32Mul().i32Add().set(c0);
            for (let col = 0; col < 4; col++) {
              const a = acc + 4 * row + col;
              code.get(c0).get(c0).f64Load(8 * col);
              code.get(a).f64x2ExtractLane(0).get(a).f64x2ExtractLane(1).f64Add();
              if (v.mode === 'sub') code.f64Sub();
              else code.f64Add();
              code.f64Store(8 * col);
            }
          }
        });
      });
    });
  });
  return { name: gemmName(v), params: Array<ValType>(10).fill('i32'), locals, code };
}

export type GemmFunction = (a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number, i0: number) => void;

export type SweepPairsFunction = (
  a: number, ld: number, k1: number, n: number, v: number, q: number, w: number, pNext: number, vk1: number, qk1: number, from: number,
) => number;

export interface GemmKernels {
  memory: WebAssembly.Memory;
  /** Threads a product is split over: this one and the helpers (1 without shared memory). */
  threads: number;
  /** Grows the memory to at least `bytes`; returns a fresh Float64Array view of all of it. */
  reserve(bytes: number): Float64Array;
  get(v: GemmVariant): GemmFunction;
  /**
   * The product of `get(v)` split in row ranges over every thread, each range sized to take the same work
   * (the triangular and trapezoidal variants do less on some rows). Arguments as the kernel's, i0 = 0.
   */
  gemmSplit(v: GemmVariant, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number): void;
  /** The tridiagonal reduction's paired-row sweep (sweep-kernel.ts) on the same memory. */
  sweepPairs: SweepPairsFunction;
  /** Runs `main` here and the sweep with `helperArgs` on the first helper, concurrently (threads >= 2). */
  sweepPairsAlongside(helperArgs: Parameters<SweepPairsFunction>, main: () => void): void;
  /** Stops the helper threads. */
  close(): void;
}

export const GEMM_VARIANTS: GemmVariant[] = [
  { mode: 'sub', lower: true, fromRow: false },
  { mode: 'add', lower: false, fromRow: true },
  { mode: 'add', lower: true, fromRow: true },
  { mode: 'add', lower: false, fromRow: false },
];

/** Work of row i (multiply-adds), for balancing the row ranges of a split product. */
function rowWork(v: GemmVariant, i: number, n: number, k: number): number {
  const cols = v.lower ? Math.min(n, i + 2) : n;
  return cols * (v.fromRow ? Math.max(0, k - i) : k);
}

/** Row bounds (multiples of 4) cutting [0, m) into `parts` ranges of near-equal work. */
export function balancedRowBounds(v: GemmVariant, m: number, n: number, k: number, parts: number): number[] {
  const blocks = m / 4;
  const prefix = new Float64Array(blocks + 1);
  for (let b = 0; b < blocks; b++) {
    let w = 0;
    for (let i = 4 * b; i < 4 * b + 4; i++) w += rowWork(v, i, n, k);
    prefix[b + 1] = prefix[b]! + w;
  }
  const bounds = [0];
  let b = 0;
  for (let p = 1; p < parts; p++) {
    const target = (prefix[blocks]! * p) / parts;
    while (b < blocks && prefix[b + 1]! <= target) b++;
    // The block boundary nearer the target.
    const cut = b < blocks && target - prefix[b]! > prefix[b + 1]! - target ? b + 1 : b;
    bounds.push(Math.max(bounds[bounds.length - 1]!, 4 * cut));
  }
  bounds.push(m);
  return bounds;
}

/** Below this many multiply-adds a product runs on one thread (a split costs a few tens of microseconds). */
const SPLIT_MIN_WORK = 2e6;

const modules = new Map<boolean, WebAssembly.Module | null>();

function kernelModule(shared: boolean): WebAssembly.Module | null {
  if (!modules.has(shared)) {
    const bytes = encodeModule([...GEMM_VARIANTS.map(gemm), sweepPairsFunction()], { sharedMemory: shared });
    modules.set(shared, typeof WebAssembly !== 'undefined' && WebAssembly.validate(bytes) ? compileOptimized(bytes) : null);
  }
  return modules.get(shared)!;
}

/**
 * A fresh memory with the kernels bound to it; null when this runtime lacks WebAssembly SIMD. `threads`
 * defaults to divd's (DIVD_THREADS, else one per core). With more than one thread the memory is shared and
 * `threads - 1` helper threads run their share of each split product on it (close() stops them).
 */
export function createGemmKernels(threads = defaultThreads()): GemmKernels | null {
  const shared = threads > 1 && typeof SharedArrayBuffer !== 'undefined' && kernelModule(true) !== null;
  const module = kernelModule(shared);
  if (!module) return null;
  // Shared memories need a maximum: 2 GiB, the most the kernels' signed 32-bit offsets address.
  const memory = shared ? new WebAssembly.Memory({ initial: 1, maximum: 32768, shared: true }) : new WebAssembly.Memory({ initial: 1 });
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, GemmFunction>;
  const helpers = shared ? new KernelThreads(module, memory, threads - 1) : null;
  const get = (v: GemmVariant): GemmFunction => {
    const f = exports[gemmName(v)];
    if (!f) throw new Error(`gemm kernel ${gemmName(v)} was not generated`);
    return f;
  };
  const sweepPairs = exports.sweepPairs as unknown as SweepPairsFunction;
  return {
    memory,
    threads: helpers ? helpers.size : 1,
    sweepPairs,
    reserve(bytes) {
      const have = memory.buffer.byteLength;
      if (have < bytes) memory.grow(Math.ceil((bytes - have) / 65536));
      return new Float64Array(memory.buffer);
    },
    get,
    gemmSplit(v, a, lda, b, ldb, c, ldc, m, n, k) {
      const parts = helpers && m >= 8 && m * n * k >= SPLIT_MIN_WORK ? helpers.size : 1;
      const bounds = parts > 1 ? balancedRowBounds(v, m, n, k, parts) : [0, m];
      // Rows [r0, r1): A and C start r0 rows further on; i0 = r0 keeps the shape of the whole product.
      const args = (p: number): number[] => {
        const r0 = bounds[p]!;
        return [a + r0 * lda, lda, b, ldb, c + r0 * ldc, ldc, bounds[p + 1]! - r0, n, k, r0];
      };
      runSplit(helpers, gemmName(v), get(v) as (...x: number[]) => void, parts, args);
    },
    sweepPairsAlongside(helperArgs, main) {
      if (!helpers) throw new Error('sweepPairsAlongside needs helper threads');
      helpers.run('sweepPairs', [helperArgs], main);
    },
    close() {
      helpers?.terminate();
    },
  };
}
