/**
 * The quick sampled check during training: restore the fixed validation windows with the current EMA weights
 * (the weights sampling will use) and score them against their sharp frames, so PSNR/SSIM curves show
 * whether training helps restoration, which the denoising loss alone does not tell.
 */
import * as tf from '@tensorflow/tfjs';
import { psnr, ssim } from '../../metrics/index.ts';
import { createScheduler, restoredFrames, runSampler, type DiffusionConfig, type SampleConfig } from '../diffusion/index.ts';
import { createModel, disposeModel, predict, type ModelConfig } from '../model/index.ts';
import type { TrainBatch } from '../train/index.ts';

export interface SampledValidation {
  psnr: number;
  ssim: number;
}

/** Returns a function scoring the validation windows under given EMA weights; dispose() frees its model. */
export function sampledValidator(model: ModelConfig, diffusion: DiffusionConfig, sample: SampleConfig, windows: readonly TrainBatch[]) {
  const evalModel = createModel(model, 0);
  const shapes = new Map(evalModel.params.info().map((p) => [p.name, p.shape]));
  return {
    run(ema: Map<string, Float32Array>): SampledValidation {
      evalModel.params.restore(new Map([...ema].map(([name, data]) => [name, { shape: shapes.get(name)!, data }])));
      let p = 0;
      let s = 0;
      let n = 0;
      windows.forEach((w, i) => {
        const scheduler = createScheduler(diffusion, { ...sample, seed: 1000 + i });
        const sampled = runSampler(scheduler, (xt, t) => predict(evalModel, xt, w.blurry, t), w.blurry.shape as [number, number, number, number]);
        const x = restoredFrames(diffusion.residual, sampled, w.blurry);
        sampled.dispose();
        const [count, h, wd] = x.shape;
        const toUnit = (z: tf.Tensor4D) => tf.tidy(() => tf.clipByValue(tf.div(tf.add(z, 1), 2), 0, 1)).dataSync() as Float32Array;
        const out = toUnit(x);
        const gt = toUnit(w.sharp);
        x.dispose();
        const size = h * wd * 3;
        for (let f = 0; f < count; f++) {
          const a = { data: out.subarray(f * size, (f + 1) * size), width: wd, height: h, channels: 3 };
          const b = { data: gt.subarray(f * size, (f + 1) * size), width: wd, height: h, channels: 3 };
          p += Math.min(psnr(a, b), 100); // identical frames would give +Infinity; cap so the curve stays plottable
          s += ssim(a, b);
          n += 1;
        }
      });
      return { psnr: p / n, ssim: s / n };
    },
    dispose(): void {
      disposeModel(evalModel);
    },
  };
}
