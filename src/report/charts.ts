/**
 * Charts rendered server-side: Vega-Lite specs compiled to Vega and rendered to SVG strings with the
 * headless 'none' renderer, so the HTML shows them without JavaScript.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { LogPoint } from './types.ts';

export interface Chart {
  id: string;
  title: string;
  caption: string;
  svg: string;
}

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const CONFIG = {
  font: FONT,
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 260 },
};

/** Each SVG is inlined in one page: prefix its ids so clip paths and gradients of two charts never collide. */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id: string) => `href="#${prefix}-${id}"`);
}

export async function renderVegaLite(spec: TopLevelSpec, id: string): Promise<string> {
  const view = new vega.View(vega.parse(compile({ ...spec, config: CONFIG } as TopLevelSpec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return scopeSvgIds(svg, id).replace('<svg ', `<svg role="img" aria-label="${id}" `);
  } finally {
    view.finalize();
  }
}

/** At most `max` points, evenly spaced, first and last kept: keeps long logs' SVGs small. */
export function thin<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.round((i * (points.length - 1)) / (max - 1))]!);
  return out;
}

/** Loss (training and validation, log scale) beside the learning-rate schedule of one trial. */
export async function trainingCurves(id: string, title: string, log: readonly LogPoint[]): Promise<Chart | undefined> {
  const loss = thin(log.filter((p) => p.loss !== undefined && p.loss > 0), 400).map((p) => ({ step: p.step, value: p.loss!, series: 'train loss' }));
  const val = log.filter((p) => p.valLoss !== undefined && p.valLoss > 0).map((p) => ({ step: p.step, value: p.valLoss!, series: 'val loss' }));
  const lr = thin(log.filter((p) => p.lr !== undefined), 400).map((p) => ({ step: p.step, lr: p.lr! }));
  if (loss.length + val.length + lr.length === 0) return undefined;
  const panels: object[] = [];
  if (loss.length + val.length > 0) {
    const x = { field: 'step', type: 'quantitative', title: 'step' };
    const y = { field: 'value', type: 'quantitative', title: 'loss (log scale)', scale: { type: 'log' } };
    const color = { field: 'series', type: 'nominal', title: null, scale: { domain: ['train loss', 'val loss'], range: ['#1f77b4', '#d62728'] } };
    panels.push({
      width: 300,
      height: 160,
      title: 'loss',
      layer: [
        { data: { values: loss }, mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y, color } },
        // Validation points are sparse: draw them as dots joined by a line.
        { data: { values: val }, mark: { type: 'line', strokeWidth: 1.5, point: { filled: true, size: 25 } }, encoding: { x, y, color } },
      ],
    });
  }
  if (lr.length > 0) {
    panels.push({
      width: 220,
      height: 160,
      title: 'learning rate',
      data: { values: lr },
      mark: { type: 'line', strokeWidth: 1.5, color: '#2ca02c' },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'lr', type: 'quantitative', title: 'lr', axis: { format: '.1e' } },
      },
    });
  }
  const svg = await renderVegaLite({ hconcat: panels } as TopLevelSpec, id);
  return { id, title, caption: 'Training and validation loss (log scale) and learning rate against step.', svg };
}

export interface SweepPoint {
  /** the swept value as printed, e.g. "[4,3,2,1]" */
  value: string;
  metric: string;
  mean: number;
  std: number;
  n: number;
}

/** One small panel per metric: mean over seeds against the swept value, with ± std error bars. */
export async function metricVsSwept(id: string, axis: string, order: readonly string[], points: readonly SweepPoint[], arrows: Record<string, string>): Promise<Chart | undefined> {
  const metrics = [...new Set(points.map((p) => p.metric))];
  if (metrics.length === 0) return undefined;
  const panels = metrics.map((m) => ({
    width: Math.max(140, 70 * order.length),
    height: 150,
    title: `${m}${arrows[m] ?? ''}`,
    data: { values: points.filter((p) => p.metric === m).map((p) => ({ ...p, lo: p.mean - p.std, hi: p.mean + p.std })) },
    layer: [
      {
        mark: { type: 'rule', color: '#888' },
        encoding: {
          x: { field: 'value', type: 'ordinal', sort: order, title: axis },
          y: { field: 'lo', type: 'quantitative', scale: { zero: false }, title: null },
          y2: { field: 'hi' },
        },
      },
      {
        mark: { type: 'line', point: { filled: true, size: 50 }, color: '#1f77b4' },
        encoding: {
          x: { field: 'value', type: 'ordinal', sort: order, title: axis, axis: { labelAngle: order.some((o) => o.length > 6) ? -30 : 0 } },
          y: { field: 'mean', type: 'quantitative', scale: { zero: false }, title: null },
        },
      },
    ],
  }));
  const svg = await renderVegaLite({ hconcat: panels } as TopLevelSpec, id);
  return {
    id,
    title: `Metrics against ${axis}`,
    caption: `Mean over seeds against ${axis}; bars span ± one sample standard deviation.`,
    svg,
  };
}

export interface ScatterPoint {
  name: string;
  kind: 'ours' | 'published';
  psnr: number;
  lpips: number;
}

/** Perception–distortion plane: PSNR (higher is better) against LPIPS (lower is better). */
export async function perceptionDistortion(id: string, points: readonly ScatterPoint[], note: string): Promise<Chart | undefined> {
  if (points.length === 0) return undefined;
  // Pad the domains so the points' text labels stay inside the plot.
  const padded = (vs: number[], frac: number): [number, number] => {
    const lo = Math.min(...vs);
    const hi = Math.max(...vs);
    const span = hi - lo || Math.abs(hi) * 0.05 || 1;
    return [lo - span * frac, hi + span * frac];
  };
  const xDomain = padded(points.map((p) => p.psnr), 0.35);
  const yDomain = padded(points.map((p) => p.lpips), 0.15);
  const spec = {
    width: 420,
    height: 280,
    data: { values: points },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          x: { field: 'psnr', type: 'quantitative', title: 'PSNR (dB), higher is better →', scale: { domain: xDomain, nice: false } },
          y: { field: 'lpips', type: 'quantitative', title: 'LPIPS, lower is better (axis reversed)', scale: { domain: yDomain, nice: false, reverse: true } },
          color: { field: 'kind', type: 'nominal', title: null, legend: { orient: 'bottom' }, scale: { domain: ['ours', 'published'], range: ['#d62728', '#555'] } },
          shape: { field: 'kind', type: 'nominal', title: null, legend: { orient: 'bottom' }, scale: { domain: ['ours', 'published'], range: ['circle', 'square'] } },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 7, dy: -6, fontSize: 10 },
        encoding: {
          x: { field: 'psnr', type: 'quantitative' },
          y: { field: 'lpips', type: 'quantitative' },
          text: { field: 'name' },
        },
      },
    ],
  };
  const svg = await renderVegaLite(spec as TopLevelSpec, id);
  return {
    id,
    title: 'Perception–distortion trade-off',
    caption: `Each point is one configuration (mean over seeds) or one published method; up and to the right is better. ${note}`,
    svg,
  };
}
