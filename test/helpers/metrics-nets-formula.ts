/**
 * The deterministic stand-in weights and images of test/fixtures/metrics-nets/formula.py, reproduced in
 * TypeScript (same float64 arithmetic, then float32), so tests can write weights files the Python
 * reference used without committing megabytes of weights.
 */
import type { WriteTensor } from './pth-writer.ts';

/** Uniform in [-1, 1): Wellons' lowbias32 hash of (i + seed·0x9E3779B9) mod 2^32, exact integer arithmetic. */
function wave(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  const offset = Math.imul(seed, 0x9e3779b9) >>> 0;
  for (let i = 0; i < n; i++) {
    let x = (i + offset) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    x = Math.imul(x, 0x7feb352d) >>> 0;
    x = (x ^ (x >>> 15)) >>> 0;
    x = Math.imul(x, 0x846ca68b) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    out[i] = (2 * x) / 4294967296 - 1;
  }
  return out;
}

export function formulaTensor(key: string, shape: number[], seed: number): WriteTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const w = wave(n, seed);
  let f: (v: number) => number;
  if (key.endsWith('running_var')) f = (v) => 0.75 + 0.5 * Math.abs(v);
  else if (key.endsWith('running_mean') || key.endsWith('bias')) f = (v) => 0.1 * v;
  else if (key.endsWith('bn.weight')) f = (v) => 1 + 0.1 * v;
  else if (key.startsWith('lin')) f = (v) => 0.1 * Math.abs(v);
  else if (shape.length === 4) {
    const s = Math.sqrt(6 / (shape[1]! * shape[2]! * shape[3]!));
    f = (v) => s * v;
  } else f = (v) => 0.01 * v;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = f(w[i]!);
  return { shape, data };
}

/** Seeds 1, 2, ... in layout order, as formula.fill_state_dict numbers them. */
export function formulaStateDict(layout: [string, number[]][]): Map<string, WriteTensor> {
  return new Map(layout.map(([key, shape], i) => [key, formulaTensor(key, shape, i + 1)]));
}

/** [n, h, w, 3] float32 in [0.05, 0.95], as formula.image. */
export function formulaImage(n: number, h: number, w: number, phase: number): Float32Array {
  const out = new Float32Array(n * h * w * 3);
  let i = 0;
  for (let k = 0; k < n; k++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 3; c++)
          out[i++] = 0.5 + 0.45 * Math.sin(0.37 * x * (c + 1) + 0.23 * y + 1.7 * k + 0.5 * c + phase * (1 + 0.05 * y));
  return out;
}
