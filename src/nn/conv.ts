/**
 * 2-D convolution, NHWC, with gradients that avoid wasm's missing Conv2DBackpropFilter and its slow
 * transposed kernels (wasm-perf.md §2):
 *   dX (stride 1): a conv of dy with the flipped, in/out-swapped kernel;
 *   dW: the batch↔channel "convtrick", a VALID conv of xᵀ ([Ci,H,W,N]) with dy as the filter;
 *   stride 2: dX by a 2x2 phase conv and a rank-4 depth-to-space, dW by a dilated convtrick.
 */
import * as tf from '@tensorflow/tfjs';
import { dense } from './dense.ts';
import { nativeGradients, withGrad } from './custom.ts';
import { reshape } from './elementwise.ts';
import { fusedConv, fusedConvApplies, fusedFilterGrad, fusedFlipSwap } from './conv-wasm.ts';

export type ConvPadding = 'same' | 'valid';

export interface Pads {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

type PadArg = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** TF padding for stride 1: 'same' puts the odd extra row/column at the bottom/right. */
function stride1Pads(kh: number, kw: number, padding: ConvPadding): Pads {
  if (padding === 'valid') return { top: 0, bottom: 0, left: 0, right: 0 };
  const top = Math.floor((kh - 1) / 2);
  const left = Math.floor((kw - 1) / 2);
  return { top, bottom: kh - 1 - top, left, right: kw - 1 - left };
}

function padArg(p: Pads): PadArg {
  if (p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0) return 'valid';
  return [
    [0, 0],
    [p.top, p.bottom],
    [p.left, p.right],
    [0, 0],
  ];
}

function padInput(x: tf.Tensor4D, p: Pads): tf.Tensor4D {
  if (p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0) return x;
  return tf.pad(x, [
    [0, 0],
    [p.top, p.bottom],
    [p.left, p.right],
    [0, 0],
  ]);
}

/** w: [kh,kw,Ci,Co] → flipped in space, in/out swapped: [kh,kw,Co,Ci] (one heap pass on wasm). */
function flipSwap(w: tf.Tensor4D): tf.Tensor4D {
  return fusedFlipSwap(w) ?? tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]);
}

/**
 * dW[kh,kw,ci,co] = Σ_{n,h,w} xpad[n, h·s+kh, w·s+kw, ci] · dy[n,h,w,co]: the generated wasm kernel
 * (./conv-wasm.ts) where it applies, else a VALID conv of xpadᵀ [Ci,Hp,Wp,N] with dy as the filter
 * [Ho,Wo,N,Co] (dilation s plays the stride).
 */
function filterGrad(xPadded: tf.Tensor4D, dy: tf.Tensor4D, stride: number, kh: number, kw: number): tf.Tensor4D {
  const fused = fusedFilterGrad(xPadded, dy, kh, kw, stride);
  if (fused) return fused;
  const xT = tf.transpose(xPadded, [3, 1, 2, 0]);
  const dyF = tf.transpose(dy, [1, 2, 0, 3]);
  const r = tf.conv2d(xT, dyF, 1, 'valid', 'NHWC', [stride, stride]);
  return tf.transpose(r, [1, 2, 0, 3]);
}

/**
 * A conv at `stride` with explicit zero padding: divd's wasm kernel on the padded input where it applies
 * (./conv-wasm.ts), else tf.conv2d, which pads internally. No gradient of its own (the metric networks'
 * inference convs use it too).
 */
export function convWithPads(x: tf.Tensor4D, w: tf.Tensor4D, p: Pads, stride: number): tf.Tensor4D {
  if (!fusedConvApplies(w)) return tf.conv2d(x, w, stride, padArg(p));
  const padded = padInput(x, p);
  const out = fusedConv(padded, w, stride)!;
  if (padded !== x) padded.dispose();
  return out;
}

/** Forward of a stride-1 conv with explicit zero padding (no gradient of its own: for use inside custom ops). */
export function conv2dPadded(x: tf.Tensor4D, w: tf.Tensor4D, p: Pads): tf.Tensor4D {
  return convWithPads(x, w, p, 1);
}

/** dX of conv2dPadded: a conv of dy padded by (k−1−pad) on each side with the flipped, in/out-swapped kernel. */
export function inputGradPadded(dy: tf.Tensor4D, w: tf.Tensor4D, p: Pads): tf.Tensor4D {
  const [kh, kw] = w.shape;
  return convWithPads(dy, flipSwap(w), { top: kh - 1 - p.top, bottom: kh - 1 - p.bottom, left: kw - 1 - p.left, right: kw - 1 - p.right }, 1);
}

/** dW of conv2dPadded (the convtrick on the padded input). */
export function filterGradPadded(x: tf.Tensor4D, dy: tf.Tensor4D, p: Pads): tf.Tensor4D {
  const xp = padInput(x, p);
  return filterGrad(xp, dy, 1, xp.shape[1] - dy.shape[1] + 1, xp.shape[2] - dy.shape[2] + 1);
}

/**
 * A conv with its gradient. Where divd's conv kernel runs (it takes the padded input), the padded input is
 * what the forward saves, so the filter gradient reuses it instead of padding x a second time; the padded
 * copy replaces x among the saved tensors (x is usually freed: the conv is the only reader of its input).
 */
