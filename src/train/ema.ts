/**
 * Exponential moving average of the weights, which sampling uses (DDPM practice).
 * With `warmup`, the decay at update n is min(decay, (1+n)/(10+n)) so short runs are not dominated by the
 * random initialisation (with decay 0.9999 and a few hundred steps the average would still be ~97% init).
 */
import * as tf from '@tensorflow/tfjs';

export interface EmaConfig {
  decay: number;
  warmup: boolean;
}

export function emaDecay(cfg: EmaConfig, update: number): number {
  return cfg.warmup ? Math.min(cfg.decay, (1 + update) / (10 + update)) : cfg.decay;
}

export class Ema {
  private readonly shadow = new Map<string, tf.Variable>();
  private updates = 0;

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    readonly config: EmaConfig,
  ) {
    for (const [name, p] of params) this.shadow.set(name, tf.variable(p.clone(), false));
  }

  get count(): number {
    return this.updates;
  }

  update(): void {
    const d = emaDecay(this.config, this.updates);
    this.updates += 1;
    for (const [name, p] of this.params) {
      const s = this.shadow.get(name)!;
      tf.tidy(() => s.assign(tf.add(tf.mul(s, d), tf.mul(p, 1 - d))));
    }
  }

  /** The averaged weights as arrays (for checkpoints and for loading into a sampling model). */
  values(): Map<string, Float32Array> {
    return new Map([...this.shadow].map(([k, t]) => [k, new Float32Array(t.dataSync() as Float32Array)]));
  }

  setValues(values: ReadonlyMap<string, Float32Array>, updates: number): void {
    for (const [name, t] of this.shadow) {
      const src = values.get(name);
      if (!src || src.length !== t.size) {
        throw new Error(`EMA state: parameter ${name} is ${src ? `${src.length} values, expected ${t.size}` : 'missing'}`);
      }
      const x = tf.tensor(src, t.shape, 'float32');
      t.assign(x);
      x.dispose();
    }
    this.updates = updates;
  }

  dispose(): void {
    for (const t of this.shadow.values()) t.dispose();
    this.shadow.clear();
  }
}
