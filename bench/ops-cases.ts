/**
 * The op benchmark's cases: the shapes of wasm-perf.md, each timed forward+backward in divd's formulation
 * (src/nn) and in the plain tfjs formulation a user would write first. Where plain tfjs has no gradient
 * kernel on the active backend (wasm lacks Conv2DBackpropFilter and UnsortedSegmentSum), the plain column uses
 * the obvious workaround with registered kernels (conv2dTranspose for dX, im2col + matMul for dW) or says why
 * there is none.
 */
import * as tf from '@tensorflow/tfjs';
import {
  conv2d,
  dense,
  gatherRelativeBias,
  groupNorm,
  groupNormReference,
  silu,
  upsampleConv3x3,
  upsampleNearest2x,
  windowAttention,
  windowAttentionReference,
  setFusedAttention,
  Rng,
} from '../src/nn/index.ts';
import { setFusedFilterGrad } from '../src/nn/conv-wasm.ts';

/** One forward+backward pass; returns every tensor it made that outlives the call (to be disposed). */
export type Pass = () => tf.Tensor[];

export interface OpCase {
  name: string;
  shape: string;
  /** Multiply-add FLOPs of forward+backward (3x forward for products); 0 for elementwise ops. */
  gflop: number;
  /** What `plain` is when it is not the tfjs formulation a user writes first (printed under the table). */
  plainNote?: string;
  /** Builds the inputs once and returns the two passes; `plain` is a string saying why when it cannot run. */
  setup(): { divd: Pass; plain: Pass | string; dispose(): void };
}

function randn(shape: number[], rng: Rng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(size);
  for (let i = 0; i < size; i++) v[i] = rng.normal();
  return tf.tensor(v, shape);
}

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** TF 'same' padding of one spatial dimension: [before, after]. */
function samePads(size: number, k: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** dW by im2col: strided slices of the padded input, concatenated on channels, then matMul(cols^T, dy). */
function im2colFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number, stride: number): tf.Tensor4D {
  const [n, h, w, ci] = x.shape;
  const [, ho, wo, co] = dy.shape;
  const xp = tf.pad(x, [[0, 0], samePads(h, k, stride), samePads(w, k, stride), [0, 0]]);
  const taps: tf.Tensor[] = [];
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      taps.push(
        tf.stridedSlice(xp, [0, i, j, 0], [n, i + stride * (ho - 1) + 1, j + stride * (wo - 1) + 1, ci], [1, stride, stride, 1]),
      );
    }
  }
  const cols = tf.reshape(tf.concat(taps, 3), [n * ho * wo, k * k * ci]) as tf.Tensor2D;
  const dw = tf.matMul(cols, tf.reshape(dy, [n * ho * wo, co]) as tf.Tensor2D, true, false);
  return tf.reshape(dw, [k, k, ci, co]);
}

/** Plain conv fwd+bwd: tf's autodiff where its kernels exist, otherwise conv2dTranspose + im2col. */
function plainConvPass(x: tf.Tensor4D, w: tf.Tensor4D, dy: tf.Tensor4D, stride: 1 | 2): Pass {
  if (hasKernel('Conv2DBackpropFilter')) {
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, 'same'));
    return () => g([x, w], dy);
  }
  return () => {
    tf.conv2d(x, w, stride, 'same').dispose(); // the forward pass is part of the cost
    const dx = tf.conv2dTranspose(dy, w, x.shape, stride, 'same');
    const dw = tf.tidy(() => im2colFilterGrad(x, dy, w.shape[0], stride));
    return [dx, dw];
  };
}

/**
 * The same case with one of divd's generated wasm kernels turned off for its divd pass, so the tfjs
 * formulation it replaced is timed in the same run (`set` is setFusedFilterGrad or setFusedAttention).
 */
function withoutKernel(c: OpCase, suffix: string, set: (on: boolean) => void): OpCase {
  return {
    ...c,
    name: `${c.name} ${suffix}`,
    setup() {
      const s = c.setup();
      return {
        ...s,
        divd: () => {
          set(false);
          try {
            return s.divd();
          } finally {
            set(true);
          }
        },
      };
    },
  };
}

function convCase(n: number, hw: number, ci: number, co: number, stride: 1 | 2): OpCase {
  const ho = hw / stride;
  return {
    name: stride === 1 ? 'conv 3x3' : 'conv 3x3 stride 2',
    shape: `[${n},${hw},${hw},${ci}]->${co}`,
    gflop: (3 * 2 * n * ho * ho * co * 9 * ci) / 1e9,
    setup() {
      const rng = new Rng(1);
      const x = randn([n, hw, hw, ci], rng) as tf.Tensor4D;
      const w = tf.mul(randn([3, 3, ci, co], rng), 0.05) as tf.Tensor4D;
      const dy = randn([n, ho, ho, co], rng) as tf.Tensor4D;
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride));
      return { divd: () => g([x, w], dy), plain: plainConvPass(x, w, dy, stride), dispose: () => tf.dispose([x, w, dy]) };
    },
  };
}

