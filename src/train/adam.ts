/**
 * Adam with PyTorch's arithmetic (bias corrections applied to the step size and to √v̂, ε added after the
 * square root), optional decoupled weight decay (AdamW), and state keyed by parameter name so a checkpoint
 * restores it exactly. tf.train.adam keeps its moments in anonymous variables and folds ε differently, so
 * it could neither be checkpointed by name nor match a PyTorch run step for step.
 */
import * as tf from '@tensorflow/tfjs';

export interface AdamConfig {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay (AdamW); 0 is plain Adam. */
  weightDecay: number;
}

export const ADAM_DEFAULTS: AdamConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

/** Moments of every parameter plus the update count, as plain arrays (what checkpoints store). */
export interface AdamState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class Adam {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private steps = 0;

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    readonly config: AdamConfig = ADAM_DEFAULTS,
  ) {
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  get step(): number {
    return this.steps;
  }

  /** One update with the given learning rate; `grads` must hold a gradient for every parameter. */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.config;
    this.steps += 1;
    // Bias corrections in float64; only the two resulting scalars reach float32.
    const stepSize = lr / (1 - beta1 ** this.steps);
    const sqrtBc2 = Math.sqrt(1 - beta2 ** this.steps);
    for (const name of this.params.keys()) if (!grads.has(name)) throw new Error(`Adam: no gradient for parameter ${name}`);
    // One tidy and one set of scalar tensors for the whole model: a JS number in a tf op becomes a new
    // scalar tensor on every call, which for ~250 parameters x 8 constants was most of the update's kernels.
    tf.tidy(() => {
      const b1 = tf.scalar(beta1);
      const c1 = tf.scalar(1 - beta1);
      const b2 = tf.scalar(beta2);
      const c2 = tf.scalar(1 - beta2);
      const bc2 = tf.scalar(sqrtBc2);
      const e = tf.scalar(eps);
      const step = tf.scalar(stepSize);
      const decay = weightDecay > 0 ? tf.scalar(1 - lr * weightDecay) : null;
      for (const [name, p] of this.params) {
        const g = grads.get(name)!;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const m1 = tf.add(tf.mul(m, b1), tf.mul(g, c1));
        const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), c2));
        const denom = tf.add(tf.div(tf.sqrt(v1), bc2), e);
        const decayed = decay ? tf.mul(p, decay) : p;
        p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), step)));
        m.assign(m1);
        v.assign(v1);
      }
    });
  }

  getState(): AdamState {
    const copy = (vars: Map<string, tf.Variable>) =>
      new Map([...vars].map(([k, t]) => [k, new Float32Array(t.dataSync() as Float32Array)]));
    return { step: this.steps, m: copy(this.m), v: copy(this.v) };
  }

  setState(state: AdamState): void {
    for (const [label, vars, values] of [
      ['m', this.m, state.m],
      ['v', this.v, state.v],
    ] as const) {
      for (const [name, t] of vars) {
        const src = values.get(name);
        if (!src) throw new Error(`Adam state: moment ${label} of parameter ${name} is missing`);
        if (src.length !== t.size) {
          throw new Error(`Adam state: moment ${label} of ${name} has ${src.length} values, the parameter has ${t.size}`);
        }
        const x = tf.tensor(src, t.shape, 'float32');
        t.assign(x);
        x.dispose();
      }
      for (const name of values.keys()) {
        if (!vars.has(name)) throw new Error(`Adam state: moment ${label} for unknown parameter ${name}`);
      }
    }
    this.steps = state.step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
