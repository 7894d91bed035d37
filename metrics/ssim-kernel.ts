/**
 * The SSIM plane kernel as generated WebAssembly (f64x2 SIMD): the same arithmetic as the scalar path in
 * ssim.ts, two pixels per instruction, streaming over rows so everything it touches stays in cache.
 *
 * Per plane pair, with K = 2r+1 taps and the valid width wv = w - K + 1:
 * - each input row is copied into linear memory (zero-padded to an even number of outputs), `prepRow`
 *   forms x^2 + y^2 and xy, and `hRow` filters the four maps horizontally into one slot of a ring of K
 *   rows, interleaved per pixel pair as [x x | y y | q q | p p] so the vertical pass reads all four maps
 *   from one pointer per tap with constant offsets;
 * - once K rows are in the ring, `vRow` filters them vertically and sums the SSIM map over the output row.
 *
 * Every filtered value and map value is computed with the same operations in the same order as the
 * scalar code (float64, mirrored taps folded, left to right), so the per-pixel map is bit-identical; only
 * the order of the final summation differs (two lanes, then rows), a few ulps of the mean.
 */
import { Code, encodeModule } from '../src/wasm/encoder.ts';
import type { ValType, WasmFunction } from '../src/wasm/encoder.ts';

export interface SsimWindow {
  /** Normalised symmetric 1-D taps (odd count); the 2-D window is their outer product. */
  taps: Float64Array;
  /** Factor on the variances and covariance: 1 (population) or N/(N-1) (sample). */
  covNorm: number;
}

export interface SsimConstants {
  c1: number;
  c2: number;
}

/** Loads the taps as splatted f64x2 constants into locals first..first+r (tap t at first+t, centre at first+r). */
function splatConstants(code: Code, values: number[], first: number): void {
  values.forEach((v, i) => code.f64Const(v).f64x2Splat().set(first + i));
}

/**
 * Pushes the filtered value of one map for two adjacent outputs: centre * s[r] + sum_t tap_t (s[t] + s[K-1-t]),
 * where s[k] is the f64x2 at `address(k) + offset`.
 */
function emitFir(code: Code, r: number, tapLocal: number, address: (k: number) => number, offset: (k: number) => number): void {
  const k = 2 * r + 1;
  code.get(tapLocal + r).get(address(r)).v128Load(offset(r)).f64x2Mul();
  for (let t = 0; t < r; t++) {
    code.get(address(t)).v128Load(offset(t)).get(address(k - 1 - t)).v128Load(offset(k - 1 - t)).f64x2Add();
    code.get(tapLocal + t).f64x2Mul().f64x2Add();
  }
}

/** `while (n-- > 0) { body }` for an i32 counter local n (the body runs n times; none when n is 0). */
function countedLoop(code: Code, counter: number, body: () => void): void {
  code.block().get(counter).i32Eqz().brIf(0).loop();
  body();
  code.get(counter).i32Const(1).i32Sub().tee(counter).brIf(0).end().end();
}

function addTo(code: Code, local: number, bytes: number): void {
  code.get(local).i32Const(bytes).i32Add().set(local);
}

/** prepRow(x, y, q, p, nPairs): q = x*x + y*y, p = x*y over nPairs f64 pairs. */
function prepRow(): WasmFunction {
  const [x, y, q, p, n, a, b] = [0, 1, 2, 3, 4, 5, 6];
  const code = new Code();
  countedLoop(code, n, () => {
    code.get(q).get(x).v128Load().tee(a).get(a).f64x2Mul().get(y).v128Load().tee(b).get(b).f64x2Mul().f64x2Add().v128Store();
    code.get(p).get(a).get(b).f64x2Mul().v128Store();
    for (const ptr of [x, y, q, p]) addTo(code, ptr, 16);
  });
  return { name: 'prepRow', params: ['i32', 'i32', 'i32', 'i32', 'i32'], locals: ['v128', 'v128'], code };
}

/** hRow(x, y, q, p, dst, nPairs): the horizontal pass of the four maps, interleaved per output pair at dst. */
function hRow(taps: Float64Array): WasmFunction {
  const r = (taps.length - 1) >> 1;
  const [x, y, q, p, dst, n, tap] = [0, 1, 2, 3, 4, 5, 6];
  const code = new Code();
  splatConstants(code, Array.from(taps.subarray(0, r + 1)), tap);
  countedLoop(code, n, () => {
    [x, y, q, p].forEach((src, m) => {
      code.get(dst);
      emitFir(code, r, tap, () => src, (k) => 8 * k);
      code.v128Store(16 * m);
    });
    for (const ptr of [x, y, q, p]) addTo(code, ptr, 16);
    addTo(code, dst, 64);
  });
  const locals: ValType[] = Array(r + 1).fill('v128');
  return { name: 'hRow', params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], locals, code };
}

