/**
 * Residual diffusion (diffusion.residual, off by default; the paper diffuses the sharp frames): the forward
 * process and the sampler run on r = sharp − blurry, and the restored frames are blurry + r̂. The network
 * input keeps its form (noisy r concatenated with the blurry frames). Deblurring-by-diffusion work that
 * refines a residual over the blurry input or a first estimate (SRDiff; Whang et al. 2022, "Deblurring via
 * Stochastic Refinement") does this because r is small and mostly zero away from edges. With x0-prediction
 * and the UNet's zero-initialised output layer, an untrained model's estimate is r̂ = 0 — the blurry input
 * itself — so a short run starts at the blurry PSNR and learns only the correction.
 */
import * as tf from '@tensorflow/tfjs';

/** Frames are in [−1, 1], so the residual is in [−2, 2]: the bound its x0 estimate is clipped to. */
export const RESIDUAL_RANGE = 2;

/** What the forward process noises: the sharp frames, or sharp − blurry. */
export function diffusionData(residual: boolean, sharp: tf.Tensor4D, blurry: tf.Tensor4D): tf.Tensor4D {
  return residual ? tf.sub(sharp, blurry) : sharp.clone();
}

/** The restored frames from the sampler's final sample: the sample itself, or blurry + sample. */
export function restoredFrames(residual: boolean, sample: tf.Tensor4D, blurry: tf.Tensor4D): tf.Tensor4D {
  return residual ? tf.add(blurry, sample) : sample.clone();
}

/** The bound |x0| of the data the sampler estimates (its clip range). */
export function dataRange(residual: boolean): number {
  return residual ? RESIDUAL_RANGE : 1;
}
