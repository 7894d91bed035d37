/** Small float64 linear algebra for the set-level metrics (Fréchet distance, KID). */
export { symmetricEigenvalues } from './symmetric-eigen.ts';
export { pivotedCholesky } from './pivoted-cholesky.ts';
export type { PivotedCholesky } from './pivoted-cholesky.ts';
export { multiplyABt, gramOfRows } from './products.ts';
export { fullRankProductEigenvalues } from './full-rank-product.ts';
