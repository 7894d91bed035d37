/**
 * C += A B' (or C -= A B') for float64 row-major blocks in WebAssembly linear memory, as a generated f64x2
 * SIMD kernel: two rows of A against four rows of B per pass (eight vector accumulators, six loads per
 * sixteen multiply-adds), B walked in blocks of rows that stay in cache. The Fréchet distance's
 * Cholesky update and its two products (full-rank-product.ts) are all this shape.
 *
 * Shapes are padded by the caller: m and n multiples of 4, k a multiple of 2. All pointers and leading
 * dimensions are in bytes. Variants (one exported function each):
 * - `add` adds to C (callers zero C first for a plain product), `sub` subtracts from C;
 * - `lower`: only the 4-column blocks that reach the lower triangle (j <= i + 1 for the row pair i, i+1)
 *   are computed — a few entries just above the diagonal are written too, callers read the lower triangle;
 * - `fromRow`: the sum for rows i, i+1 starts at t = i, for an A that is zero left of its diagonal
 *   (an upper trapezoidal factor), skipping the zeros.
 */
import { Code, encodeModule } from '../../src/wasm/encoder.ts';
import type { ValType, WasmFunction } from '../../src/wasm/encoder.ts';
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

/** gemm(A, lda, B, ldb, C, ldc, m, n, k): C +=/-= A B', blocked over k and over rows of B. */
function gemm(v: GemmVariant): WasmFunction {
  const [A, lda, B, ldb, C, ldc, m, n, k] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  let next = 9;
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
      // Rows that meet this block: (lower) i + 1 >= jb, i.e. from jb - 2; (fromRow) i * 8 < kbEnd.
      code.get(m).set(iEnd);
      if (v.fromRow) {
        code.get(kbEnd).i32Const(8).i32DivS().i32Const(1).i32Add().i32Const(-2).i32And().set(c0);
        minInto(iEnd, c0);
      }
      const iStart = (): void => {
        if (!v.lower) {
          code.i32Const(0);
          return;
        }
        code.get(jb).i32Const(2).i32Sub().set(c0);
        code.get(c0).i32Const(0).i32LtS().if().i32Const(0).set(c0).end();
        code.get(c0);
      };
      forLoop(i, iStart, iEnd, 2, () => {
        code.get(A).get(i).get(lda).i32Mul().i32Add().set(a0);
        code.get(a0).get(lda).i32Add().set(a1);
        // Columns j: this block, and (lower) only up to ((i + 1) & ~3) + 4.
        code.get(jEnd).set(jLimit);
        if (v.lower) {
          code.get(i).i32Const(1).i32Add().i32Const(-4).i32And().i32Const(4).i32Add().set(c0);
          minInto(jLimit, c0);
        }
        forLoop(j, () => code.get(jb), jLimit, 4, () => {
          code.get(B).get(j).get(ldb).i32Mul().i32Add().set(b0);
          code.get(b0).get(ldb).i32Add().set(b1);
          code.get(b1).get(ldb).i32Add().set(b2);
          code.get(b2).get(ldb).i32Add().set(b3);
          for (let r = 0; r < 8; r++) code.f64Const(0).f64x2Splat().set(acc + r);
          // t from kb, or (fromRow) from max(kb, i * 8).
          code.get(kb).set(t);
          if (v.fromRow) {
            code.get(i).i32Const(8).i32Mul().set(c0);
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
  return { name: gemmName(v), params: Array<ValType>(9).fill('i32'), locals, code };
}

export type GemmFunction = (a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number) => void;

export type SweepPairsFunction = (a: number, ld: number, k1: number, n: number, v: number, q: number, w: number, pNext: number, vk1: number, qk1: number) => number;

export interface GemmKernels {
  memory: WebAssembly.Memory;
  /** Grows the memory to at least `bytes`; returns a fresh Float64Array view of all of it. */
  reserve(bytes: number): Float64Array;
  get(v: GemmVariant): GemmFunction;
  /** The tridiagonal reduction's paired-row sweep (sweep-kernel.ts) on the same memory. */
  sweepPairs: SweepPairsFunction;
}

export const GEMM_VARIANTS: GemmVariant[] = [
  { mode: 'sub', lower: true, fromRow: false },
  { mode: 'add', lower: false, fromRow: true },
  { mode: 'add', lower: true, fromRow: true },
  { mode: 'add', lower: false, fromRow: false },
];

let module: WebAssembly.Module | null | undefined;

/** A fresh memory with the kernels bound to it; null when this runtime lacks WebAssembly SIMD. */
export function createGemmKernels(): GemmKernels | null {
  if (module === undefined) {
    const bytes = encodeModule([...GEMM_VARIANTS.map(gemm), sweepPairsFunction()]);
    module = typeof WebAssembly !== 'undefined' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  if (!module) return null;
  const memory = new WebAssembly.Memory({ initial: 1 });
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, GemmFunction>;
  return {
    memory,
    sweepPairs: exports.sweepPairs as unknown as SweepPairsFunction,
    reserve(bytes) {
      const have = memory.buffer.byteLength;
      if (have < bytes) memory.grow(Math.ceil((bytes - have) / 65536));
      return new Float64Array(memory.buffer);
    },
    get(v) {
      const f = exports[gemmName(v)];
      if (!f) throw new Error(`gemm kernel ${gemmName(v)} was not generated`);
      return f;
    },
  };
}
