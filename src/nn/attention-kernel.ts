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
import { compileOptimized } from '../wasm/compile.ts';
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

/** dst[e·tp + s] = src[s·rowBytes + e] for s < t, e < d: pack_t(src, rowBytes, dst, t, d, tpBytes). */
function packTransposed(): WasmFunction {
  const f = new Builder('pack_t', [I32, I32, I32, I32, I32, I32]);
  const [src, rowBytes, dst, t, d, tpBytes] = [0, 1, 2, 3, 4, 5];
  const c = f.code;
  const [s, e, ps, pd] = f.many(I32, 4);
  f.forLoop(s, () => c.i32Const(0), t, 1, () => {
    c.get(src).get(s).get(rowBytes).i32Mul().i32Add().set(ps);
    c.get(dst).get(s).i32Const(4).i32Mul().i32Add().set(pd);
    f.forLoop(e, () => c.i32Const(0), d, 1, () => {
      c.get(pd).get(ps).f32Load().f32Store();
      c.get(ps).i32Const(4).i32Add().set(ps);
      f.bump(pd, tpBytes);
    });
  });
  return f.build();
}

/**
 * Emits the row-block loop of one slice: blocks of 4 rows while they fit, then single rows;
 * `block(rows)` is emitted once per height and reads the block's first row from `t0`.
 */
function rowBlockLoop(f: Builder, t0: number, T: number, block: (rows: RowBlock) => void): void {
  const c = f.code;
  c.i32Const(0).set(t0);
  for (const rows of ROW_BLOCKS) {
    c.block().loop();
    c.get(T).get(t0).i32Const(rows).i32Add().i32LtS().brIf(1); // exit when t0 + rows > T
    block(rows);
    c.get(t0).i32Const(rows).i32Add().set(t0).br(0).end().end();
  }
}

/** Slice index i (h-major: i = h·W + w) → locals h, w and the slice's byte offset in a [W, T, h, d] tensor. */
function sliceIndex(f: Builder, i: number, W: number, T: number, H: number, D: number, out: { h: number; w: number; s: number }): void {
  const c = f.code;
  c.get(i).get(W).i32DivS().set(out.h);
  c.get(i).get(out.h).get(W).i32Mul().i32Sub().set(out.w);
  c.get(out.w).get(T).i32Mul().get(H).i32Mul().get(out.h).i32Add().get(D).i32Mul().i32Const(4).i32Mul().set(out.s);
}

type Index = (name: string) => number;

/**
 * fwd_vV(q, k, v, biasPad, maskPad, out, p, W, T, H, D, scale, from, to, kt): slices [from, to) of the
 * forward. biasPad: [H][T][Tp] (padding −1e30), maskPad: [W][Tp]; kt: a [D][Tp] scratch, zero in its padding.
 */
function forwardSlices(vecs: ColumnVectors, index: Index): WasmFunction {
  const f = new Builder(`fwd_v${vecs}`, [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, I32, I32, I32]);
  const [q, k, v, biasPad, maskPad, out, p, W, T, H, D, scale, from, to, kt] = Array.from({ length: 15 }, (_, i) => i);
  const c = f.code;
  const [i, h, w, s, rowBytes, tp, tpBytes, pb, biasH, maskW, t0, rowsPtr] = f.many(I32, 12);
  c.get(H).get(D).i32Mul().i32Const(4).i32Mul().set(rowBytes);
  c.get(T).i32Const(7).i32Add().i32Const(-8).i32And().set(tp);
  c.get(tp).i32Const(4).i32Mul().set(tpBytes);
  f.forLoop(i, () => c.get(from), to, 1, () => {
    sliceIndex(f, i, W, T, H, D, { h, w, s });
    c.get(k).get(s).i32Add().get(rowBytes).get(kt).get(T).get(D).get(tpBytes).call(index('pack_t'));
    c.get(p).get(w).get(H).i32Mul().get(h).i32Add().get(T).i32Mul().get(tpBytes).i32Mul().i32Add().set(pb);
    c.get(biasPad).get(h).get(T).i32Mul().get(tpBytes).i32Mul().i32Add().set(biasH);
    c.get(maskPad).get(w).get(tpBytes).i32Mul().i32Add().set(maskW);
    rowBlockLoop(f, t0, T, (rows) => {
      c.get(pb).get(t0).get(tpBytes).i32Mul().i32Add().set(rowsPtr);
      c.get(q).get(s).i32Add().get(t0).get(rowBytes).i32Mul().i32Add().get(rowBytes).get(kt).get(tpBytes);
      c.get(rowsPtr).get(tpBytes).get(tp).get(D).get(scale);
      c.get(biasH).get(t0).get(tpBytes).i32Mul().i32Add().get(tpBytes).get(maskW).call(index(`logits_${rows}`));
      c.get(rowsPtr).get(tpBytes).i32Const(rows).get(tp).call(index('softmax'));
      c.get(rowsPtr).get(tpBytes).get(v).get(s).i32Add().get(rowBytes);
      c.get(out).get(s).i32Add().get(t0).get(rowBytes).i32Mul().i32Add().get(rowBytes).get(T).get(D).f32Const(1);
      c.call(index(`nn_v${vecs}_${rows}`));
    });
  });
  return f.build();
}

