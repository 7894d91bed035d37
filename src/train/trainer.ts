/**
 * The training loop of paper.md: random F-frame windows, uniform t, the diffusion loss, Adam with linear
 * warm-up, global-norm clipping, EMA, periodic validation and checkpoints — resumable exactly: everything that
 * decides the next step (weights, EMA, Adam moments, step, RNG and data-order state) is in each checkpoint, so
 * a run killed at any moment and resumed produces the same weights as one that never stopped (on the same
 * backend and thread count; other backends or thread counts sum in another order and drift at float32 level).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, type RngState } from '../nn/index.ts';
import { decodeCheckpoint as decodeModelFile, encodeCheckpoint as encodeModelFile, modelCheckpoint, type DivdModel, type StoredTensor } from '../model/index.ts';
import { randn4d } from '../diffusion/index.ts';
import { Adam } from './adam.ts';
import { CheckpointDir } from './checkpoints.ts';
import { clipByGlobalNorm } from './clip.ts';
import type { TrainConfig } from './config.ts';
import { Ema } from './ema.ts';
import { learningRate } from './lr-schedule.ts';
import { diffusionLoss, lossAndGrads, type Objective, type TrainBatch } from './step.ts';

/** Where training windows come from; its state must make the batch order resumable. */
export interface BatchSource {
  /** The next `windows` windows as [windows·F, H, W, 3] frames in [−1, 1] (caller disposes). */
  next(windows: number): TrainBatch | Promise<TrainBatch>;
  /** JSON-serialisable position in the data order. */
  state(): unknown;
  restore(state: unknown): void;
}

export interface StepLog {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  clipped: boolean;
  stepsPerSec: number;
  imagesPerSec: number;
}

export interface TrainerHooks {
  onStep?(log: StepLog): void;
  onValidation?(step: number, valLoss: number): void;
  onCheckpoint?(step: number, file: string): void;
  warn?(message: string): void;
}

export interface TrainerOptions {
  model: DivdModel;
  objective: Objective;
  config: TrainConfig;
  source: BatchSource;
  /** Fixed held-out windows for the validation loss (evaluated at fixed t and noise). */
  validation?: TrainBatch[];
  checkpoints: CheckpointDir;
  hooks?: TrainerHooks;
  /** Polled before each step; when true the trainer checkpoints where it is and throws TrainingInterrupted. */
  shouldStop?: () => boolean;
}

/** The run was asked to stop (Ctrl-C); a checkpoint of the last finished step is on disk. */
export class TrainingInterrupted extends Error {
  constructor(readonly step: number) {
    super(`interrupted at step ${step} (checkpoint saved); run again to resume`);
  }
}

/** A NaN/Inf loss or gradient: the weights are left at the last good checkpoint. */
export class TrainingDiverged extends Error {
  constructor(
    readonly step: number,
    what: string,
    restoredStep: number | undefined,
  ) {
    super(
      `training diverged at step ${step}: ${what} is not finite; ` +
        (restoredStep === undefined ? 'no checkpoint to restore' : `weights restored to the checkpoint of step ${restoredStep}`) +
        ' (lower train.lr, raise train.warmupSteps or set train.gradClip)',
    );
  }
}

interface StateMeta {
  step: number;
  rng: RngState;
  data: unknown;
  adamStep: number;
  emaUpdates: number;
}

/** Fixed levels for the validation loss: spread over the schedule so it tracks every noise level. */
function validationTimesteps(timesteps: number): number[] {
  return [0.05, 0.25, 0.5, 0.75, 0.95].map((f) => Math.round(f * (timesteps - 1)));
}

export class Trainer {
  private readonly params: Map<string, tf.Variable>;
  private readonly adam: Adam;
  private readonly ema: Ema;
  private rng: Rng;
  private stepDone = 0;

