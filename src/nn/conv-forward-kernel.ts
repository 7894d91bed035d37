/**
 * A VALID convolution of an already padded NHWC input, out[n,y,x,co] = Σ_{a,b,ci} xpad[n, y·s+a, x·s+b, ci] ·
 * w[a,b,ci,co], as a generated WebAssembly f32x4 kernel on the tfjs wasm backend's heap (./wasm-heap.ts).
 * The forward conv and, through the flipped kernel, the input gradient (./conv.ts) both run through it.
 *
 * Why: measured here, XNNPACK's wasm conv reaches 19–30 GFLOP/s on one thread and gains 1.2–1.6x from a
 * second; the filter-gradient kernel's tile (./conv-filter-kernel.ts) made 43. The tile here is the same
 * shape turned around: 4 output pixels × 8 output channels in eight f32x4 accumulators, each input channel
 * of each tap two vector loads of w and four broadcast loads of x; the filter (kh·kw·ci·co floats) stays
 * in L1/L2 while a row's pixels stream by.
 *
 * conv_P_V(x, ldx, w, out, pixels, ci, co, pxStep, kh, kw): P output pixels (4, or 1 for the remainder) from
 * x = xpad at their first tap, out at their first pixel; co a multiple of 4·V.
 * rows_V (./conv-rows.ts) with a = w, b = out: output rows [rowFrom, rowTo) of all n·ho.
 */
import { Code } from '../wasm/encoder.ts';
import type { ValType, WasmFunction } from '../wasm/encoder.ts';
import { forLoop, rowsFunction, rowsModule, pushFloor4, pushRowStart, type RowsModule } from './conv-rows.ts';

const I32 = 'i32' as const;

function convPixels(pixels: 4 | 1, vecs: 2 | 1): WasmFunction {
  const params: ValType[] = Array<ValType>(10).fill(I32);
  const [x, ldx, w, out, , ci, co, pxStep, kh, kw] = params.map((_, i) => i);
  const locals: ValType[] = [];
  const local = (t: ValType): number => {
    locals.push(t);
    return params.length + locals.length - 1;
  };
  const [a, b, c, cb, coBytes, ciBytes, wp, tap] = Array.from({ length: 8 }, () => local(I32));
  const px = Array.from({ length: pixels }, () => local(I32));
  const acc = Array.from({ length: pixels * vecs }, () => local('v128'));
  const wv = Array.from({ length: vecs }, () => local('v128'));
  const xs = local('v128');
  const code = new Code();
  code.get(co).i32Const(4).i32Mul().set(coBytes);
  code.get(ci).i32Const(4).i32Mul().set(ciBytes);
  forLoop(code, cb, () => code.i32Const(0), coBytes, 16 * vecs, () => {
    for (const v of acc) code.f32Const(0).f32x4Splat().set(v);
    forLoop(code, a, () => code.i32Const(0), kh, 1, () => {
      forLoop(code, b, () => code.i32Const(0), kw, 1, () => {
        // x at tap (a, b) for pixel 0; the filter's rows of this tap from column block cb.
        code.get(x).get(a).get(ldx).i32Mul().i32Add().get(b).get(ciBytes).i32Mul().i32Add().set(tap);
        for (let p = 0; p < pixels; p++) code.get(tap).get(pxStep).i32Const(p).i32Mul().i32Add().set(px[p]!);
        code.get(w).get(a).get(kw).i32Mul().get(b).i32Add().get(ci).i32Mul().get(coBytes).i32Mul().i32Add().get(cb).i32Add().set(wp);
        forLoop(code, c, () => code.i32Const(0), ci, 1, () => {
          for (let j = 0; j < vecs; j++) code.get(wp).f32x4Load(16 * j).set(wv[j]!);
          for (let p = 0; p < pixels; p++) {
            code.get(px[p]!).f32x4LoadSplat().set(xs);
            for (let j = 0; j < vecs; j++) {
              const t = acc[p * vecs + j]!;
              code.get(t).get(xs).get(wv[j]!).f32x4Mul().f32x4Add().set(t);
            }
            code.get(px[p]!).i32Const(4).i32Add().set(px[p]!);
          }
          code.get(wp).get(coBytes).i32Add().set(wp);
        });
      });
    });
    for (let p = 0; p < pixels; p++) {
      for (let j = 0; j < vecs; j++) {
        code.get(out).get(coBytes).i32Const(p).i32Mul().i32Add().get(cb).i32Add();
        code.get(acc[p * vecs + j]!).f32x4Store(16 * j);
      }
    }
  });
  return { name: `conv_${pixels}_${vecs}`, params, locals, code };
}

/** rows_V: each output row in blocks of 4 pixels, then single pixels; `first` is conv_4_V's index, conv_1_V follows. */
function convRows(vecs: 2 | 1, first: number): WasmFunction {
  let px = 0;
  let wo4 = 0;
  return rowsFunction(
    `rows_${vecs}`,
    (code, at, p) => {
      const call = (fn: number, pixels: number): void => {
        // x of pixel px: xRow + px·pxStep; out of pixel px: the row's start + px·co·4
        code.get(at.xRow).get(px).get(p.pxStep).i32Mul().i32Add().get(p.ldx).get(p.a);
        pushRowStart(code, p.b, at.row, p);
        code.get(px).get(p.co).i32Mul().i32Const(4).i32Mul().i32Add();
        code.i32Const(pixels).get(p.ci).get(p.co).get(p.pxStep).get(p.kh).get(p.kw).call(fn);
      };
      forLoop(code, px, () => code.i32Const(0), wo4, 4, () => call(first, 4));
      forLoop(code, px, () => code.get(wo4), p.wo, 1, () => call(first + 1, 1));
    },
    (code, p, local) => {
      px = local();
      wo4 = local();
      pushFloor4(code, p.wo);
      code.set(wo4);
    },
  );
}

/** The conv of every output row, written to the output the call names (rowsCall(d, xpad, w, out, from, to)). */
export function convForwardModule(memory: WebAssembly.Memory): RowsModule {
  // Indices: conv_4_2 0, conv_1_2 1, conv_4_1 2, conv_1_1 3, rows_2 4, rows_1 5.
  return rowsModule(memory, [convPixels(4, 2), convPixels(1, 2), convPixels(4, 1), convPixels(1, 1), convRows(2, 0), convRows(1, 2)]);
}
