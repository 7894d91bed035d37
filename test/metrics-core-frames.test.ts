import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { psnr, ssim } from '../metrics/index.ts';
import type { Frame, SsimVariant } from '../metrics/index.ts';
import { UsageError } from '../src/errors.ts';

interface FixtureCase {
  options: { yChannel: boolean; crop: number };
  psnr: number;
  ssim: number;
  'ssim-skimage-default': number;
}
interface FixtureFrame {
  name: string;
  width: number;
  height: number;
  channels: number;
  gt: string;
  pred: string;
  uint8: FixtureCase[];
  float32: FixtureCase[];
}

// Crops of scikit-image's sample photographs, Gaussian-blurred plus noise; values from scikit-image 0.19
// (see test/fixtures/metrics-core/gen-metrics-core.py).
const fixture = JSON.parse(fs.readFileSync(new URL('./fixtures/metrics-core/frames.json', import.meta.url), 'utf8')) as {
  frames: FixtureFrame[];
};

function uint8Frame(f: FixtureFrame, which: 'gt' | 'pred'): Frame {
  return { data: new Uint8Array(Buffer.from(f[which], 'base64')), width: f.width, height: f.height, channels: f.channels };
}

function float32Frame(frame: Frame): Frame {
  return { ...frame, data: Float32Array.from(frame.data, (v) => Math.fround(v / 255)) };
}

function assertClose(actual: number, expected: number, rel: number, what: string): void {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-12);
  assert.ok(err <= rel, `${what}: got ${actual}, expected ${expected} (relative error ${err.toExponential(2)} > ${rel})`);
}

const VARIANTS: SsimVariant[] = ['ssim', 'ssim-skimage-default'];

describe('PSNR and SSIM agree with scikit-image on real photographs', () => {
  for (const f of fixture.frames) {
    it(`${f.name} ${f.width}x${f.height}, uint8, RGB and Y channel, with and without border crop`, () => {
      const gt = uint8Frame(f, 'gt');
      const pred = uint8Frame(f, 'pred');
      for (const c of f.uint8) {
        const label = `${f.name} ${JSON.stringify(c.options)}`;
        // PSNR is within 1e-6 dB and SSIM within 1e-6 (the bar), in practice ~1e-12.
        assert.ok(Math.abs(psnr(pred, gt, c.options) - c.psnr) < 1e-9, `${label} psnr ${psnr(pred, gt, c.options)} vs ${c.psnr}`);
        for (const variant of VARIANTS) {
          const got = ssim(pred, gt, { ...c.options, variant });
          assert.ok(Math.abs(got - c[variant]) < 1e-10, `${label} ${variant}: ${got} vs ${c[variant]}`);
        }
      }
    });

    it(`${f.name}: float32 frames in [0, 1] give scikit-image's numbers with data_range 1`, () => {
      const gt = float32Frame(uint8Frame(f, 'gt'));
      const pred = float32Frame(uint8Frame(f, 'pred'));
      for (const c of f.float32) {
        assertClose(psnr(pred, gt, c.options), c.psnr, 1e-12, `${f.name} float psnr`);
        for (const variant of VARIANTS) assertClose(ssim(pred, gt, { ...c.options, variant }), c[variant], 1e-10, `${f.name} float ${variant}`);
      }
    });
  }
});