/**
 * vRow(row_0..row_{K-1}, nPairs, tail) -> sum of the SSIM map over 2*nPairs (+1 when tail) outputs:
 * the vertical pass over the K ring rows and the map formula, as the scalar code writes it.
 */
function vRow(win: SsimWindow, consts: SsimConstants): WasmFunction {
  const k = win.taps.length;
  const r = (k - 1) >> 1;
  const n = k;
  const tail = k + 1;
  let next = k + 2;
  const take = (count: number): number => {
    const first = next;
    next += count;
    return first;
  };
  const off = take(1);
  const addr = take(k);
  const tap = take(r + 1);
  const [two, c1, c2, cn] = [take(1), take(1), take(1), take(1)];
  const map = take(4);
  const [uxx, uyy, uxy, acc, val] = [take(1), take(1), take(1), take(1), take(1)];
  const tailSum = take(1);
  const locals: ValType[] = [...Array<ValType>(1 + k).fill('i32'), ...Array<ValType>(tailSum - tap).fill('v128'), 'f64'];
  const scaleByCovNorm = win.covNorm !== 1; // multiplying by exactly 1 is skipped (it changes nothing)

  const code = new Code();
  splatConstants(code, Array.from(win.taps.subarray(0, r + 1)), tap);
  splatConstants(code, [2, consts.c1, consts.c2, win.covNorm], two);
  code.i32Const(0).set(off);
  const pair = (): void => {
    for (let t = 0; t < k; t++) code.get(t).get(off).i32Add().set(addr + t);
    for (let m = 0; m < 4; m++) {
      emitFir(code, r, tap, (t) => addr + t, () => 16 * m);
      code.set(map + m);
    }
    const [mx, my, mq, mp] = [map, map + 1, map + 2, map + 3];
    code.get(mx).get(mx).f64x2Mul().set(uxx);
    code.get(my).get(my).f64x2Mul().set(uyy);
    code.get(mx).get(my).f64x2Mul().set(uxy);
    // ((2 uxy + C1) (2 vxy + C2)) / ((uxx + uyy + C1)(vsum + C2)), vxy = cn (E[xy] - uxy), vsum = cn (E[x^2+y^2] - uxx - uyy)
    code.get(two).get(uxy).f64x2Mul().get(c1).f64x2Add();
    code.get(two);
    if (scaleByCovNorm) code.get(cn);
    code.get(mp).get(uxy).f64x2Sub();
    if (scaleByCovNorm) code.f64x2Mul();
    code.f64x2Mul().get(c2).f64x2Add().f64x2Mul();
    code.get(uxx).get(uyy).f64x2Add().get(c1).f64x2Add();
    if (scaleByCovNorm) code.get(cn);
    code.get(mq).get(uxx).f64x2Sub().get(uyy).f64x2Sub();
    if (scaleByCovNorm) code.f64x2Mul();
    code.get(c2).f64x2Add().f64x2Mul();
    code.f64x2Div().set(val);
  };
  countedLoop(code, n, () => {
    pair();
    code.get(acc).get(val).f64x2Add().set(acc);
    addTo(code, off, 64);
  });
  code.get(tail).if();
  pair();
  code.get(val).f64x2ExtractLane(0).set(tailSum);
  code.end();
  code.get(acc).f64x2ExtractLane(0).get(acc).f64x2ExtractLane(1).f64Add().get(tailSum).f64Add();
  const params: ValType[] = [...Array<ValType>(k).fill('i32'), 'i32', 'i32'];
  return { name: 'vRow', params, result: 'f64', locals, code };
}

/** loadU8(src, stride, dst, n): dst[i] = src[i * stride] as f64 — one channel of an interleaved 8-bit row. */
function loadU8(): WasmFunction {
  const [src, stride, dst, n] = [0, 1, 2, 3];
  const code = new Code();
  countedLoop(code, n, () => {
    code.get(dst).get(src).i32Load8U().f64ConvertI32U().f64Store();
    code.get(src).get(stride).i32Add().set(src);
    addTo(code, dst, 8);
  });
  return { name: 'loadU8', params: ['i32', 'i32', 'i32', 'i32'], locals: [], code };
}

