/**
 * The WebAssembly SIMD SSIM kernel against the scalar JS implementation it replaces (itself held to
 * scikit-image by metrics-core-frames): same value to ~1e-13 on every shape the kernel treats
 * specially (odd valid widths -> a half pair, the smallest frames, crops, 1/3/4 channels, float input,
 * both windows), and the WebAssembly encoder's integer and offset encodings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ssim, SSIM_VARIANTS } from '../metrics/index.ts';
import type { Frame, SsimVariant } from '../metrics/index.ts';
import { Code, encodeModule } from '../src/wasm/encoder.ts';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A textured 8-bit frame and a noisy copy, so SSIM is well inside (0, 1). */
function framePair(width: number, height: number, channels: number, seed: number): [Frame, Frame] {
  const rnd = lcg(seed);
  const a = new Uint8Array(width * height * channels);
  const b = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const px = Math.floor(i / channels);
    const v = 128 + 70 * Math.sin((px % width) / 5.3) * Math.cos(Math.floor(px / width) / 3.7) + 30 * (rnd() - 0.5);
    a[i] = Math.max(0, Math.min(255, Math.round(v)));
    b[i] = Math.max(0, Math.min(255, Math.round(v + 40 * (rnd() - 0.5))));
  }
  return [
    { data: a, width, height, channels },
    { data: b, width, height, channels },
  ];
}

function toFloat(f: Frame): Frame {
  return { ...f, data: Float64Array.from(f.data, (v) => v / 255) };
}

const SHAPES: Array<[number, number, number]> = [
  [11, 11, 1], // one output pixel: only the half-pair tail
  [12, 11, 3], // two outputs in a row: one full pair
  [13, 17, 3], // odd valid width: pairs plus a tail
  [64, 40, 3],
  [97, 33, 4],
  [7, 7, 3], // the skimage window's minimum (the Gaussian one rejects it)
];

describe('SSIM SIMD kernel equals the scalar implementation', () => {
  for (const variant of SSIM_VARIANTS as readonly SsimVariant[]) {
    for (const [w, h, c] of SHAPES) {
      const k = variant === 'ssim' ? 11 : 7;
      if (w < k || h < k) continue;
      it(`${variant} ${w}x${h}x${c}: 8-bit, float, cropped and Y-channel inputs`, () => {
        const [a, b] = framePair(w, h, c, w * 31 + h * 7 + c);
        const cases: Array<[string, Frame, Frame, Record<string, unknown>]> = [
          ['8-bit', a, b, {}],
          ['float', toFloat(a), toFloat(b), {}],
        ];
        if (Math.min(w, h) - 2 >= k) cases.push(['crop 1', a, b, { crop: 1 }]);
        if (c === 3) cases.push(['Y channel', a, b, { yChannel: true }]);
        for (const [label, x, y, opts] of cases) {
          const fast = ssim(x, y, { ...opts, variant });
          const scalar = ssim(x, y, { ...opts, variant }, 'ssim', 'scalar');
          assert.ok(fast > -1 && fast < 1, `${label}: SSIM ${fast} out of range`);
          assert.ok(Math.abs(fast - scalar) <= 1e-13, `${label}: kernel ${fast} vs scalar ${scalar}`);
        }
      });
    }
  }

  it('a 1280x720 frame after smaller ones (memory growth) still matches, and repeated calls agree exactly', () => {
    const [a, b] = framePair(1280, 720, 3, 5);
    const fast = ssim(a, b);
    assert.equal(ssim(a, b), fast);
    const scalar = ssim(a, b, {}, 'ssim', 'scalar');
    assert.ok(Math.abs(fast - scalar) <= 1e-13, `kernel ${fast} vs scalar ${scalar}`);
    const [c, d] = framePair(13, 17, 3, 9); // smaller again: stale padding must not leak in
    assert.ok(Math.abs(ssim(c, d) - ssim(c, d, {}, 'ssim', 'scalar')) <= 1e-13);
  });
});

describe('WebAssembly encoder', () => {
  it('encodes multi-byte signed constants, f64 constants and memory offsets', () => {
    // mem[p + 1004] = mem[p + 300] * -123456.5 - u32(-1000000 + p - p), as f64.
    const code = new Code();
    code.get(0).get(0).f64Load(300).f64Const(-123456.5).f64Mul().i32Const(-1000000).get(0).i32Add().get(0).i32Sub().f64ConvertI32U();
    code.f64Sub().f64Store(1004);
    const bytes = encodeModule([{ name: 'f', params: ['i32'], locals: [], code }]);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const { f } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as { f: (p: number) => void };
    const mem = new Float64Array(memory.buffer);
    mem[(4 + 300) / 8] = 2;
    f(4);
    // -1000000 read as unsigned 32-bit is 2^32 - 1000000.
    assert.equal(mem[(4 + 1004) / 8], 2 * -123456.5 - (2 ** 32 - 1000000));
  });
});