/** Bytes of the per-thread scratch of bwd_vV: vt [D][Tp], dS [4][Tp], dK and dV [T][D], rd [4]. */
export function backwardScratchBytes(t: number, d: number): number {
  const tp = Math.ceil(t / 8) * 8;
  return (d * tp + 4 * tp + 2 * t * d + 4) * 4;
}

/**
 * bwd_vV(q, k, v, out, dy, p, dq, dk, dv, dbPad, W, T, H, D, scale, from, to, scratch): slices [from, to) of
 * the backward; dbPad ([H][T][Tp], this thread's own) accumulates dS over the windows it sees. The vt part
 * of `scratch` (backwardScratchBytes) must be zero in its padding.
 */
function backwardSlices(vecs: ColumnVectors, index: Index): WasmFunction {
  const f = new Builder(`bwd_v${vecs}`, [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, I32, I32, I32]);
  const [q, k, v, out, dy, p, dq, dk, dv, dbPad, W, T, H, D, scale, from, to, scratch] = Array.from({ length: 18 }, (_, i) => i);
  const c = f.code;
  const [i, h, w, s, rowBytes, tp, tpBytes, pb, dbH, t0, vt, dS, dK, dV, rd, accBytes, e, zeroEnd, po, pg, dBytes] = f.many(I32, 21);
  const [acc, sc] = f.many('v128', 2);
  c.get(H).get(D).i32Mul().i32Const(4).i32Mul().set(rowBytes);
  c.get(T).i32Const(7).i32Add().i32Const(-8).i32And().set(tp);
  c.get(tp).i32Const(4).i32Mul().set(tpBytes);
  c.get(D).i32Const(4).i32Mul().set(dBytes);
  c.get(T).get(dBytes).i32Mul().set(accBytes);
  c.get(accBytes).i32Const(2).i32Mul().set(zeroEnd);
  c.get(scratch).set(vt);
  c.get(vt).get(D).get(tpBytes).i32Mul().i32Add().set(dS);
  c.get(dS).get(tpBytes).i32Const(4).i32Mul().i32Add().set(dK);
  c.get(dK).get(accBytes).i32Add().set(dV);
  c.get(dV).get(accBytes).i32Add().set(rd);
  c.get(scale).f32x4Splat().set(sc);
  f.forLoop(i, () => c.get(from), to, 1, () => {
    sliceIndex(f, i, W, T, H, D, { h, w, s });
    c.get(v).get(s).i32Add().get(rowBytes).get(vt).get(T).get(D).get(tpBytes).call(index('pack_t'));
    // dK, dV = 0 (2·T·D floats, a multiple of 4)
    f.forLoop(e, () => c.i32Const(0), zeroEnd, 16, () => {
      c.get(dK).get(e).i32Add().f32Const(0).f32x4Splat().f32x4Store();
    });
    c.get(p).get(w).get(H).i32Mul().get(h).i32Add().get(T).i32Mul().get(tpBytes).i32Mul().i32Add().set(pb);
    c.get(dbPad).get(h).get(T).i32Mul().get(tpBytes).i32Mul().i32Add().set(dbH);
    rowBlockLoop(f, t0, T, (rows) => {
      // rd[r] = Σ_e out[t0+r, e]·dy[t0+r, e]
      for (let rr = 0; rr < rows; rr++) {
        c.get(s).get(t0).i32Const(rr).i32Add().get(rowBytes).i32Mul().i32Add().set(po);
        c.get(dy).get(po).i32Add().set(pg);
        c.get(out).get(po).i32Add().set(po);
        f.zero(acc);
        f.forLoop(e, () => c.i32Const(0), dBytes, 16, () => {
          c.get(acc).get(po).get(e).i32Add().f32x4Load().get(pg).get(e).i32Add().f32x4Load().f32x4Mul().f32x4Add().set(acc);
        });
        c.get(rd);
        c.get(acc).f32x4ExtractLane(0).get(acc).f32x4ExtractLane(1).f32Add();
        c.get(acc).f32x4ExtractLane(2).get(acc).f32x4ExtractLane(3).f32Add().f32Add();
        c.f32Store(4 * rr);
      }
      const dyRows = (): void => {
        c.get(dy).get(s).i32Add().get(t0).get(rowBytes).i32Mul().i32Add();
      };
      const pRows = (): void => {
        c.get(pb).get(t0).get(tpBytes).i32Mul().i32Add();
      };
      dyRows();
      c.get(rowBytes).get(vt).get(tpBytes).get(dS).get(tpBytes).get(tp).get(D);
      pRows();
      c.get(tpBytes).get(rd).get(dbH).get(t0).get(tpBytes).i32Mul().i32Add().get(tpBytes).call(index(`dsoft_${rows}`));
      c.get(dS).get(tpBytes).get(k).get(s).i32Add().get(rowBytes);
      c.get(dq).get(s).i32Add().get(t0).get(rowBytes).i32Mul().i32Add().get(rowBytes).get(T).get(D).get(scale).call(index(`nn_v${vecs}_${rows}`));
      c.get(dS).get(tpBytes).get(q).get(s).i32Add().get(t0).get(rowBytes).i32Mul().i32Add().get(rowBytes);
      c.get(dK).get(dBytes).get(T).get(D).call(index(`rank_v${vecs}_${rows}`));
      pRows();
      c.get(tpBytes);
      dyRows();
      c.get(rowBytes).get(dV).get(dBytes).get(T).get(D).call(index(`rank_v${vecs}_${rows}`));
    });
    // dk[t] = scale·dK[t], dv[t] = dV[t], into the strided slice rows.
    f.forLoop(t0, () => c.i32Const(0), T, 1, () => {
      c.get(s).get(t0).get(rowBytes).i32Mul().i32Add().set(po);
      c.get(t0).get(dBytes).i32Mul().set(pg);
      f.forLoop(e, () => c.i32Const(0), dBytes, 16, () => {
        c.get(dk).get(po).i32Add().get(e).i32Add();
        c.get(dK).get(pg).i32Add().get(e).i32Add().f32x4Load().get(sc).f32x4Mul().f32x4Store();
        c.get(dv).get(po).i32Add().get(e).i32Add();
        c.get(dV).get(pg).i32Add().get(e).i32Add().f32x4Load().f32x4Store();
      });
    });
  });
  return f.build();
}

