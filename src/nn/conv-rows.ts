/**
 * What the two generated conv kernels (./conv-forward-kernel.ts, ./conv-filter-kernel.ts) share: the shapes
 * of a VALID conv of a padded input, the row driver `rows_V` that walks output rows [rowFrom, rowTo) of all
 * n·ho and hands each row to the kernel's own per-row code, the driver's argument list, and compiling the
 * module on the backend's memory.
 *
 * rows_V(x, ldx, a, b, wo, ci, co, pxStep, kh, kw, hp, ho, stride, rowFrom, rowTo): x is xpad, ldx the byte
 * stride of a padded row, pxStep = stride·ci·4; a and b are the kernel's other two operands (w and out for
 * the conv, dy and dW for the filter gradient).
 */
import { compileOptimized } from '../wasm/compile.ts';
import { Code, encodeModule } from '../wasm/encoder.ts';
import type { ValType, WasmFunction } from '../wasm/encoder.ts';
import { isShared } from './wasm-heap.ts';

export interface ConvDims {
  /** Padded input [n, hp, wp, ci]. */
  n: number;
  hp: number;
  wp: number;
  ci: number;
  /** Output (or dy) [n, ho, wo, co]. */
  ho: number;
  wo: number;
  co: number;
  kh: number;
  kw: number;
  stride: number;
}

/** for (i = <init>; i < end; i += step) body — `end` a local. */
export function forLoop(c: Code, i: number, init: () => void, end: number, step: number, body: () => void): void {
  init();
  c.set(i).block().loop();
  c.get(i).get(end).i32LtS().i32Eqz().brIf(1);
  body();
  c.get(i).i32Const(step).i32Add().set(i).br(0).end().end();
}

/** The driver's params, by name (their local indices). */
export interface RowParams {
  x: number;
  ldx: number;
  a: number;
  b: number;
  wo: number;
  ci: number;
  co: number;
  pxStep: number;
  kh: number;
  kw: number;
}

const PARAMS = 15;

/**
 * rows_V: for each row, xRow = xpad[n, y·stride] and the row index are set, then `perRow(code, xRow, row,
 * params, local)` emits the row's calls (`local` allocates more i32 locals, `setup` runs once before the loop).
 */
export function rowsFunction(
  name: string,
  perRow: (code: Code, at: { xRow: number; row: number }, p: RowParams) => void,
  setup: (code: Code, p: RowParams, local: () => number) => void = () => {},
): WasmFunction {
  const params: ValType[] = Array<ValType>(PARAMS).fill('i32');
  const [x, ldx, a, b, wo, ci, co, pxStep, kh, kw, hp, ho, stride, rowFrom, rowTo] = params.map((_, i) => i);
  const locals: ValType[] = [];
  const local = (): number => {
    locals.push('i32');
    return PARAMS + locals.length - 1;
  };
  const [row, n, xRow] = [local(), local(), local()];
  const p: RowParams = { x: x!, ldx: ldx!, a: a!, b: b!, wo: wo!, ci: ci!, co: co!, pxStep: pxStep!, kh: kh!, kw: kw! };
  const code = new Code();
  setup(code, p, local);
  forLoop(code, row, () => code.get(rowFrom!), rowTo!, 1, () => {
    code.get(row).get(ho!).i32DivS().set(n);
    // xpad row n·hp + y·stride with y = row − n·ho
    code.get(x!).get(n).get(hp!).i32Mul().get(row).get(n).get(ho!).i32Mul().i32Sub().get(stride!).i32Mul().i32Add().get(ldx!).i32Mul().i32Add().set(xRow);
    perRow(code, { xRow, row }, p);
  });
  return { name, params, locals, code };
}

/** Pushes `base + row·wo·co·4`: the start of output (or dy) row `row`. */
export function pushRowStart(code: Code, base: number, row: number, p: RowParams): void {
  code.get(base).get(row).get(p.wo).i32Mul().get(p.co).i32Mul().i32Const(4).i32Mul().i32Add();
}

/** Pushes `v` rounded down to a multiple of 4 (v a local). */
export function pushFloor4(code: Code, v: number): void {
  code.get(v).get(v).get(v).i32Const(4).i32DivS().i32Const(4).i32Mul().i32Sub().i32Sub();
}

export type RowsFn = (...args: number[]) => void;

export interface RowsModule {
  module: WebAssembly.Module;
  /** rows_2 (output channels a multiple of 8) and rows_1. */
  rows: Record<'2' | '1', RowsFn>;
}

/** Compiles `fns` (which must export rows_2 and rows_1) for `memory` and instantiates them on it. */
export function rowsModule(memory: WebAssembly.Memory, fns: WasmFunction[]): RowsModule {
  const module = compileOptimized(encodeModule(fns, { sharedMemory: isShared(memory) }));
  const e = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, RowsFn>;
  return { module, rows: { 2: e['rows_2']!, 1: e['rows_1']! } };
}

/** The driver export and its arguments for output rows [from, to). */
export function rowsCall(d: ConvDims, x: number, a: number, b: number, from: number, to: number): { name: 'rows_2' | 'rows_1'; args: number[] } {
  const args = [x, d.wp * d.ci * 4, a, b, d.wo, d.ci, d.co, d.stride * d.ci * 4, d.kh, d.kw, d.hp, d.ho, d.stride, from, to];
  return { name: d.co % 8 === 0 ? 'rows_2' : 'rows_1', args };
}

/** Runs a rows call on the module's main-thread instance. */
export function runRows(m: RowsModule, call: { name: 'rows_2' | 'rows_1'; args: number[] }): void {
  m.rows[call.name === 'rows_2' ? '2' : '1'](...call.args);
}
