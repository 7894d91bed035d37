/**
 * The filter gradient of a convolution, dW[a,b,ci,co] = Σ_{n,y,x} xpad[n, y·s+a, x·s+b, ci] · dy[n,y,x,co],
 * as a generated WebAssembly f32x4 kernel on the tfjs wasm backend's heap (./wasm-heap.ts).
 *
 * Why: wasm has no Conv2DBackpropFilter; the batch↔channel "convtrick" (./conv.ts) runs it as an XNNPACK
 * conv at 12–17 GFLOP/s after transposing x and dy. Here one call walks one output row (n, y) for every
 * tap and every (4 input channels × 8 output channels) tile of dW: eight f32x4 accumulators, each pixel
 * four broadcast loads of x and two vector loads of dy. A row's inputs (kh rows of x, one row of dy) stay
 * in L1 across all tiles; dW itself (a few tens of KB) stays in L2.
 *
 * dw_R_V(x, ldx, dy, dw, wo, ci, co, pxStep, kh, kw, ciFrom, ciTo) adds one row's terms; x points at xpad[n, y·s, 0, 0], ldx is
 * the byte stride of a padded row, pxStep = s·ci·4; input channels [ciFrom, ciTo) in blocks of R (4, or 1
 * for the remainder); output channels in blocks of 4·V floats (co a multiple of 4·V).
 */
import { Code, encodeModule } from '../wasm/encoder.ts';
import type { ValType, WasmFunction } from '../wasm/encoder.ts';
import { isShared } from './wasm-heap.ts';

const I32 = 'i32' as const;

function forLoop(c: Code, i: number, init: () => void, end: number, step: number, body: () => void): void {
  init();
  c.set(i).block().loop();
  c.get(i).get(end).i32LtS().i32Eqz().brIf(1);
  body();
  c.get(i).i32Const(step).i32Add().set(i).br(0).end().end();
}

function filterGradRow(rows: 4 | 1, vecs: 2 | 1): WasmFunction {
  const params: ValType[] = Array<ValType>(12).fill(I32);
  const [x, ldx, dy, dw, wo, ci, co, pxStep, kh, kw, ciFrom, ciTo] = params.map((_, i) => i);
  const locals: ValType[] = [];
  const local = (t: ValType): number => {
    locals.push(t);
    return params.length + locals.length - 1;
  };
  const [a, b, c, cb, p, xt, dwt, px, pd, coBytes, ciBytes] = Array.from({ length: 11 }, () => local(I32));
  const acc = Array.from({ length: rows * vecs }, () => local('v128'));
  const dv = Array.from({ length: vecs }, () => local('v128'));
  const xs = local('v128');
  const code = new Code();
  code.get(co).i32Const(4).i32Mul().set(coBytes);
  code.get(ci).i32Const(4).i32Mul().set(ciBytes);
  /** Pushes the address of dW row (tap, ci = c + r) at column block cb. */
  const dwRow = (r: number): void => {
    code.get(dwt).get(c).i32Const(r).i32Add().get(coBytes).i32Mul().i32Add().get(cb).i32Add();
  };
  forLoop(code, a, () => code.i32Const(0), kh, 1, () => {
    forLoop(code, b, () => code.i32Const(0), kw, 1, () => {
      code.get(x).get(a).get(ldx).i32Mul().i32Add().get(b).get(ciBytes).i32Mul().i32Add().set(xt);
      code.get(dw).get(a).get(kw).i32Mul().get(b).i32Add().get(ci).i32Mul().get(coBytes).i32Mul().i32Add().set(dwt);
      forLoop(code, c, () => code.get(ciFrom), ciTo, rows, () => {
        forLoop(code, cb, () => code.i32Const(0), coBytes, 16 * vecs, () => {
          for (let r = 0; r < rows; r++) {
            for (let j = 0; j < vecs; j++) {
              dwRow(r);
              code.f32x4Load(16 * j).set(acc[r * vecs + j]!);
            }
          }
          code.get(xt).get(c).i32Const(4).i32Mul().i32Add().set(px);
          code.get(dy).get(cb).i32Add().set(pd);
          forLoop(code, p, () => code.i32Const(0), wo, 1, () => {
            for (let j = 0; j < vecs; j++) code.get(pd).f32x4Load(16 * j).set(dv[j]!);
            for (let r = 0; r < rows; r++) {
              code.get(px).f32x4LoadSplat(4 * r).set(xs);
              for (let j = 0; j < vecs; j++) {
                const t = acc[r * vecs + j]!;
                code.get(t).get(xs).get(dv[j]!).f32x4Mul().f32x4Add().set(t);
              }
            }
            code.get(px).get(pxStep).i32Add().set(px);
            code.get(pd).get(coBytes).i32Add().set(pd);
          });
          for (let r = 0; r < rows; r++) {
            for (let j = 0; j < vecs; j++) {
              dwRow(r);
              code.get(acc[r * vecs + j]!).f32x4Store(16 * j);
            }
          }
        });
      });
    });
  });
  return { name: `dw_${rows}_${vecs}`, params, locals, code };
}

