/** The image-quality metrics a report shows: header label, which way is better, and printed precision. */

export type MetricKey = 'psnr' | 'ssim' | 'lpips' | 'fid' | 'kid' | 'loss' | 'lossAlone' | 'contextGain';
export type Direction = 'up' | 'down';

export interface MetricSpec {
  key: MetricKey;
  label: string;
  direction: Direction;
  /** decimals printed; also the precision at which two values count as a tie */
  digits: number;
}

/** In the paper's column order, then ours. Precision follows common deblurring tables (PSNR 2, SSIM 4, LPIPS 4). */
export const METRICS: readonly MetricSpec[] = [
  { key: 'psnr', label: 'PSNR', direction: 'up', digits: 2 },
  { key: 'ssim', label: 'SSIM', direction: 'up', digits: 4 },
  { key: 'lpips', label: 'LPIPS', direction: 'down', digits: 4 },
  { key: 'fid', label: 'FID', direction: 'down', digits: 2 },
  { key: 'kid', label: 'KID', direction: 'down', digits: 4 },
  // The held-out diffusion loss (eval.testLoss): ranks variants of one diffusion setup even when their samples
  // do not yet beat the blurry input; not comparable across predictions (ε, x0, v) or with published rows.
  { key: 'loss', label: 'Test loss', direction: 'down', digits: 5 },
  // From `divd probe` (probe-context.json), when it was run: the test loss with every frame alone in its window,
  // and the fraction of the test loss the other frames take away (how much the model uses temporal context).
  { key: 'lossAlone', label: 'Test loss, frame alone', direction: 'down', digits: 5 },
  { key: 'contextGain', label: 'Context gain', direction: 'up', digits: 3 },
];

export const ARROW: Record<Direction, string> = { up: '↑', down: '↓' };
