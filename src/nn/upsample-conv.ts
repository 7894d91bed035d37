/**
 * Nearest 2x up-sampling followed by a 3x3 'same' convolution, computed on the low-resolution input.
 * Output pixel (2i+p, 2j+q) of conv3x3(up2(x)) reads up-sampled rows 2i+p−1 … 2i+p+1, which are only two
 * distinct input rows: i−1, i (p = 0, kernel rows {0} and {1,2} summed) or i, i+1 (p = 1, rows {0,1} and
 * {2}); likewise for columns. So each of the four output phases (p, q) is a 2x2 convolution of x with a
 * kernel of summed taps: 16 multiply-adds per input pixel and channel pair instead of 36 (2.25x fewer), and
 * the 4x larger up-sampled tensor is never made. The phases interleave into the output with two rank-4
 * transposes; the backward picks each phase's gradient with a strided one-hot depthwise convolution
 * (XNNPACK; strided slices are slow on wasm, wasm-perf.md §4) and reuses conv.ts's formulations.
 */
import * as tf from '@tensorflow/tfjs';
import { withGrad, nativeGradients } from './custom.ts';
import { conv2d, conv2dPadded, filterGradPadded, inputGradPadded, type Pads } from './conv.ts';
import { upsampleNearest2x } from './upsample.ts';

type Phase = 0 | 1;
/** Output phases (p, q): row and column parity of the output pixel; their order is the interleave's. */
const PHASES: readonly [Phase, Phase][] = [
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
];

/** Which 3x3 kernel rows (or columns) each of a phase's two taps sums: S[p][tap]. */
const SUMMED: readonly (readonly (readonly number[])[])[] = [
  [[0], [1, 2]],
  [[0, 1], [2]],
];

/** Mix: [16, 9], row (p,q,r,c), column (a,b): 1 when kernel tap (a,b) is summed into tap (r,c) of phase (p,q). */
function mixMatrix(): number[][] {
  const rows: number[][] = [];
  for (const [p, q] of PHASES) {
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 2; c++) {
        const row = new Array<number>(9).fill(0);
        for (const a of SUMMED[p]![r]!) for (const b of SUMMED[q]![c]!) row[a * 3 + b] = 1;
        rows.push(row);
      }
    }
  }
  return rows;
}

const constants = new Map<string, tf.Tensor>();

/**
 * A constant tensor kept across calls (per backend): XNNPACK packs an operator per filter/weight tensor, and a
 * fresh one every step would be repacked every step.
 */
function constant<T extends tf.Tensor>(name: string, make: () => T): T {
  const key = `${tf.getBackend()}:${name}`;
  const cached = constants.get(key);
  if (cached && !cached.isDisposed) return cached as T;
  const t = tf.keep(make());
  constants.set(key, t);
  return t;
}

/** The four phase kernels [2,2,Ci,Co] of w: [3,3,Ci,Co], in PHASES order, from one small matMul. */
function phaseKernels(w: tf.Tensor4D): tf.Tensor4D[] {
  const [, , ci, co] = w.shape;
  const mix = constant('mix', () => tf.tensor2d(mixMatrix()));
  const all = tf.matMul(mix, tf.reshape(w, [9, ci * co])); // [16, Ci·Co]
  return tf.split(all, 4, 0).map((k) => tf.reshape(k, [2, 2, ci, co]) as tf.Tensor4D);
}

/** The adjoint of phaseKernels: dW [3,3,Ci,Co] from the four phase kernels' gradients. */
function kernelGradient(dks: tf.Tensor4D[], ci: number, co: number): tf.Tensor4D {
  const mixT = constant('mixT', () => tf.transpose(tf.tensor2d(mixMatrix())));
  const all = tf.concat(dks.map((d) => tf.reshape(d, [4, ci * co])), 0); // [16, Ci·Co]
  return tf.reshape(tf.matMul(mixT, all), [3, 3, ci, co]);
}

/** Phase p reads input rows i−1, i (p = 0: one zero row on top) or i, i+1 (p = 1: one at the bottom). */
function phasePads(p: Phase, q: Phase): Pads {
  return { top: 1 - p, bottom: p, left: 1 - q, right: q };
}

/** [4·N, H, W, C] with the phases (p, q) as four blocks of N images → [N, 2H, 2W, C]. */
function interleave(phases: tf.Tensor4D, n: number): tf.Tensor4D {
  const [, h, w, c] = phases.shape;
  // [p, q, N·H, W·C] → [N·H, p, q, W·C] → [N·H·p, q, W, C] → [N·H·p, W, q, C] = [N, 2H, 2W, C].
  const a = tf.transpose(tf.reshape(phases, [2, 2, n * h, w * c]), [2, 0, 1, 3]);
  const b = tf.transpose(tf.reshape(a, [n * h * 2, 2, w, c]), [0, 2, 1, 3]);
  return tf.reshape(b, [n, 2 * h, 2 * w, c]);
}

/** One-hot 2x2 depthwise filters that pick phase (p, q) of every channel at stride 2. */
function pickFilter(p: Phase, q: Phase, channels: number): tf.Tensor4D {
  return constant(`pick${p}${q}:${channels}`, () => {
    const f = new Float32Array(4 * channels);
    f.fill(1, (p * 2 + q) * channels, (p * 2 + q + 1) * channels);
    return tf.tensor4d(f, [2, 2, channels, 1]);
  });
}

const upsampleConvOp = withGrad<[tf.Tensor4D, tf.Tensor4D], tf.Tensor4D>(
  ([x, w], save) => {
    const kernels = phaseKernels(w);
    save([x, ...kernels]);
    const ys = PHASES.map(([p, q], i) => conv2dPadded(x, kernels[i]!, phasePads(p, q)));
    return interleave(tf.concat(ys, 0) as tf.Tensor4D, x.shape[0]);
  },
  (dy, [xs, ...kernels]) => {
    const x = xs as tf.Tensor4D;
    const [ci, co] = [x.shape[3], dy.shape[3]];
    let dx: tf.Tensor4D | undefined;
    const dks: tf.Tensor4D[] = [];
    PHASES.forEach(([p, q], i) => {
      const dyPhase = tf.depthwiseConv2d(dy, pickFilter(p, q, co), 2, 'valid');
      const pads = phasePads(p, q);
      const dxPhase = inputGradPadded(dyPhase, kernels[i] as tf.Tensor4D, pads);
      dx = dx ? (tf.add(dx, dxPhase) as tf.Tensor4D) : dxPhase;
      dks.push(filterGradPadded(x, dyPhase, pads));
    });
    return [dx!, kernelGradient(dks, ci, co)];
  },
);

/**
 * conv2d(upsampleNearest2x(x), w, 1, 'same') for x: [N,H,W,Ci] and a 3x3 kernel w: [3,3,Ci,Co] →
 * [N,2H,2W,Co], exactly (up to float rounding), with 2.25x fewer multiply-adds in forward and backward.
 */
export function upsampleConv3x3(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, ci] = w.shape;
  if (kh !== 3 || kw !== 3) throw new Error(`upsampleConv3x3: needs a 3x3 kernel, got ${kh}x${kw}`);
  if (ci !== x.shape[3]) throw new Error(`upsampleConv3x3: input has ${x.shape[3]} channels but the kernel expects ${ci}`);
  if (nativeGradients()) return conv2d(upsampleNearest2x(x), w, 1, 'same');
  return upsampleConvOp(x, w);
}
