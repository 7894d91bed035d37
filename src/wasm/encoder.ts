/**
 * A minimal WebAssembly binary encoder: enough to write small SIMD kernels (loops over linear memory,
 * f64x2 and f32x4 arithmetic) from TypeScript and instantiate them synchronously, with no toolchain and no
 * binary blob in the repository. The kernels that use it (metrics/ssim-kernel.ts, src/nn/attention-kernel.ts)
 * are generated code whose structure reads like the JS they replace.
 *
 * Covers: one imported memory (optionally shared, to run on another module's heap), functions with
 * i32/f32/f64/v128 params, locals and at most one result, exports, calls between them, structured control
 * flow, i32 address arithmetic, byte loads, f32/f64 scalars, f64x2 and f32x4 (with the i32x4 ops an
 * exponential needs) loads/stores/arithmetic.
 * Opcodes: WebAssembly core spec 2.0 (SIMD proposal merged), section 5.4.
 */

export type ValType = 'i32' | 'f32' | 'f64' | 'v128';

const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

function uleb(n: number, out: number[]): void {
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

function name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  out.push(...bytes);
}

/** Instruction stream of one function body; every method appends one instruction and returns `this`. */
export class Code {
  readonly bytes: number[] = [];

  private op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }

  private simd(opcode: number): this {
    this.bytes.push(0xfd);
    uleb(opcode, this.bytes);
    return this;
  }

  private memarg(alignLog2: number, offset: number): this {
    uleb(alignLog2, this.bytes);
    uleb(offset, this.bytes);
    return this;
  }

  get(local: number): this {
    this.op(0x20);
    uleb(local, this.bytes);
    return this;
  }
  set(local: number): this {
    this.op(0x21);
    uleb(local, this.bytes);
    return this;
  }
  tee(local: number): this {
    this.op(0x22);
    uleb(local, this.bytes);
    return this;
  }

  // Control flow (block type: empty).
  block(): this {
    return this.op(0x02, 0x40);
  }
  loop(): this {
    return this.op(0x03, 0x40);
  }
  if(): this {
    return this.op(0x04, 0x40);
  }
  end(): this {
    return this.op(0x0b);
  }
  br(depth: number): this {
    this.op(0x0c);
    uleb(depth, this.bytes);
    return this;
  }
  brIf(depth: number): this {
    this.op(0x0d);
    uleb(depth, this.bytes);
    return this;
  }

  // i32
  i32Const(v: number): this {
    this.op(0x41);
    sleb(v | 0, this.bytes);
    return this;
  }
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32LtS(): this {
    return this.op(0x48);
  }
  i32Add(): this {
    return this.op(0x6a);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32DivS(): this {
    return this.op(0x6d);
  }
  i32And(): this {
    return this.op(0x71);
  }
  i32Load8U(offset = 0): this {
    return this.op(0x2d).memarg(0, offset);
  }

  call(fn: number): this {
    this.op(0x10);
    uleb(fn, this.bytes);
    return this;
  }
  i32Shl(): this {
    return this.op(0x74);
  }

  // f32
  f32Const(v: number): this {
    this.op(0x43);
    this.bytes.push(...new Uint8Array(new Float32Array([v]).buffer));
    return this;
  }
  f32Load(offset = 0): this {
    return this.op(0x2a).memarg(2, offset);
  }
  f32Store(offset = 0): this {
    return this.op(0x38).memarg(2, offset);
  }
  f32Add(): this {
    return this.op(0x92);
  }
  f32Mul(): this {
    return this.op(0x94);
  }
  f32Div(): this {
    return this.op(0x95);
  }
  f32Max(): this {
    return this.op(0x97);
  }

  // f64
  f64Const(v: number): this {
    this.op(0x44);
    const b = new Uint8Array(new Float64Array([v]).buffer);
    this.bytes.push(...b);
    return this;
  }
  f64Load(offset = 0): this {
    return this.op(0x2b).memarg(3, offset);
  }
  f64Store(offset = 0): this {
    return this.op(0x39).memarg(3, offset);
  }
  f64Add(): this {
    return this.op(0xa0);
  }
  f64Sub(): this {
    return this.op(0xa1);
  }
  f64Mul(): this {
    return this.op(0xa2);
  }
  f64Div(): this {
    return this.op(0xa3);
  }
  f64ConvertI32U(): this {
    return this.op(0xb8);
  }

  // v128 as f64x2. Loads and stores declare 8-byte alignment: addresses are multiples of 8, not of 16.
  v128Load(offset = 0): this {
    return this.simd(0x00).memarg(3, offset);
  }
  v128Store(offset = 0): this {
    return this.simd(0x0b).memarg(3, offset);
  }
  f64x2Splat(): this {
    return this.simd(0x14);
  }
  f64x2ExtractLane(lane: 0 | 1): this {
    this.simd(0x21);
    this.bytes.push(lane);
    return this;
  }
  f64x2Add(): this {
    return this.simd(0xf0);
  }
  f64x2Sub(): this {
    return this.simd(0xf1);
  }
  f64x2Mul(): this {
    return this.simd(0xf2);
  }
  f64x2Div(): this {
    return this.simd(0xf3);
  }

  // v128 as f32x4 (and the i32x4 ops of an exponential). Loads and stores declare 4-byte alignment.
  f32x4Load(offset = 0): this {
    return this.simd(0x00).memarg(2, offset);
  }
  f32x4Store(offset = 0): this {
    return this.simd(0x0b).memarg(2, offset);
  }
  /** v128.load32_splat: one float from memory into all four lanes. */
  f32x4LoadSplat(offset = 0): this {
    return this.simd(0x09).memarg(2, offset);
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  f32x4ExtractLane(lane: 0 | 1 | 2 | 3): this {
    this.simd(0x1f);
    this.bytes.push(lane);
    return this;
  }
  f32x4Ge(): this {
    return this.simd(0x46);
  }
  v128And(): this {
    return this.simd(0x4e);
  }
  f32x4Nearest(): this {
    return this.simd(0x6a);
  }
  i32x4Shl(): this {
    return this.simd(0xab);
  }
  i32x4Add(): this {
    return this.simd(0xae);
  }
  i32x4Splat(): this {
    return this.simd(0x11);
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Sub(): this {
    return this.simd(0xe5);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  f32x4Max(): this {
    return this.simd(0xe9);
  }
  i32x4TruncSatF32x4S(): this {
    return this.simd(0xf8);
  }
}

export interface WasmFunction {
  name: string;
  params: ValType[];
  result?: ValType;
  /** Locals after the params; local indices continue from params.length. */
  locals: ValType[];
  /** The body without its final `end`. */
  code: Code;
}

function section(id: number, content: number[], out: number[]): void {
  out.push(id);
  uleb(content.length, out);
  out.push(...content);
}

export interface ModuleOptions {
  /**
   * Import a shared memory (a threaded emscripten module's heap): the import must then say shared and give
   * a maximum, and 65536 pages (4 GiB, wasm32's limit) accepts any actual maximum.
   */
  sharedMemory?: boolean;
}

/**
 * A module importing its memory as `env.memory` (so the caller can grow it and read it through typed
 * arrays) and exporting every function under its name. Function i is called as `call(i)` from the others.
 */
export function encodeModule(functions: WasmFunction[], options: ModuleOptions = {}): Uint8Array<ArrayBuffer> {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  // Type section: one signature per function (duplicates are legal and keep this simple).
  const types: number[] = [];
  uleb(functions.length, types);
  for (const f of functions) {
    types.push(0x60);
    uleb(f.params.length, types);
    for (const p of f.params) types.push(VALTYPE[p]);
    if (f.result) types.push(1, VALTYPE[f.result]);
    else types.push(0);
  }
  section(1, types, out);
  const imports: number[] = [1];
  name('env', imports);
  name('memory', imports);
  if (options.sharedMemory) {
    imports.push(0x02, 0x03, 0x01); // memory, limits: shared, min 1 page, max:
    uleb(65536, imports);
  } else {
    imports.push(0x02, 0x00, 0x01); // memory, limits: min 1 page, no max
  }
  section(2, imports, out);
  const funcs: number[] = [];
  uleb(functions.length, funcs);
  functions.forEach((_, i) => uleb(i, funcs));
  section(3, funcs, out);
  const exports: number[] = [];
  uleb(functions.length, exports);
  functions.forEach((f, i) => {
    name(f.name, exports);
    exports.push(0x00);
    uleb(i, exports);
  });
  section(7, exports, out);
  const code: number[] = [];
  uleb(functions.length, code);
  for (const f of functions) {
    const body: number[] = [];
    uleb(f.locals.length, body);
    for (const l of f.locals) body.push(1, VALTYPE[l]); // one entry per local: (count 1, type)
    body.push(...f.code.bytes, 0x0b);
    uleb(body.length, code);
    code.push(...body);
  }
  section(10, code, out);
  return Uint8Array.from(out);
}
