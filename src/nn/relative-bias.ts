/**
 * Relative-position-bias gather: bias[t, head, s] = table[index[t·T + s], head].
 * tf.gather's gradient needs UnsortedSegmentSum, which wasm lacks; the table is tiny, so both
 * directions run as a JS loop over the synced table (0.7 ms forward, wasm-perf.md).
 */
import * as tf from '@tensorflow/tfjs';
import { withGrad } from './custom.ts';

function makeOp(index: Int32Array, tokens: number) {
  // The index is fixed per op, so its range is checked once per call, not once per entry.
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of index) {
    lo = Math.min(lo, r);
    hi = Math.max(hi, r);
  }
  return withGrad<[tf.Tensor2D], tf.Tensor3D>(
    ([table], save) => {
      save([table]);
      const [rows, heads] = table.shape;
      if (lo < 0 || hi >= rows) throw new Error(`relative bias index range [${lo}, ${hi}] is outside the table's ${rows} rows`);
      const tab = table.dataSync();
      const out = new Float32Array(tokens * heads * tokens);
      for (let t = 0; t < tokens; t++) {
        for (let s = 0; s < tokens; s++) {
          const r = index[t * tokens + s]!;
          for (let h = 0; h < heads; h++) out[(t * heads + h) * tokens + s] = tab[r * heads + h]!;
        }
      }
      return tf.tensor3d(out, [tokens, heads, tokens]);
    },
    (dy, saved) => {
      const [rows, heads] = saved[0]!.shape as [number, number];
      const g = dy.dataSync();
      const dTable = new Float32Array(rows * heads);
      for (let t = 0; t < tokens; t++) {
        for (let s = 0; s < tokens; s++) {
          const r = index[t * tokens + s]!;
          for (let h = 0; h < heads; h++) dTable[r * heads + h]! += g[(t * heads + h) * tokens + s]!;
        }
      }
      return [tf.tensor2d(dTable, [rows, heads])];
    },
  );
}

const ops = new WeakMap<Int32Array, ReturnType<typeof makeOp>>();

/**
 * table: [R, h] learnable; index: Int32Array of T·T row numbers (built once per window size, e.g.
 * by the model's relative-position index) → [T, h, T], ready for windowAttention's `bias`.
 */
export function gatherRelativeBias(table: tf.Tensor2D, index: Int32Array): tf.Tensor3D {
  const tokens = Math.round(Math.sqrt(index.length));
  if (tokens * tokens !== index.length) throw new Error(`relative bias index has ${index.length} entries, not T·T`);
  let op = ops.get(index);
  if (!op) ops.set(index, (op = makeOp(index, tokens)));
  return op(table);
}

/** Plain formulation with tf.gather (the test reference; its gradient fails on wasm). */
export function gatherRelativeBiasReference(table: tf.Tensor2D, index: Int32Array): tf.Tensor3D {
  const tokens = Math.round(Math.sqrt(index.length));
  const g = tf.gather(table, tf.tensor1d(index, 'int32')); // [T·T, h]
  return tf.transpose(tf.reshape(g, [tokens, tokens, table.shape[1]]), [0, 2, 1]);
}
