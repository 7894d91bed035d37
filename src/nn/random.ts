/**
 * A small seeded generator (SplitMix32 stream + Box-Muller) so parameter initialisation is identical
 * on every backend and thread count: the values are made in JS, then uploaded.
 */
export interface RngState {
  state: number;
  spare: number | null;
}

export class Rng {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 2 ** 32;
  }

  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An independent generator derived from this one and a name (stable across code reordering). */
  fork(name: string): Rng {
    let h = this.state ^ 0x811c9dc5;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
    return new Rng(h);
  }

  getState(): number {
    return this.state;
  }

  /** The complete state (including a pending Box-Muller value), so a resumed run draws the same numbers. */
  save(): RngState {
    return { state: this.state, spare: this.spare };
  }

  static restore(s: RngState): Rng {
    if (!Number.isInteger(s.state) || s.state < 0 || s.state > 0xffffffff) throw new Error(`Rng.restore: bad state ${JSON.stringify(s)}`);
    const r = new Rng(s.state);
    r.spare = s.spare;
    return r;
  }
}
