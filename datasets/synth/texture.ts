/**
 * Procedural scene textures. Deblurring is learned from edges and texture, so the background stacks the
 * kinds of structure real footage has: smooth colour fields with fine noise, flat shapes with hard
 * boundaries, stripes, and rows of thin strokes that look like text.
 */
import type { SeededRandom } from '../random.ts';

/** An RGB image in gamma-encoded [0, 1], HWC, used as the world the camera looks at. */
export interface Canvas {
  width: number;
  height: number;
  data: Float32Array;
}

type Rgb = [number, number, number];

const randomColour = (rng: SeededRandom): Rgb => [rng.next(), rng.next(), rng.next()];

/** Smooth value noise in [0, 1]: random values on a grid of `cell` pixels, smoothstep-interpolated. */
function valueNoise(rng: SeededRandom, width: number, height: number, cell: number): Float32Array {
  const gw = Math.ceil(width / cell) + 2;
  const gh = Math.ceil(height / cell) + 2;
  const grid = new Float32Array(gw * gh).map(() => rng.next());
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const gy = y / cell;
    const iy = Math.floor(gy);
    const sy = (gy - iy) * (gy - iy) * (3 - 2 * (gy - iy));
    for (let x = 0; x < width; x++) {
      const gx = x / cell;
      const ix = Math.floor(gx);
      const sx = (gx - ix) * (gx - ix) * (3 - 2 * (gx - ix));
      const a = grid[iy * gw + ix]!;
      const b = grid[iy * gw + ix + 1]!;
      const c = grid[(iy + 1) * gw + ix]!;
      const d = grid[(iy + 1) * gw + ix + 1]!;
      out[y * width + x] = (a * (1 - sx) + b * sx) * (1 - sy) + (c * (1 - sx) + d * sx) * sy;
    }
  }
  return out;
}

function paintPixel(canvas: Canvas, x: number, y: number, c: Rgb, alpha = 1): void {
  const i = (y * canvas.width + x) * 3;
  for (let k = 0; k < 3; k++) canvas.data[i + k] = canvas.data[i + k]! * (1 - alpha) + c[k]! * alpha;
}

function paintRect(canvas: Canvas, x0: number, y0: number, w: number, h: number, fill: (x: number, y: number) => Rgb): void {
  for (let y = Math.max(0, Math.floor(y0)); y < Math.min(canvas.height, Math.ceil(y0 + h)); y++)
    for (let x = Math.max(0, Math.floor(x0)); x < Math.min(canvas.width, Math.ceil(x0 + w)); x++) paintPixel(canvas, x, y, fill(x, y));
}

function paintDisc(canvas: Canvas, cx: number, cy: number, r: number, fill: (x: number, y: number) => Rgb): void {
  for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(canvas.height, Math.ceil(cy + r)); y++)
    for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(canvas.width, Math.ceil(cx + r)); x++)
      if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) paintPixel(canvas, x, y, fill(x, y));
}

/** A thick line segment (hard-edged), the unit of the text-like strokes. */
function paintStroke(canvas: Canvas, x0: number, y0: number, x1: number, y1: number, width: number, c: Rgb): void {
  const len = Math.hypot(x1 - x0, y1 - y0);
  const steps = Math.max(1, Math.ceil(len * 2));
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    paintDisc(canvas, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, width / 2, () => c);
  }
}

/** A fill: flat, stripes at an angle, or a checkerboard — each with hard internal edges. */
export function randomFill(rng: SeededRandom, scale: number): (x: number, y: number) => Rgb {
  const a = randomColour(rng);
  const b = randomColour(rng);
  const kind = rng.pick(['flat', 'flat', 'stripes', 'checker'] as const);
  const period = rng.uniform(3, 10) * scale;
  const theta = rng.uniform(0, Math.PI);
  const [ct, st] = [Math.cos(theta), Math.sin(theta)];
  if (kind === 'flat') return () => a;
  if (kind === 'stripes') return (x, y) => ((Math.floor((x * ct + y * st) / period) & 1) === 0 ? a : b);
  return (x, y) => (((Math.floor(x / period) + Math.floor(y / period)) & 1) === 0 ? a : b);
}

export function proceduralBackground(rng: SeededRandom, width: number, height: number, scale: number): Canvas {
  const canvas: Canvas = { width, height, data: new Float32Array(width * height * 3) };
  // 1. Colour field: two colours mixed by coarse noise, plus fine-grained noise for texture.
  const [c0, c1] = [randomColour(rng), randomColour(rng)];
  const coarse = valueNoise(rng, width, height, 24 * scale);
  const fine = valueNoise(rng, width, height, Math.max(1.5, 2 * scale));
  const grain = rng.uniform(0.05, 0.25);
  for (let p = 0; p < width * height; p++) {
    const m = coarse[p]!;
    const g = (fine[p]! - 0.5) * grain;
    for (let k = 0; k < 3; k++) canvas.data[p * 3 + k] = Math.min(1, Math.max(0, c0[k]! * (1 - m) + c1[k]! * m + g));
  }
  // 2. Shapes with hard boundaries, about one per (20·scale)² pixels of canvas.
  const shapes = Math.round((width * height) / (20 * scale) ** 2);
  for (let s = 0; s < shapes; s++) {
    const fill = randomFill(rng, scale);
    const size = rng.uniform(4, 18) * scale;
    const x = rng.uniform(-size, width);
    const y = rng.uniform(-size, height);
    if (rng.next() < 0.5) paintRect(canvas, x, y, size * rng.uniform(0.5, 2), size * rng.uniform(0.5, 2), fill);
    else paintDisc(canvas, x + size / 2, y + size / 2, size / 2, fill);
  }
  // 3. Text-like blocks: rows of short thin strokes in one ink colour.
  const blocks = Math.max(1, Math.round((width * height) / (48 * scale) ** 2));
  for (let b = 0; b < blocks; b++) {
    const ink: Rgb = rng.next() < 0.5 ? [0.05, 0.05, 0.08] : [0.95, 0.95, 0.9];
    const glyph = rng.uniform(2.5, 4) * scale;
    const x0 = rng.uniform(0, width);
    const y0 = rng.uniform(0, height);
    const rows = rng.int(1, 4);
    const cols = rng.int(3, 10);
    const stroke = Math.max(1, 0.6 * scale);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const gx = x0 + c * glyph * 1.2;
        const gy = y0 + r * glyph * 2;
        const n = rng.int(1, 3);
        for (let k = 0; k < n; k++) {
          paintStroke(canvas, gx + rng.uniform(0, glyph), gy + rng.uniform(0, glyph * 1.5), gx + rng.uniform(0, glyph), gy + rng.uniform(0, glyph * 1.5), stroke, ink);
        }
      }
    }
  }
  return canvas;
}
