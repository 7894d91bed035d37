/**
 * The window-attention core as generated WebAssembly f32x4 kernels that run on the tfjs wasm backend's own
 * heap (its memory imported, so tensors are read and written in place, with no copies and no transposes).
 *
 * Why: on wasm the XNNPACK formulation of attention (depthwise-conv batched matmuls, ./attention.ts) spends
 * a third of its time in transposes between the layouts each product needs, and tfjs's batched matMul is a
 * scalar loop. Here each (window, head) slice is read in its [W, T, h, d] layout through row strides, and
 * every product is one register-blocked micro-kernel: R rows (4, or 1 for the last T mod 4) by 8 (or 4)
 * columns of f32x4 accumulators. ./attention-wasm.ts drives them slice by slice.
 *
 * All pointers and leading dimensions are in bytes; counts (n, k) are in floats. Kernels:
 * - logits_R:   C[r][s] = scale·Σ_d A[r][d]·Bt[d][s] + bias[r][s] + mask[s], s < n (n a multiple of 8)
 * - softmax:    each of `rows` rows of C (n floats, n a multiple of 4) replaced by its softmax, in place
 * - dsoft_R:    C[r][s] = P[r][s]·(Σ_d A[r][d]·Bt[d][s] − rd[r]); dbias[r][s] += C[r][s]
 * - nn_vV_R:    C[r][e] = alpha·Σ_s A[r][s]·B[s][e], e < n (n a multiple of 4V)
 * - rank_vV_R:  Y[s][e] += Σ_r A[r][s]·X[r][e], s < k, e < n
 */
import { Code, encodeModule } from '../wasm/encoder.ts';
import type { ValType, WasmFunction } from '../wasm/encoder.ts';
import { isShared } from './wasm-heap.ts';

/** A function under construction: params first, then locals allocated on demand. */
class Builder {
  readonly code = new Code();
  private readonly locals: ValType[] = [];
  constructor(
    readonly name: string,
    readonly params: ValType[],
  ) {}

  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  many(type: ValType, n: number): number[] {
    return Array.from({ length: n }, () => this.local(type));
  }

  /** for (i = <init>; i < end; i += step) body — `end` a local. */
  forLoop(i: number, init: () => void, end: number, step: number, body: () => void): void {
    const c = this.code;
    init();
    c.set(i).block().loop();
    c.get(i).get(end).i32LtS().i32Eqz().brIf(1);
    body();
    c.get(i).i32Const(step).i32Add().set(i).br(0).end().end();
  }

  /** local += step (i32). */
  bump(local: number, step: number): void {
    this.code.get(local).get(step).i32Add().set(local);
  }

  zero(v: number): void {
    this.code.f32Const(0).f32x4Splat().set(v);
  }

  /** acc += x · y (f32x4 locals). */
  mulAdd(acc: number, x: number, y: number): void {
    this.code.get(acc).get(x).get(y).f32x4Mul().f32x4Add().set(acc);
  }

  build(result?: ValType): WasmFunction {
    return { name: this.name, params: this.params, locals: this.locals, code: this.code, ...(result ? { result } : {}) };
  }
}

const I32 = 'i32' as const;
const F32 = 'f32' as const;

/**
 * The shared loop of logits_R and dsoft_R: for each block of 8 columns, acc[r][j] = Σ_d A[r][d]·Bt[d][s..s+8],
 * then `epilogue(r, j, acc, colBytes)` with the column offset in bytes.
 * Params 0..7: a, lda, bt, ldb, c, ldc, n, k.
 */
function gemmNT(f: Builder, rows: number, epilogue: (r: number, j: number, acc: number, cb: number) => void): void {
  const c = f.code;
  const [a, lda, bt, ldb, , , n, k] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [cb, nb, d, pb] = f.many(I32, 4);
  const pa = f.many(I32, rows);
  const [b0, b1, x] = f.many('v128', 3);
  const acc = f.many('v128', 2 * rows);
  c.get(n).i32Const(4).i32Mul().set(nb);
  f.forLoop(cb, () => c.i32Const(0), nb, 32, () => {
    for (const v of acc) f.zero(v);
    for (let r = 0; r < rows; r++) c.get(a).get(lda).i32Const(r).i32Mul().i32Add().set(pa[r]!);
    c.get(bt).get(cb).i32Add().set(pb);
    f.forLoop(d, () => c.i32Const(0), k, 1, () => {
      c.get(pb).f32x4Load(0).set(b0);
      c.get(pb).f32x4Load(16).set(b1);
      for (let r = 0; r < rows; r++) {
        c.get(pa[r]!).f32x4LoadSplat().set(x);
        f.mulAdd(acc[2 * r]!, x, b0);
        f.mulAdd(acc[2 * r + 1]!, x, b1);
        c.get(pa[r]!).i32Const(4).i32Add().set(pa[r]!);
      }
      f.bump(pb, ldb);
    });
    for (let r = 0; r < rows; r++) for (let j = 0; j < 2; j++) epilogue(r, j, acc[2 * r + j]!, cb);
  });
}