  constructor(private readonly o: TrainerOptions) {
    const names = o.model.params.names();
    const vars = o.model.params.variables();
    this.params = new Map(names.map((n, i) => [n, vars[i]!] as const).filter(([, v]) => v.trainable));
    const [beta1, beta2] = o.config.betas;
    this.adam = new Adam(this.params, { beta1, beta2, eps: o.config.eps, weightDecay: o.config.weightDecay });
    this.ema = new Ema(this.params, { decay: o.config.ema, warmup: o.config.emaWarmup });
    this.rng = new Rng(o.config.seed);
  }

  get step(): number {
    return this.stepDone;
  }

  /** The EMA weights by parameter name (what sampling uses). */
  emaWeights(): Map<string, Float32Array> {
    return this.ema.values();
  }

  /** Restores the newest valid checkpoint, if any; returns its step (0 when starting fresh). */
  resume(): number {
    const latest = this.o.checkpoints.loadLatest(this.o.hooks?.warn);
    if (!latest) return 0;
    this.restore(latest.payload, latest.file);
    return this.stepDone;
  }

  /** Trains until `config.steps`; returns the final step. Throws TrainingDiverged on NaN/Inf. */
  async run(): Promise<number> {
    const c = this.o.config;
    let t0 = performance.now();
    let stepsSinceLog = 0;
    let savedAt = -1;
    while (this.stepDone < c.steps) {
      if (this.o.shouldStop?.()) {
        if (savedAt !== this.stepDone && this.stepDone > 0) this.o.checkpoints.save(this.stepDone, this.encode());
        throw new TrainingInterrupted(this.stepDone);
      }
      const step = this.stepDone + 1;
      const { loss, grads } = await this.accumulatedGradients();
      const clip = clipByGlobalNorm(grads, c.gradClip);
      if (!Number.isFinite(loss) || !clip.finite) {
        tf.dispose([...new Set([...grads.values(), ...clip.grads.values()])]);
        const restored = this.restoreLastGood();
        throw new TrainingDiverged(step, Number.isFinite(loss) ? 'the gradient norm' : 'the loss', restored);
      }
      const lr = learningRate({ lr: c.lr, warmupSteps: c.warmupSteps, schedule: c.schedule, totalSteps: c.steps, minLr: c.minLr }, step);
      this.adam.apply(clip.grads, lr);
      tf.dispose([...new Set([...grads.values(), ...clip.grads.values()])]);
      this.ema.update();
      this.stepDone = step;
      stepsSinceLog += 1;
      if (step % c.logEvery === 0 || step === c.steps) {
        const sec = (performance.now() - t0) / 1000;
        const images = stepsSinceLog * c.batch * c.accumulate * this.o.model.config.frames;
        this.o.hooks?.onStep?.({ step, loss, lr, gradNorm: clip.norm, clipped: clip.clipped, stepsPerSec: stepsSinceLog / sec, imagesPerSec: images / sec });
        t0 = performance.now();
        stepsSinceLog = 0;
      }
      let valLoss: number | undefined;
      if (c.validateEvery > 0 && (step % c.validateEvery === 0 || step === c.steps) && this.o.validation?.length) {
        valLoss = this.validationLoss();
        this.o.hooks?.onValidation?.(step, valLoss);
      }
      if (step % c.checkpointEvery === 0 || step === c.steps) {
        const entry = this.o.checkpoints.save(step, this.encode(), valLoss);
        savedAt = step;
        this.o.hooks?.onCheckpoint?.(step, entry.file);
      }
    }
    return this.stepDone;
  }

  /** Mean loss over the validation windows at fixed timesteps and fixed noise (seeded per window). */
  validationLoss(): number {
    const batches = this.o.validation ?? [];
    const levels = validationTimesteps(this.o.objective.schedule.timesteps);
    let total = 0;
    let count = 0;
    batches.forEach((batch, i) => {
      const windows = batch.sharp.shape[0] / this.o.model.config.frames;
      const noise = randn4d(batch.sharp.shape, new Rng(1_000_003 * (i + 1)));
      for (const level of levels) {
        const loss = diffusionLoss(this.o.model, this.o.objective, batch, new Array<number>(windows).fill(level), noise);
        total += loss.dataSync()[0]!;
        loss.dispose();
        count += 1;
      }
      noise.dispose();
    });
    return total / Math.max(1, count);
  }