/** A case whose both formulations are differentiated by tf.grads over the same inputs. */
function gradsCase(
  name: string,
  shape: string,
  gflop: number,
  make: (rng: Rng) => { inputs: tf.Tensor[]; dy: tf.Tensor },
  divdFn: (...xs: tf.Tensor[]) => tf.Tensor,
  plainFn: ((...xs: tf.Tensor[]) => tf.Tensor) | string,
): OpCase {
  return {
    name,
    shape,
    gflop,
    setup() {
      const { inputs, dy } = make(new Rng(2));
      const gd = tf.grads(divdFn);
      const plain = typeof plainFn === 'string' ? plainFn : ((g) => () => g(inputs, dy))(tf.grads(plainFn));
      return { divd: () => gd(inputs, dy), plain, dispose: () => tf.dispose([...inputs, dy]) };
    },
  };
}

export function opCases(): OpCase[] {
  const attn = { windows: 32, heads: 2, tokens: 256, dim: 32 }; // B = windows·heads = 64, T = 256 (4 frames x 8x8)
  const attnShape = [attn.windows, attn.tokens, attn.heads, attn.dim];
  const relRows = 7 * 15 * 15; // (2F-1)(2M-1)^2 with F=4, M=8: R = 1575
  const relIndex = new Int32Array(attn.tokens * attn.tokens);
  for (let i = 0; i < relIndex.length; i++) relIndex[i] = (i * 2654435761) % relRows >>> 0;
  const relIndexTensor = tf.tensor1d(relIndex, 'int32');
  const attention = gradsCase(
    'attention core',
    `B=${attn.windows * attn.heads} T=${attn.tokens} d=${attn.dim}`,
    (3 * 2 * 2 * attn.windows * attn.heads * attn.tokens * attn.tokens * attn.dim) / 1e9,
    (rng) => ({
      inputs: [randn(attnShape, rng), randn(attnShape, rng), randn(attnShape, rng), randn([attn.tokens, attn.heads, attn.tokens], rng)],
      dy: randn(attnShape, rng),
    }),
    (q, k, v, b) => windowAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, { bias: b as tf.Tensor3D }),
    (q, k, v, b) => windowAttentionReference(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, { bias: b as tf.Tensor3D }),
  );
  return [
    convCase(8, 32, 64, 64, 1),
    convCase(8, 64, 32, 32, 1),
    withoutKernel(convCase(8, 64, 32, 32, 1), '(convtrick dW)', setFusedFilterGrad),
    convCase(8, 64, 32, 32, 2),
    gradsCase(
      'dense',
      '[32768,96]->32',
      (3 * 2 * 32768 * 96 * 32) / 1e9,
      (rng) => ({ inputs: [randn([32768, 96], rng), tf.mul(randn([96, 32], rng), 0.1)], dy: randn([32768, 32], rng) }),
      (x, w) => dense(x as tf.Tensor2D, w as tf.Tensor2D),
      (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    ),
    attention,
    withoutKernel(attention, '(XNNPACK products)', setFusedAttention),
    gradsCase(
      'upsample nearest 2x',
      '[8,32,32,64]',
      0,
      (rng) => ({ inputs: [randn([8, 32, 32, 64], rng)], dy: randn([8, 64, 64, 64], rng) }),
      (x) => upsampleNearest2x(x as tf.Tensor4D),
      (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [64, 64]),
    ),
    {
      ...gradsCase(
        'upsample 2x + conv 3x3',
        '[8,32,32,64]->64',
        (3 * 2 * 8 * 64 * 64 * 64 * 64 * 9) / 1e9, // counted as the 3x3 conv at 64x64 it computes
        (rng) => ({ inputs: [randn([8, 32, 32, 64], rng), tf.mul(randn([3, 3, 64, 64], rng), 0.05)], dy: randn([8, 64, 64, 64], rng) }),
        (x, w) => upsampleConv3x3(x as tf.Tensor4D, w as tf.Tensor4D),
        (x, w) => conv2d(upsampleNearest2x(x as tf.Tensor4D), w as tf.Tensor4D, 1, 'same'),
      ),
      plainNote: "divd's own nearest 2x then 3x3 conv (the four phase convs' reference; tfjs's plain conv gradient does not run on wasm)",
    },
    gradsCase(
      'GroupNorm(32)',
      '[8,64,64,32]',
      0,
      (rng) => ({ inputs: [randn([8, 64, 64, 32], rng), randn([32], rng), randn([32], rng)], dy: randn([8, 64, 64, 32], rng) }),
      (x, g, b) => groupNorm(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 32),
      (x, g, b) => groupNormReference(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 32),
    ),
    gradsCase(
      'SiLU',
      '[8,64,64,32]',
      0,
      (rng) => ({ inputs: [randn([8, 64, 64, 32], rng)], dy: randn([8, 64, 64, 32], rng) }),
      (x) => silu(x),
      (x) => tf.mul(x, tf.sigmoid(x)),
    ),
    gradsCase(
      'relative-bias gather',
      `T=${attn.tokens} R=${relRows} h=${attn.heads}`,
      0,
      (rng) => ({ inputs: [randn([relRows, attn.heads], rng)], dy: randn([attn.tokens, attn.heads, attn.tokens], rng) }),
      (t) => gatherRelativeBias(t as tf.Tensor2D, relIndex),
      hasKernel('UnsortedSegmentSum')
        ? (t) => tf.reshape(tf.transpose(tf.reshape(tf.gather(t, relIndexTensor), [attn.tokens, attn.tokens, attn.heads]), [0, 2, 1]), [attn.tokens, attn.heads, attn.tokens])
        : `tf.gather has no gradient on ${tf.getBackend()} (UnsortedSegmentSum not registered)`,
    ),
  ];
}