interface KernelExports {
  loadU8: (src: number, stride: number, dst: number, n: number) => void;
  prepRow: (x: number, y: number, q: number, p: number, nPairs: number) => void;
  hRow: (x: number, y: number, q: number, p: number, dst: number, nPairs: number) => void;
  vRow: (...args: number[]) => number;
}

export interface SsimKernel {
  /** Mean of the SSIM map over the valid region of two float64 planes [h, w] (row-major). */
  plane(x: Float64Array, y: Float64Array, w: number, h: number): number;
  /**
   * The same for every channel of two interleaved 8-bit frames [height, width, channels] used as they are
   * (values 0..255), after dropping `crop` pixels at each border: one mean per channel.
   */
  channelsU8(a: Uint8Array | Uint8ClampedArray, b: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: number, crop: number): number[];
}

const PAGE = 65536;

/** Instantiates the kernel for one window; null when this runtime lacks WebAssembly SIMD. */
export function createSsimKernel(win: SsimWindow, consts: SsimConstants): SsimKernel | null {
  const bytes = encodeModule([loadU8(), prepRow(), hRow(win.taps), vRow(win, consts)]);
  if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return null;
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  const fn = instance.exports as unknown as KernelExports;
  const k = win.taps.length;

  /** Byte layout for planes of width w, plus `extra` bytes after it; grows the memory to fit. */
  const layout = (w: number, extra: number) => {
    const wv = w - k + 1;
    const full = wv >> 1;
    const tail = wv & 1;
    const pairs = full + tail;
    const rowLen = 2 * pairs + k - 1; // even (k is odd) and >= w; the inputs past w stay zero
    const rowBytes = rowLen * 8;
    const ring = 4 * rowBytes;
    const slot = pairs * 64;
    const free = ring + k * slot;
    const needed = free + extra;
    if (memory.buffer.byteLength < needed) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE));
    const mem = new Float64Array(memory.buffer);
    mem.fill(0, 0, 2 * rowLen); // rows X and Y, padding included
    return { wv, full, tail, pairs, rowLen, X: 0, Y: rowBytes, Q: 2 * rowBytes, P: 3 * rowBytes, ring, slot, free };
  };

  /** Streams h rows through the ring; `load(row)` puts input row `row` of x and y at X and Y. */
  const streamPlane = (l: ReturnType<typeof layout>, h: number, load: (row: number) => void): number => {
    const rows = new Array<number>(k + 2);
    rows[k] = l.full;
    rows[k + 1] = l.tail;
    let sum = 0;
    for (let row = 0; row < h; row++) {
      load(row);
      fn.prepRow(l.X, l.Y, l.Q, l.P, l.rowLen >> 1);
      fn.hRow(l.X, l.Y, l.Q, l.P, l.ring + (row % k) * l.slot, l.pairs);
      const top = row - k + 1;
      if (top < 0) continue;
      for (let t = 0; t < k; t++) rows[t] = l.ring + ((top + t) % k) * l.slot;
      sum += fn.vRow(...rows);
    }
    return sum / ((h - k + 1) * l.wv);
  };

  return {
    plane(x, y, w, h) {
      const l = layout(w, 0);
      const mem = new Float64Array(memory.buffer);
      return streamPlane(l, h, (row) => {
        mem.set(x.subarray(row * w, row * w + w), l.X / 8);
        mem.set(y.subarray(row * w, row * w + w), l.Y / 8);
      });
    },
    channelsU8(a, b, width, height, channels, crop) {
      const w = width - 2 * crop;
      const h = height - 2 * crop;
      const frameBytes = width * height * channels;
      const l = layout(w, 2 * frameBytes);
      const [fa, fb] = [l.free, l.free + frameBytes];
      const bytesView = new Uint8Array(memory.buffer);
      bytesView.set(a, fa);
      bytesView.set(b, fb);
      const means: number[] = [];
      for (let ch = 0; ch < channels; ch++) {
        means.push(
          streamPlane(l, h, (row) => {
            const src = ((row + crop) * width + crop) * channels + ch;
            fn.loadU8(fa + src, channels, l.X, w);
            fn.loadU8(fb + src, channels, l.Y, w);
          }),
        );
      }
      return means;
    },
  };
}
