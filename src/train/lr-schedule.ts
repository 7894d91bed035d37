/**
 * Learning rate per optimizer step: linear warm-up (the paper's), then constant or cosine decay.
 * Steps are 1-based counts of optimizer updates, so the first update uses lr·1/warmup, never 0.
 */
export interface LrScheduleConfig {
  lr: number;
  warmupSteps: number;
  /** After warm-up: hold `lr`, or follow a half cosine down to `minLr` at `totalSteps`. */
  schedule: 'constant' | 'cosine';
  totalSteps: number;
  minLr?: number;
}

export function learningRate(cfg: LrScheduleConfig, step: number): number {
  if (!Number.isInteger(step) || step < 1) throw new Error(`learningRate: step must be an integer >= 1, got ${step}`);
  if (cfg.warmupSteps > 0 && step <= cfg.warmupSteps) return (cfg.lr * step) / cfg.warmupSteps;
  if (cfg.schedule === 'constant') return cfg.lr;
  const minLr = cfg.minLr ?? 0;
  const span = Math.max(1, cfg.totalSteps - cfg.warmupSteps);
  const progress = Math.min(1, (step - cfg.warmupSteps) / span);
  return minLr + (cfg.lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