describe('PSNR and SSIM edge cases', () => {
  const base = fixture.frames[0]!;
  const gt = uint8Frame(base, 'gt');

  it('identical frames: PSNR is +Infinity (not an error), SSIM is exactly 1', () => {
    assert.equal(psnr(gt, gt), Infinity);
    assert.equal(psnr(gt, gt, { yChannel: true, crop: 2 }), Infinity);
    assert.ok(Math.abs(ssim(gt, gt) - 1) < 1e-15);
    assert.ok(Math.abs(ssim(gt, gt, { variant: 'ssim-skimage-default' }) - 1) < 1e-15);
  });

  it('closed form: a constant offset of 5 gives PSNR 20 log10(255/5) and the default data range follows the type', () => {
    const a = new Uint8Array(30 * 20 * 3).fill(100);
    const b = new Uint8Array(30 * 20 * 3).fill(105);
    const fa = { data: a, width: 30, height: 20, channels: 3 };
    const fb = { data: b, width: 30, height: 20, channels: 3 };
    assertClose(psnr(fa, fb), 20 * Math.log10(255 / 5), 1e-14, 'uint8');
    const ff = (v: number): Frame => ({ data: new Float32Array(30 * 20 * 3).fill(v), width: 30, height: 20, channels: 3 });
    assertClose(psnr(ff(0.5), ff(0.25)), 20 * Math.log10(1 / 0.25), 1e-14, 'float');
    assertClose(psnr(fa, fb, { dataRange: 1000 }), 20 * Math.log10(1000 / 5), 1e-14, 'explicit range');
  });

  it('bad input is refused with a message naming the frame and the problem', () => {
    const small = { data: new Uint8Array(10 * 10 * 3), width: 10, height: 10, channels: 3 };
    assert.throws(() => ssim(small, small, {}, 'seq/0001.png'), (e: unknown) => {
      return e instanceof UsageError && /seq\/0001\.png: SSIM \(ssim\) needs frames of at least 11x11 pixels after cropping, got 10x10/.test(e.message);
    });
    const other = { ...gt, width: gt.width - 1, data: gt.data.subarray(0, (gt.width - 1) * gt.height * 3) };
    assert.throws(() => psnr(other, gt, {}, 'a/b.png'), /a\/b\.png: size mismatch, prediction is 60x47x3, ground truth is 61x47x3/);
    assert.throws(() => psnr({ ...gt, data: gt.data.subarray(1) }, gt), /data has 8600 values, expected width\*height\*channels/);
    assert.throws(() => psnr(float32Frame(gt), gt), /one frame is 8-bit and the other float/);
    const gray = { data: new Uint8Array(20 * 20), width: 20, height: 20, channels: 1 };
    assert.throws(() => psnr(gray, gray, { yChannel: true }), /the Y channel needs RGB frames \(3 channels\), got 1/);
    assert.throws(() => psnr(gt, gt, { crop: 24 }), /crop 24 leaves nothing of a 61x47 frame/);
    assert.throws(() => ssim(gt, gt, { variant: 'msssim' as SsimVariant }), /unknown SSIM variant "msssim"/);
  });

  it('the Y channel of a gray frame is the BT.601 luma of its value (PSNR of two grays)', () => {
    // Gray v -> Y = 16 + 219 v / 255; two grays 10 apart differ by 219*10/255 in Y.
    const g = (v: number): Frame => ({ data: new Uint8Array(16 * 16 * 3).fill(v), width: 16, height: 16, channels: 3 });
    assertClose(psnr(g(50), g(60), { yChannel: true }), 20 * Math.log10(255 / ((219 * 10) / 255)), 1e-12, 'Y psnr');
  });

  it('speed: SSIM and PSNR of a 1280x720 RGB frame (logged, not asserted)', () => {
    const w = 1280;
    const h = 720;
    const a = new Uint8Array(w * h * 3);
    const b = new Uint8Array(w * h * 3);
    for (let i = 0; i < a.length; i++) {
      a[i] = (i * 7919) % 251;
      b[i] = Math.min(255, a[i]! + ((i * 31) % 9));
    }
    const fa = { data: a, width: w, height: h, channels: 3 };
    const fb = { data: b, width: w, height: h, channels: 3 };
    ssim(fa, fb); // warm up the JIT
    let t = performance.now();
    const s = ssim(fa, fb);
    const ssimMs = performance.now() - t;
    t = performance.now();
    const p = psnr(fa, fb);
    const psnrMs = performance.now() - t;
    assert.ok(s > 0.99 && s < 1 && p > 30 && p < 40);
    console.log(`# speed 1280x720 RGB: ssim ${ssimMs.toFixed(0)} ms, psnr ${psnrMs.toFixed(0)} ms (wall, shared machine)`);
  });
});