/**
 * rows_V(x, ldx, dy, dw, wo, ci, co, pxStep, kh, kw, hp, ho, stride, rowFrom, rowTo): output rows
 * [rowFrom, rowTo) of all n·ho, each through dw_4_V (channels in blocks of 4) and dw_1_V (the rest).
 * `first` is the function index of dw_4_V; dw_1_V follows it.
 */
function filterGradRows(vecs: 2 | 1, first: number): WasmFunction {
  const params: ValType[] = Array<ValType>(15).fill(I32);
  const [x, ldx, dy, dw, wo, ci, co, pxStep, kh, kw, hp, ho, stride, rowFrom, rowTo] = params.map((_, i) => i);
  const locals: ValType[] = Array<ValType>(5).fill(I32);
  const [row, n, xRow, dyRow, ci4] = locals.map((_, i) => params.length + i);
  const code = new Code();
  code.get(ci).get(ci).i32Const(4).i32DivS().i32Const(4).i32Mul().i32Sub().set(ci4); // ci mod 4
  code.get(ci).get(ci4).i32Sub().set(ci4); // ci rounded down to 4
  forLoop(code, row, () => code.get(rowFrom), rowTo, 1, () => {
    code.get(row).get(ho).i32DivS().set(n);
    // xpad row n·hp + y·stride with y = row − n·ho
    code.get(x).get(n).get(hp).i32Mul().get(row).get(n).get(ho).i32Mul().i32Sub().get(stride).i32Mul().i32Add().get(ldx).i32Mul().i32Add().set(xRow);
    code.get(dy).get(row).get(wo).i32Mul().get(co).i32Mul().i32Const(4).i32Mul().i32Add().set(dyRow);
    const call = (fn: number, from: () => void, to: () => void): void => {
      for (const a of [xRow, ldx, dyRow, dw, wo, ci, co, pxStep, kh, kw]) code.get(a);
      from();
      to();
      code.call(fn);
    };
    code.i32Const(0).get(ci4).i32LtS().if();
    call(first, () => code.i32Const(0), () => code.get(ci4));
    code.end();
    code.get(ci4).get(ci).i32LtS().if();
    call(first + 1, () => code.get(ci4), () => code.get(ci));
    code.end();
  });
  return { name: `rows_${vecs}`, params, locals, code };
}

/** rows_V's arguments after (x, ldx, dy, dw). */
export type FilterGradRowsFn = (...args: number[]) => void;

export interface FilterGradModule {
  module: WebAssembly.Module;
  rows: Record<'2' | '1', FilterGradRowsFn>;
}

export function filterGradModule(memory: WebAssembly.Memory): FilterGradModule {
  // Indices: dw_4_2 0, dw_1_2 1, dw_4_1 2, dw_1_1 3, rows_2 4, rows_1 5.
  const fns = [filterGradRow(4, 2), filterGradRow(1, 2), filterGradRow(4, 1), filterGradRow(1, 1), filterGradRows(2, 0), filterGradRows(1, 2)];
  const module = new WebAssembly.Module(encodeModule(fns, { sharedMemory: isShared(memory) }));
  const e = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, FilterGradRowsFn>;
  return { module, rows: { 2: e['rows_2']!, 1: e['rows_1']! } };
}

export interface FilterGradDims {
  /** Padded input [n, hp, wp, ci]. */
  n: number;
  hp: number;
  wp: number;
  ci: number;
  /** dy [n, ho, wo, co]. */
  ho: number;
  wo: number;
  co: number;
  kh: number;
  kw: number;
  stride: number;
}

/** True when the kernel handles these channel counts (output channels in whole f32x4 vectors). */
export function filterGradSupported(d: FilterGradDims): boolean {
  return d.co % 4 === 0 && d.ci >= 1;
}

/** The export and the arguments that add output rows [from, to) into the dW at byte address `dw`. */
export function filterGradCall(d: FilterGradDims, x: number, dy: number, dw: number, from: number, to: number): { name: string; args: number[] } {
  const ldx = d.wp * d.ci * 4;
  const args = [x, ldx, dy, dw, d.wo, d.ci, d.co, d.stride * d.ci * 4, d.kh, d.kw, d.hp, d.ho, d.stride, from, to];
  return { name: d.co % 8 === 0 ? 'rows_2' : 'rows_1', args };
}