/** address = base + r·ld + cb (i32 locals), pushed. */
function rowAddress(c: Code, base: number, ld: number, r: number, cb: number): void {
  c.get(base).get(ld).i32Const(r).i32Mul().i32Add().get(cb).i32Add();
}

function logits(rows: number): WasmFunction {
  // a, lda, bt, ldb, c, ldc, n, k, scale, bias, ldbias, mask
  const f = new Builder(`logits_${rows}`, [I32, I32, I32, I32, I32, I32, I32, I32, F32, I32, I32, I32]);
  const [C, ldc, scale, bias, ldbias, mask] = [4, 5, 8, 9, 10, 11];
  const c = f.code;
  const sc = f.local('v128');
  c.get(scale).f32x4Splat().set(sc);
  gemmNT(f, rows, (r, j, acc, cb) => {
    rowAddress(c, C, ldc, r, cb);
    c.get(acc).get(sc).f32x4Mul();
    rowAddress(c, bias, ldbias, r, cb);
    c.f32x4Load(16 * j).f32x4Add();
    c.get(mask).get(cb).i32Add().f32x4Load(16 * j).f32x4Add();
    c.f32x4Store(16 * j);
  });
  return f.build();
}

function dsoft(rows: number): WasmFunction {
  // a, lda, bt, ldb, c, ldc, n, k, p, ldp, rd, db, lddb
  const f = new Builder(`dsoft_${rows}`, [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [C, ldc, p, ldp, rd, db, lddb] = [4, 5, 8, 9, 10, 11, 12];
  const c = f.code;
  const [ds, rdv] = f.many('v128', 2);
  const addr = f.local(I32);
  gemmNT(f, rows, (r, j, acc, cb) => {
    c.get(rd).f32x4LoadSplat(4 * r).set(rdv);
    rowAddress(c, p, ldp, r, cb);
    c.f32x4Load(16 * j).get(acc).get(rdv).f32x4Sub().f32x4Mul().set(ds);
    rowAddress(c, C, ldc, r, cb);
    c.get(ds).f32x4Store(16 * j);
    rowAddress(c, db, lddb, r, cb);
    c.tee(addr).get(addr).f32x4Load(16 * j).get(ds).f32x4Add().f32x4Store(16 * j);
  });
  return f.build();
}

/** Pushes exp(x) of the f32x4 local x (Cephes expf: 2^n · p(r); 0 below -87, where e^x underflows). */
function expInto(f: Builder, x: number, out: number, t: { keep: number; fx: number; r: number; y: number }): void {
  const c = f.code;
  const splat = (v: number): void => {
    c.f32Const(v).f32x4Splat();
  };
  c.get(x);
  splat(-87);
  c.f32x4Ge().set(t.keep);
  c.get(x);
  splat(-87);
  c.f32x4Max().set(t.r);
  c.get(t.r);
  splat(Math.LOG2E);
  c.f32x4Mul().f32x4Nearest().set(t.fx);
  // r = x − fx·ln2 in two parts (C1 exact in float32, C2 the remainder).
  c.get(t.r).get(t.fx);
  splat(0.693359375);
  c.f32x4Mul().f32x4Sub().get(t.fx);
  splat(-2.12194440e-4);
  c.f32x4Mul().f32x4Sub().set(t.r);
  const poly = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
  splat(poly[0]!);
  c.set(t.y);
  for (const p of poly.slice(1)) {
    c.get(t.y).get(t.r).f32x4Mul();
    splat(p);
    c.f32x4Add().set(t.y);
  }
  // y·r² + r + 1
  c.get(t.y).get(t.r).get(t.r).f32x4Mul().f32x4Mul().get(t.r).f32x4Add();
  splat(1);
  c.f32x4Add();
  // · 2^fx, built in the exponent bits.
  c.get(t.fx).i32x4TruncSatF32x4S().i32Const(127).i32x4Splat().i32x4Add().i32Const(23).i32x4Shl();
  c.f32x4Mul().get(t.keep).v128And().set(out);
}

function softmax(): WasmFunction {
  // c, ldc, rows, n
  const f = new Builder('softmax', [I32, I32, I32, I32]);
  const [C, ldc, rows, n] = [0, 1, 2, 3];
  const c = f.code;
  const [row, p, cb, nb] = f.many(I32, 4);
  const [mx, sum, x, e, keep, fx, r, y] = f.many('v128', 8);
  const s = f.local(F32);
  c.get(n).i32Const(4).i32Mul().set(nb);
  f.forLoop(row, () => c.i32Const(0), rows, 1, () => {
    c.get(C).get(row).get(ldc).i32Mul().i32Add().set(p);
    c.f32Const(-3.4e38).f32x4Splat().set(mx);
    f.forLoop(cb, () => c.i32Const(0), nb, 16, () => {
      c.get(mx).get(p).get(cb).i32Add().f32x4Load().f32x4Max().set(mx);
    });
    c.get(mx).f32x4ExtractLane(0).get(mx).f32x4ExtractLane(1).f32Max();
    c.get(mx).f32x4ExtractLane(2).get(mx).f32x4ExtractLane(3).f32Max().f32Max().f32x4Splat().set(mx);
    f.zero(sum);
    f.forLoop(cb, () => c.i32Const(0), nb, 16, () => {
      c.get(p).get(cb).i32Add().f32x4Load().get(mx).f32x4Sub().set(x);
      expInto(f, x, e, { keep, fx, r, y });
      c.get(p).get(cb).i32Add().get(e).f32x4Store();
      c.get(sum).get(e).f32x4Add().set(sum);
    });
    c.f32Const(1);
    c.get(sum).f32x4ExtractLane(0).get(sum).f32x4ExtractLane(1).f32Add();
    c.get(sum).f32x4ExtractLane(2).get(sum).f32x4ExtractLane(3).f32Add().f32Add();
    c.f32Div().set(s);
    c.get(s).f32x4Splat().set(sum);
    f.forLoop(cb, () => c.i32Const(0), nb, 16, () => {
      c.get(p).get(cb).i32Add().get(p).get(cb).i32Add().f32x4Load().get(sum).f32x4Mul().f32x4Store();
    });
  });
  return f.build();
}

function gemmNN(rows: number, vecs: number): WasmFunction {
  // a, lda, b, ldb, c, ldc, k, n, alpha
  const f = new Builder(`nn_v${vecs}_${rows}`, [I32, I32, I32, I32, I32, I32, I32, I32, F32]);
  const [a, lda, b, ldb, C, ldc, k, n, alpha] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const c = f.code;
  const [cb, nb, s, pb] = f.many(I32, 4);
  const pa = f.many(I32, rows);
  const bv = f.many('v128', vecs);
  const [x, al] = f.many('v128', 2);
  const acc = f.many('v128', rows * vecs);
  c.get(alpha).f32x4Splat().set(al);
  c.get(n).i32Const(4).i32Mul().set(nb);
  f.forLoop(cb, () => c.i32Const(0), nb, 16 * vecs, () => {
    for (const v of acc) f.zero(v);
    for (let r = 0; r < rows; r++) c.get(a).get(lda).i32Const(r).i32Mul().i32Add().set(pa[r]!);
    c.get(b).get(cb).i32Add().set(pb);
    f.forLoop(s, () => c.i32Const(0), k, 1, () => {
      for (let j = 0; j < vecs; j++) c.get(pb).f32x4Load(16 * j).set(bv[j]!);
      for (let r = 0; r < rows; r++) {
        c.get(pa[r]!).f32x4LoadSplat().set(x);
        for (let j = 0; j < vecs; j++) f.mulAdd(acc[r * vecs + j]!, x, bv[j]!);
        c.get(pa[r]!).i32Const(4).i32Add().set(pa[r]!);
      }
      f.bump(pb, ldb);
    });
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < vecs; j++) {
        rowAddress(c, C, ldc, r, cb);
        c.get(acc[r * vecs + j]!).get(al).f32x4Mul().f32x4Store(16 * j);
      }
    }
  });
  return f.build();
}

