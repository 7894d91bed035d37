/**
 * Relative position indices for the MRPE bias table, built once per window size (and frame count).
 *
 * Swin's formula: for tokens t, s of an M×M window with coordinates (y, x),
 *   index[t, s] = (y_t − y_s + M − 1) · (2M − 1) + (x_t − x_s + M − 1),
 * a row of a (2M−1)² × heads table. WTSA's tokens are (frame, y, x) with the frame outermost; the
 * paper's bias is spatial, so every frame pair shares the same spatial offsets.
 */

/** Rows of the bias table for window size M: (2M − 1)². */
export function relativeTableSize(window: number): number {
  return (2 * window - 1) ** 2;
}

/**
 * The bias table's locality start for window M and `heads` heads ([(2M−1)², heads], row-major): row
 * (dy + M − 1)·(2M − 1) + (dx + M − 1) holds −slope·√(dy² + dx²) for every head, so the zero offset (the
 * same position, in this frame and every other) starts most attended.
 */
export function localityBias(window: number, heads: number, slope: number): Float32Array {
  const side = 2 * window - 1;
  const out = new Float32Array(side * side * heads);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      const dy = r - (window - 1);
      const dx = c - (window - 1);
      // 0 − x, not −x: the zero offset stores +0, not −0.
      out.fill(0 - slope * Math.hypot(dy, dx), (r * side + c) * heads, (r * side + c + 1) * heads);
    }
  }
  return out;
}

/** index[t·M² + s] for the M² tokens of one frame's window (Swin's `relative_position_index`). */
export function relativePositionIndex(window: number): Int32Array {
  const m = window;
  const t = m * m;
  const out = new Int32Array(t * t);
  for (let a = 0; a < t; a++) {
    const ya = Math.floor(a / m);
    const xa = a % m;
    for (let b = 0; b < t; b++) {
      const yb = Math.floor(b / m);
      const xb = b % m;
      out[a * t + b] = (ya - yb + m - 1) * (2 * m - 1) + (xa - xb + m - 1);
    }
  }
  return out;
}

const cache = new Map<string, Int32Array>();

/**
 * index over the F·M² tokens of a frame window (token = (f·M + y)·M + x): the spatial index of the
 * two tokens' in-frame positions, whatever their frames. Cached: the same array comes back for the
 * same (M, F), which also lets the op layer cache its gather op per index.
 */
export function frameWindowRelativeIndex(window: number, frames: number): Int32Array {
  const key = `${window}x${frames}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const spatial = relativePositionIndex(window);
  const t = window * window;
  const n = frames * t;
  const out = new Int32Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) out[a * n + b] = spatial[(a % t) * t + (b % t)]!;
  }
  cache.set(key, out);
  return out;
}
