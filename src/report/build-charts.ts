/** Chooses and renders the report's charts from trial groups and published numbers. */
import { metricVsSwept, perceptionDistortion, trainingCurves, type Chart, type ScatterPoint, type SweepPoint } from './charts.ts';
import { formatSweptValue, shortAxis, sweptAxes, variantAxes, type TrialGroup } from './groups.ts';
import { ARROW, METRICS } from './metric-spec.ts';
import type { PublishedBenchmark } from './published.ts';
import { summarize } from './stats.ts';

export async function buildCharts(groups: readonly TrialGroup[], published: readonly PublishedBenchmark[]): Promise<Chart[]> {
  const charts: Chart[] = [];
  const trials = groups.flatMap((g) => g.trials);

  // Perception–distortion: every configuration with both metrics, and published methods that report both.
  const points: ScatterPoint[] = [];
  for (const g of groups) {
    const psnr = summarize(g.trials.map((t) => t.metrics?.overall.psnr));
    const lpips = summarize(g.trials.map((t) => t.metrics?.overall.lpips));
    if (psnr && lpips) points.push({ name: `Ours: ${g.label}`, kind: 'ours', psnr: psnr.mean, lpips: lpips.mean });
  }
  const datasets = new Set(groups.map((g) => g.dataset));
  let publishedWithout = 0;
  for (const b of published.filter((p) => datasets.has(p.dataset))) {
    for (const r of b.rows) {
      if (r.metrics.psnr !== undefined && r.metrics.lpips !== undefined) {
        points.push({ name: `${r.method} (${b.dataset})`, kind: 'published', psnr: r.metrics.psnr, lpips: r.metrics.lpips });
      } else publishedWithout++;
    }
  }
  const note = publishedWithout > 0 ? `${publishedWithout} published row(s) without both PSNR and LPIPS are not plotted.` : '';
  const scatter = await perceptionDistortion('chart-pd', points, note);
  if (scatter) charts.push(scatter);

  // Metric against each swept axis (the other axes fixed by grouping: one point per configuration). Variants
  // get one chart over their names in place of the axes they set (framePE and relBias each alone would
  // mix two variants in every point).
  const arrows = Object.fromEntries(METRICS.map((m) => [m.label, ARROW[m.direction]]));
  const setByVariant = variantAxes(trials);
  const xAxes: { name: string; valueOf: (g: TrialGroup) => string | undefined }[] = [];
  if (groups.some((g) => g.variant !== undefined)) xAxes.push({ name: 'variant', valueOf: (g) => g.variant });
  for (const axis of sweptAxes(trials)) {
    if (setByVariant.has(axis)) continue;
    xAxes.push({ name: shortAxis(axis), valueOf: (g) => (axis in g.swept ? formatSweptValue(g.swept[axis]!) : undefined) });
  }
  for (const [i, { name, valueOf }] of xAxes.entries()) {
    const order = [...new Set(groups.map(valueOf).filter((v): v is string => v !== undefined))];
    const sweepPoints: SweepPoint[] = [];
    for (const g of groups) {
      const value = valueOf(g);
      if (value === undefined) continue;
      for (const m of METRICS) {
        const s = summarize(g.trials.map((t) => t.metrics?.overall[m.key]));
        if (s) sweepPoints.push({ value, metric: m.label, mean: s.mean, std: s.std, n: s.n });
      }
    }
    const chart = await metricVsSwept(`chart-axis-${i}`, name, order, sweepPoints, arrows);
    if (chart) charts.push(chart);
  }

  for (const [i, t] of trials.entries()) {
    const chart = await trainingCurves(`chart-train-${i}`, `Training of ${t.info.label} (trial ${t.id})`, t.log);
    if (chart) charts.push(chart);
  }
  return charts;
}