function convOp(p: Pads, stride: 1 | 2, dxOf: (dy: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D) {
  let savedPadded = false;
  return withGrad<[tf.Tensor4D, tf.Tensor4D], tf.Tensor4D>(
    ([xi, wi], save) => {
      if (fusedConvApplies(wi)) {
        const xp = padInput(xi, p);
        savedPadded = true;
        save([xp, wi]);
        const out = fusedConv(xp, wi, stride)!;
        if (xp !== xi) xp.dispose(); // save() holds its own reference
        return out;
      }
      save([xi, wi]);
      return convWithPads(xi, wi, p, stride);
    },
    (dy, [xs, wi]) => {
      const xp = savedPadded ? (xs as tf.Tensor4D) : padInput(xs as tf.Tensor4D, p);
      const [kh, kw] = (wi as tf.Tensor4D).shape;
      return [dxOf(dy, wi as tf.Tensor4D), filterGrad(xp, dy, stride, kh, kw)];
    },
  );
}

function conv2dStride1(x: tf.Tensor4D, w: tf.Tensor4D, p: Pads): tf.Tensor4D {
  return convOp(p, 1, (dy, wi) => inputGradPadded(dy, wi, p))(x, w);
}

/** A stride-2 3x3 conv's input gradient as four 2x2 phase kernels: [3,3,Ci,Co] → [2,2,Co,4·Ci]. */
function phaseKernel(w: tf.Tensor4D): tf.Tensor4D {
  const [, , ci, co] = w.shape;
  // Tap a ∈ {0,1} reads dy at offset a-1. Even output rows take w row 2 (a=0) and row 0 (a=1);
  // odd rows take nothing (index 3, a zero row) and row 1.
  const rows = [
    [2, 3],
    [0, 1],
  ];
  const wz = tf.pad(tf.transpose(w, [0, 1, 3, 2]), [
    [0, 1],
    [0, 1],
    [0, 0],
    [0, 0],
  ]); // [4,4,Co,Ci], row/col 3 = 0
  const flat = tf.reshape(tf.transpose(wz, [2, 0, 1, 3]), [co, 16, ci]);
  const idx: number[] = [];
  for (let a = 0; a < 2; a++)
    for (let b = 0; b < 2; b++)
      for (let pr = 0; pr < 2; pr++) for (let pc = 0; pc < 2; pc++) idx.push(rows[a]![pr]! * 4 + rows[b]![pc]!);
  const g = tf.gather(flat, tf.tensor1d(idx, 'int32'), 1); // [Co, (a,b,pr,pc), Ci]
  const k = tf.transpose(tf.reshape(g, [co, 4, 4 * ci]), [1, 0, 2]); // [(a,b), Co, (pr,pc,ci)]
  return tf.reshape(k, [2, 2, co, 4 * ci]);
}

/** [N,Ho,Wo,4C] with channels (pr,pc,c) → [N,2Ho,2Wo,C], via rank-4 transposes (DepthToSpace is 15x slower). */
export function depthToSpace2(z: tf.Tensor4D): tf.Tensor4D {
  const [n, ho, wo, c4] = z.shape;
  const c = c4 / 4;
  const t = tf.transpose(tf.reshape(z, [n * ho, wo, 2, 2 * c]), [0, 2, 1, 3]);
  return tf.reshape(t, [n, 2 * ho, 2 * wo, c]);
}

function conv3x3Stride2(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  // TF 'same' at stride 2 on even sizes pads one row/column at the bottom/right only.
  const pads = { top: 0, bottom: 1, left: 0, right: 1 };
  const dx = (dy: tf.Tensor4D, wi: tf.Tensor4D): tf.Tensor4D => {
    const dyPadded = tf.pad(dy, [
      [0, 0],
      [1, 0],
      [1, 0],
      [0, 0],
    ]);
    return depthToSpace2(convWithPads(dyPadded, phaseKernel(wi), { top: 0, bottom: 0, left: 0, right: 0 }, 1));
  };
  return convOp(pads, 2, dx)(x, w);
}

/**
 * conv2d(x: [N,H,W,Ci], w: [kh,kw,Ci,Co]) → [N,Ho,Wo,Co], TF padding semantics.
 * Supported: any kernel at stride 1 ('same' or 'valid'); 3x3 'same' at stride 2 on even H and W
 * (the UNet's down-sampling); 1x1 at stride 1 runs as a dense layer.
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride: 1 | 2 = 1, padding: ConvPadding = 'same'): tf.Tensor4D {
  const [n, h, wd, ci] = x.shape;
  const [kh, kw, wci, co] = w.shape;
  if (wci !== ci) throw new Error(`conv2d: input has ${ci} channels but the kernel expects ${wci} (kernel ${w.shape})`);
  if (nativeGradients()) return tf.conv2d(x, w, stride, padding);
  if (stride === 1) {
    if (kh === 1 && kw === 1) {
      const y = dense(reshape<tf.Rank.R2>(x, [n * h * wd, ci]), reshape<tf.Rank.R2>(w, [ci, co]));
      return reshape<tf.Rank.R4>(y, [n, h, wd, co]);
    }
    return conv2dStride1(x, w, stride1Pads(kh, kw, padding));
  }
  if (stride === 2 && kh === 3 && kw === 3 && padding === 'same') {
    if (h % 2 !== 0 || wd % 2 !== 0) {
      throw new Error(`conv2d stride 2 needs even height and width, got ${h}x${wd} (pad the input to a multiple of 2)`);
    }
    return conv3x3Stride2(x, w);
  }
  throw new Error(`conv2d: unsupported ${kh}x${kw} kernel at stride ${stride} with '${padding}' padding`);
}
