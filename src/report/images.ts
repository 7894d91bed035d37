/**
 * Small RGBA image operations for the qualitative figures: decode/encode PNG (pngjs, pure JS), crop,
 * area-average downscale, nearest-neighbour zoom, rectangle outline, and choice of a detailed inset region.
 */
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';

/** RGBA, 8 bits per channel, row-major. */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function readPng(file: string): Rgba {
  const png = PNG.sync.read(readFileSync(file));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
}

export function encodePng(img: Rgba): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length);
  return PNG.sync.write(png, { colorType: 6 });
}

export function pngDataUri(img: Rgba): string {
  return `data:image/png;base64,${encodePng(img).toString('base64')}`;
}

export function crop(img: Rgba, r: Rect): Rgba {
  const out = new Uint8Array(r.w * r.h * 4);
  for (let y = 0; y < r.h; y++) {
    const src = ((r.y + y) * img.width + r.x) * 4;
    out.set(img.data.subarray(src, src + r.w * 4), y * r.w * 4);
  }
  return { width: r.w, height: r.h, data: out };
}

/** Area-average downscale to `width` (aspect kept); images already that small are returned as they are. */
export function downscale(img: Rgba, width: number): Rgba {
  if (img.width <= width) return img;
  const height = Math.max(1, Math.round((img.height * width) / img.width));
  const out = new Uint8Array(width * height * 4);
  const sx = img.width / width;
  const sy = img.height / height;
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor(y * sy);
    const y1 = Math.max(y0 + 1, Math.floor((y + 1) * sy));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor(x * sx);
      const x1 = Math.max(x0 + 1, Math.floor((x + 1) * sx));
      const acc = [0, 0, 0, 0];
      for (let yy = y0; yy < y1; yy++) {
        for (let xx = x0; xx < x1; xx++) {
          const i = (yy * img.width + xx) * 4;
          for (let c = 0; c < 4; c++) acc[c]! += img.data[i + c]!;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      for (let c = 0; c < 4; c++) out[(y * width + x) * 4 + c] = Math.round(acc[c]! / n);
    }
  }
  return { width, height, data: out };
}

/** Nearest-neighbour enlargement by an integer factor: the zoomed inset shows pixels, not interpolation. */
export function zoom(img: Rgba, factor: number): Rgba {
  const width = img.width * factor;
  const height = img.height * factor;
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (Math.floor(y / factor) * img.width + Math.floor(x / factor)) * 4;
      out.set(img.data.subarray(s, s + 4), (y * width + x) * 4);
    }
  }
  return { width, height, data: out };
}

/** Copy with a `thickness`-pixel outline of `r` drawn in `color` (RGB). */
export function outline(img: Rgba, r: Rect, color: [number, number, number], thickness = 2): Rgba {
  const data = new Uint8Array(img.data);
  const put = (x: number, y: number) => {
    if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
    const i = (y * img.width + x) * 4;
    data[i] = color[0];
    data[i + 1] = color[1];
    data[i + 2] = color[2];
    data[i + 3] = 255;
  };
  for (let t = 0; t < thickness; t++) {
    for (let x = r.x - t; x < r.x + r.w + t; x++) {
      put(x, r.y - 1 - t);
      put(x, r.y + r.h + t);
    }
    for (let y = r.y - 1 - t; y <= r.y + r.h + t; y++) {
      put(r.x - 1 - t, y);
      put(r.x + r.w + t, y);
    }
  }
  return { width: img.width, height: img.height, data };
}

/** Sum of absolute horizontal and vertical luminance differences per pixel: where detail (and blur) shows. */
function gradientEnergy(img: Rgba): Float64Array {
  const { width, height, data } = img;
  const lum = new Float64Array(width * height);
  for (let i = 0; i < width * height; i++) lum[i] = 0.299 * data[i * 4]! + 0.587 * data[i * 4 + 1]! + 0.114 * data[i * 4 + 2]!;
  const g = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const dx = x + 1 < width ? Math.abs(lum[i + 1]! - lum[i]!) : 0;
      const dy = y + 1 < height ? Math.abs(lum[i + width]! - lum[i]!) : 0;
      g[i] = dx + dy;
    }
  }
  return g;
}

/**
 * The square region (side ≈ a quarter of the shorter edge) with the most gradient energy in `img`, searched
 * on a grid of step side/4 with a summed-area table. Deterministic; ties go to the top-left-most region.
 */
export function detailRegion(img: Rgba): Rect {
  const side = Math.max(4, Math.floor(Math.min(img.width, img.height) / 4));
  const g = gradientEnergy(img);
  const W = img.width + 1;
  const sat = new Float64Array(W * (img.height + 1));
  for (let y = 0; y < img.height; y++) {
    let row = 0;
    for (let x = 0; x < img.width; x++) {
      row += g[y * img.width + x]!;
      sat[(y + 1) * W + x + 1] = sat[y * W + x + 1]! + row;
    }
  }
  const sum = (x: number, y: number) => sat[(y + side) * W + x + side]! - sat[y * W + x + side]! - sat[(y + side) * W + x]! + sat[y * W + x]!;
  const step = Math.max(1, Math.floor(side / 4));
  let best: Rect = { x: 0, y: 0, w: side, h: side };
  let bestE = -1;
  for (let y = 0; y + side <= img.height; y += step) {
    for (let x = 0; x + side <= img.width; x += step) {
      const e = sum(x, y);
      if (e > bestE) {
        bestE = e;
        best = { x, y, w: side, h: side };
      }
    }
  }
  return best;
}

/** Scales a rectangle from full-frame coordinates to a downscaled copy's. */
export function scaleRect(r: Rect, fromWidth: number, toWidth: number): Rect {
  const s = toWidth / fromWidth;
  return { x: Math.round(r.x * s), y: Math.round(r.y * s), w: Math.max(1, Math.round(r.w * s)), h: Math.max(1, Math.round(r.h * s)) };
}
