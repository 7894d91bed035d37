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
import { Code } from '../wasm/encoder.ts';
import type { ValType, WasmFunction } from '../wasm/encoder.ts';
import { forLoop, pushFloor4, pushRowStart, rowsFunction, rowsModule, type ConvDims, type RowsModule } from './conv-rows.ts';

const I32 = 'i32' as const;

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

/** rows_V: each row through dw_4_V (input channels in blocks of 4) and dw_1_V (the rest); `first` is dw_4_V's index. */
function filterGradRows(vecs: 2 | 1, first: number): WasmFunction {
  let ci4 = 0;
  return rowsFunction(
    `rows_${vecs}`,
    (code, at, p) => {
      const call = (fn: number, from: () => void, to: () => void): void => {
        code.get(at.xRow).get(p.ldx);
        pushRowStart(code, p.a, at.row, p);
        for (const v of [p.b, p.wo, p.ci, p.co, p.pxStep, p.kh, p.kw]) code.get(v);
        from();
        to();
        code.call(fn);
      };
      code.i32Const(0).get(ci4).i32LtS().if();
      call(first, () => code.i32Const(0), () => code.get(ci4));
      code.end();
      code.get(ci4).get(p.ci).i32LtS().if();
      call(first + 1, () => code.get(ci4), () => code.get(p.ci));
      code.end();
    },
    (code, p, local) => {
      ci4 = local();
      pushFloor4(code, p.ci);
      code.set(ci4);
    },
  );
}

/** dW of every row of dy, added into the dW the call names (rowsCall(d, xpad, dy, dW, from, to)). */
export function filterGradModule(memory: WebAssembly.Memory): RowsModule {
  // Indices: dw_4_2 0, dw_1_2 1, dw_4_1 2, dw_1_1 3, rows_2 4, rows_1 5.
  return rowsModule(memory, [filterGradRow(4, 2), filterGradRow(1, 2), filterGradRow(4, 1), filterGradRow(1, 1), filterGradRows(2, 0), filterGradRows(1, 2)]);
}

/** True when the kernel handles these channel counts (output channels in whole f32x4 vectors). */
export function filterGradSupported(d: ConvDims): boolean {
  return d.co % 4 === 0 && d.ci >= 1;
}
