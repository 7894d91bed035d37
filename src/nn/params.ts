/**
 * Named parameters and their initialisers. A module asks its ParamStore scope for a parameter by
 * name; the store creates it once (deterministically, from the seed and the full name) and returns
 * the same tf.Variable afterwards, so names are the checkpoint keys.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from './random.ts';

export type Init =
  /** PyTorch's default for Conv2d/Linear weights: U(±1/√fan_in) (kaiming_uniform with a=√5). */
  | { kind: 'torchDefault' }
  /** He/Kaiming normal: N(0, 2/fan_in). */
  | { kind: 'heNormal' }
  /** Glorot/Xavier uniform: U(±√(6/(fan_in+fan_out))). */
  | { kind: 'xavierUniform'; gain?: number }
  /** N(mean, std²); `mean`, when given, is one value per element (a structured start plus noise). */
  | { kind: 'normal'; std: number; mean?: Float32Array }
  | { kind: 'uniform'; limit: number }
  | { kind: 'constant'; value: number }
  /** Zero-init for residual outputs, so every block starts as the identity. */
  | { kind: 'zeros' }
  | { kind: 'ones' };

/** fan_in and fan_out as PyTorch computes them, for HWIO conv kernels ([kh,kw,in,out]) and [in,out] dense. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[shape.length - 2]! * receptive, fanOut: shape[shape.length - 1]! * receptive };
}

export function initValues(shape: readonly number[], init: Init, rng: Rng): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const { fanIn, fanOut } = fans(shape);
  const uniform = (limit: number) => {
    for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * limit;
  };
  const normal = (std: number) => {
    for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  };
  switch (init.kind) {
    case 'torchDefault':
      uniform(1 / Math.sqrt(fanIn));
      break;
    case 'heNormal':
      normal(Math.sqrt(2 / fanIn));
      break;
    case 'xavierUniform':
      uniform((init.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut)));
      break;
    case 'normal':
      normal(init.std);
      if (init.mean) {
        if (init.mean.length !== n) throw new Error(`initValues: mean has ${init.mean.length} values for ${n} elements`);
        for (let i = 0; i < n; i++) out[i] = out[i]! + init.mean[i]!;
      }
      break;
    case 'uniform':
      uniform(init.limit);
      break;
    case 'constant':
      out.fill(init.value);
      break;
    case 'zeros':
      break;
    case 'ones':
      out.fill(1);
      break;
  }
  return out;
}

export interface ParamInfo {
  name: string;
  shape: number[];
  size: number;
}

/** Owns every tf.Variable of a model; `scope('down.0')` gives a view that prefixes names. */
export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly rng: Rng;

  constructor(readonly seed: number) {
    this.rng = new Rng(seed);
  }

  /** Gets the parameter `name`, creating it with `init` on first use. Shapes must agree on reuse. */
  get(name: string, shape: number[], init: Init, trainable = true): tf.Variable {
    const existing = this.vars.get(name);
    if (existing) {
      if (existing.shape.join() !== shape.join()) {
        throw new Error(`parameter ${name} exists with shape [${existing.shape}], asked for [${shape}]`);
      }
      return existing;
    }
    const values = initValues(shape, init, this.rng.fork(name));
    // tf variable names are process-global, so the store keeps its own names (two models may share one).
    const initial = tf.tensor(values, shape, 'float32');
    const v = tf.variable(initial, trainable);
    initial.dispose();
    this.vars.set(name, v);
    return v;
  }

  scope(prefix: string): ParamScope {
    return new ParamScope(this, prefix);
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  trainable(): tf.Variable[] {
    return this.variables().filter((v) => v.trainable);
  }

  info(): ParamInfo[] {
    return [...this.vars].map(([name, v]) => ({ name, shape: [...v.shape], size: v.size }));
  }

  count(): number {
    return this.variables().reduce((a, v) => a + v.size, 0);
  }

  /** Copies every value out (for checkpoints and EMA). */
  snapshot(): Map<string, { shape: number[]; data: Float32Array }> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, v] of this.vars) out.set(name, { shape: [...v.shape], data: v.dataSync() as Float32Array });
    return out;
  }

  /** Overwrites values from a snapshot; every name and shape must match. */
  restore(values: Map<string, { shape: number[]; data: Float32Array }>): void {
    for (const [name, v] of this.vars) {
      const src = values.get(name);
      if (!src) throw new Error(`restore: parameter ${name} is missing from the snapshot`);
      if (src.shape.join() !== v.shape.join()) {
        throw new Error(`restore: parameter ${name} has shape [${src.shape}] in the snapshot, [${v.shape}] here`);
      }
      const t = tf.tensor(src.data, src.shape, 'float32');
      v.assign(t);
      t.dispose();
    }
    for (const name of values.keys()) {
      if (!this.vars.has(name)) throw new Error(`restore: the snapshot has ${name}, which this model does not`);
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

export class ParamScope {
  constructor(
    private readonly store: ParamStore,
    readonly prefix: string,
  ) {}

  get(name: string, shape: number[], init: Init, trainable = true): tf.Variable {
    return this.store.get(`${this.prefix}.${name}`, shape, init, trainable);
  }

  scope(name: string): ParamScope {
    return new ParamScope(this.store, `${this.prefix}.${name}`);
  }
}