function rankUpdate(rows: number, vecs: number): WasmFunction {
  // a, lda, x, ldx, y, ldy, k, n
  const f = new Builder(`rank_v${vecs}_${rows}`, [I32, I32, I32, I32, I32, I32, I32, I32]);
  const [a, lda, X, ldx, Y, ldy, k, n] = [0, 1, 2, 3, 4, 5, 6, 7];
  const c = f.code;
  const [cb, nb, s, py] = f.many(I32, 4);
  const pa = f.many(I32, rows);
  const xv = f.many('v128', rows * vecs);
  const yv = f.many('v128', vecs);
  const as = f.local('v128');
  c.get(n).i32Const(4).i32Mul().set(nb);
  f.forLoop(cb, () => c.i32Const(0), nb, 16 * vecs, () => {
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < vecs; j++) {
        rowAddress(c, X, ldx, r, cb);
        c.f32x4Load(16 * j).set(xv[r * vecs + j]!);
      }
      c.get(a).get(lda).i32Const(r).i32Mul().i32Add().set(pa[r]!);
    }
    c.get(Y).get(cb).i32Add().set(py);
    f.forLoop(s, () => c.i32Const(0), k, 1, () => {
      for (let j = 0; j < vecs; j++) c.get(py).f32x4Load(16 * j).set(yv[j]!);
      for (let r = 0; r < rows; r++) {
        c.get(pa[r]!).f32x4LoadSplat().set(as);
        for (let j = 0; j < vecs; j++) f.mulAdd(yv[j]!, as, xv[r * vecs + j]!);
        c.get(pa[r]!).i32Const(4).i32Add().set(pa[r]!);
      }
      for (let j = 0; j < vecs; j++) c.get(py).get(yv[j]!).f32x4Store(16 * j);
      f.bump(py, ldy);
    });
  });
  return f.build();
}