  dispose(): void {
    this.adam.dispose();
    this.ema.dispose();
  }

  private async accumulatedGradients(): Promise<{ loss: number; grads: Map<string, tf.Tensor> }> {
    const c = this.o.config;
    let sum: Map<string, tf.Tensor> | undefined;
    let lossSum = 0;
    for (let i = 0; i < c.accumulate; i++) {
      const batch = await this.o.source.next(c.batch);
      const { loss, grads } = lossAndGrads(this.o.model, this.o.objective, batch, this.rng);
      tf.dispose([batch.sharp, batch.blurry]);
      lossSum += loss;
      if (!sum) {
        sum = grads;
        continue;
      }
      for (const [name, g] of grads) {
        const prev = sum.get(name)!;
        sum.set(name, tf.add(prev, g));
        tf.dispose([prev, g]);
      }
    }
    if (c.accumulate === 1) return { loss: lossSum, grads: sum! };
    const mean = new Map([...sum!].map(([name, g]) => [name, tf.div(g, c.accumulate)]));
    tf.dispose([...sum!.values()]);
    return { loss: lossSum / c.accumulate, grads: mean };
  }

  /**
   * The payload is a model checkpoint file (safetensors layout): the weights under their own names, and the
   * EMA and Adam moments as groups "ema/…", "adam.m/…", "adam.v/…", plus the loop state as JSON metadata —
   * so `modelFromCheckpoint(…, 'ema')` reads a training checkpoint directly for sampling.
   */
  private encode(): Uint8Array {
    const extra = new Map<string, StoredTensor>();
    const adam = this.adam.getState();
    const ema = this.ema.values();
    for (const [name, v] of this.params) {
      const shape = [...v.shape];
      extra.set(`ema/${name}`, { shape, data: ema.get(name)! });
      extra.set(`adam.m/${name}`, { shape, data: adam.m.get(name)! });
      extra.set(`adam.v/${name}`, { shape, data: adam.v.get(name)! });
    }
    const meta: StateMeta = { step: this.stepDone, rng: this.rng.save(), data: this.o.source.state(), adamStep: adam.step, emaUpdates: this.ema.count };
    return encodeModelFile(modelCheckpoint(this.o.model, this.stepDone, extra, { train: JSON.stringify(meta) }));
  }

  private restore(payload: Uint8Array, file: string): void {
    const ck = decodeModelFile(payload, file);
    if (ck.metadata.train === undefined) throw new Error(`${file}: not a training checkpoint (no train metadata)`);
    const meta = JSON.parse(ck.metadata.train) as StateMeta;
    const pick = (prefix: string): Map<string, Float32Array> => {
      const out = new Map<string, Float32Array>();
      for (const [name, v] of this.params) {
        const t = ck.tensors.get(prefix ? `${prefix}/${name}` : name);
        const what = prefix ? `${prefix} of parameter ${name}` : `parameter ${name}`;
        if (!t) throw new Error(`${file}: ${what} is missing (was the model config changed?)`);
        if (t.shape.join() !== v.shape.join()) throw new Error(`${file}: ${what} has shape [${t.shape}], the model has [${v.shape}]`);
        out.set(name, t.data);
      }
      return out;
    };
    const weights = pick('');
    for (const [name, v] of this.params) {
      const t = tf.tensor(weights.get(name)!, v.shape, 'float32');
      v.assign(t);
      t.dispose();
    }
    this.ema.setValues(pick('ema'), meta.emaUpdates);
    this.adam.setState({ step: meta.adamStep, m: pick('adam.m'), v: pick('adam.v') });
    this.rng = Rng.restore(meta.rng);
    this.o.source.restore(meta.data);
    this.stepDone = meta.step;
  }

  private restoreLastGood(): number | undefined {
    const latest = this.o.checkpoints.loadLatest(this.o.hooks?.warn);
    if (!latest) return undefined;
    this.restore(latest.payload, latest.file);
    return latest.step;
  }
}