export type SliceFn = (...args: number[]) => void;

export interface AttentionModule {
  module: WebAssembly.Module;
  /** fwd_vV / bwd_vV by column vectors (2 when d % 8 == 0). */
  forward: Record<ColumnVectors, SliceFn>;
  backward: Record<ColumnVectors, SliceFn>;
}

/** The module's functions, in index order: micro-kernels, then pack_t and the slice drivers that call them. */
export function attentionFunctions(): WasmFunction[] {
  const fns: WasmFunction[] = [softmax()];
  for (const r of ROW_BLOCKS) fns.push(logits(r), dsoft(r));
  for (const v of [1, 2] as const) for (const r of ROW_BLOCKS) fns.push(gemmNN(r, v), rankUpdate(r, v));
  fns.push(packTransposed());
  const index: Index = (name) => {
    const i = fns.findIndex((fn) => fn.name === name);
    if (i < 0) throw new Error(`attention kernels: no function ${name}`);
    return i;
  };
  for (const v of [1, 2] as const) fns.push(forwardSlices(v, index), backwardSlices(v, index));
  return fns;
}

/** Compiles the kernels for `memory` (shared or not, as the memory is) and instantiates them on it. */
export function attentionModule(memory: WebAssembly.Memory): AttentionModule {
  const module = compileOptimized(encodeModule(attentionFunctions(), { sharedMemory: isShared(memory) }));
  const e = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, SliceFn>;
  return { module, forward: { 1: e['fwd_v1']!, 2: e['fwd_v2']! }, backward: { 1: e['bwd_v1']!, 2: e['bwd_v2']! } };
}