/** Row-block heights the drivers use: 4, and 1 for the remainder. */
export const ROW_BLOCKS = [4, 1] as const;
export type RowBlock = (typeof ROW_BLOCKS)[number];
/** Column vectors per block of the n-direction products: 2 (8 floats) when d % 8 == 0, else 1. */
export type ColumnVectors = 1 | 2;

export type LogitsFn = (a: number, lda: number, bt: number, ldb: number, c: number, ldc: number, n: number, k: number, scale: number, bias: number, ldbias: number, mask: number) => void;
export type DsoftFn = (a: number, lda: number, bt: number, ldb: number, c: number, ldc: number, n: number, k: number, p: number, ldp: number, rd: number, db: number, lddb: number) => void;
export type SoftmaxFn = (c: number, ldc: number, rows: number, n: number) => void;
export type NnFn = (a: number, lda: number, b: number, ldb: number, c: number, ldc: number, k: number, n: number, alpha: number) => void;
export type RankFn = (a: number, lda: number, x: number, ldx: number, y: number, ldy: number, k: number, n: number) => void;

export interface AttentionKernels {
  logits: Record<RowBlock, LogitsFn>;
  dsoft: Record<RowBlock, DsoftFn>;
  softmax: SoftmaxFn;
  nn: Record<ColumnVectors, Record<RowBlock, NnFn>>;
  rank: Record<ColumnVectors, Record<RowBlock, RankFn>>;
}

/** The module's functions, in export order. */
export function attentionFunctions(): WasmFunction[] {
  const fns: WasmFunction[] = [softmax()];
  for (const r of ROW_BLOCKS) fns.push(logits(r), dsoft(r));
  for (const v of [1, 2] as const) for (const r of ROW_BLOCKS) fns.push(gemmNN(r, v), rankUpdate(r, v));
  return fns;
}

/** Instantiates the kernels on `memory` (shared or not, as the memory is). */
export function instantiateAttentionKernels(memory: WebAssembly.Memory): AttentionKernels {
  const bytes = encodeModule(attentionFunctions(), { sharedMemory: isShared(memory) });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  const e = instance.exports as Record<string, (...args: number[]) => void>;
  const byRows = <F>(prefix: string): Record<RowBlock, F> => ({ 4: e[`${prefix}_4`] as F, 1: e[`${prefix}_1`] as F });
  return {
    softmax: e['softmax'] as SoftmaxFn,
    logits: byRows<LogitsFn>('logits'),
    dsoft: byRows<DsoftFn>('dsoft'),
    nn: { 1: byRows<NnFn>('nn_v1'), 2: byRows<NnFn>('nn_v2') } as Record<ColumnVectors, Record<RowBlock, NnFn>>,
    rank: { 1: byRows<RankFn>('rank_v1'), 2: byRows<RankFn>('rank_v2') } as Record<ColumnVectors, Record<RowBlock, RankFn>>,
  };
}
