/** results.csv: one line per trial (raw, not averaged) and per published row, for spreadsheets and pandas. */
import { toCsv, type CsvValue } from './format-csv.ts';
import { formatSweptValue, sweptAxes, trialDataset } from './groups.ts';
import { sourceLine, type PublishedBenchmark } from './published.ts';
import { METRICS } from './metric-spec.ts';
import type { ExperimentRuns, MetricValues } from './types.ts';

export function resultsCsv(runs: ExperimentRuns, published: readonly PublishedBenchmark[]): string {
  const axes = sweptAxes(runs.trials);
  // The report's metrics in their order, KID's std beside its mean.
  const metricKeys = METRICS.flatMap((m): (keyof MetricValues)[] => (m.key === 'kid' ? ['kid', 'kidStd'] : [m.key]));
  const header = ['kind', 'experiment', 'dataset', 'trial_id', 'label', 'seed', 'status', 'step', 'error', ...axes, ...metricKeys.map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) /* kid_std, loss_alone, context_gain */, 'mlflow_run_id', 'source'];
  const rows: CsvValue[][] = runs.trials.map((t) => [
    'ours',
    runs.experiment,
    trialDataset(t),
    t.id,
    t.info.label,
    t.info.seed,
    t.status.stage,
    t.status.step,
    t.status.error,
    ...axes.map((a) => (a in t.info.swept ? formatSweptValue(t.info.swept[a]!) : undefined)),
    ...metricKeys.map((k) => t.metrics?.overall[k]),
    t.info.mlflowRunId,
    undefined,
  ]);
  for (const b of published) {
    for (const r of b.rows) {
      rows.push([
        'published', undefined, b.dataset, undefined, r.method, undefined, undefined, undefined, undefined,
        ...axes.map(() => undefined),
        ...metricKeys.map((k) => (k === 'kidStd' ? undefined : r.metrics[k])),
        undefined,
        sourceLine(r.source),
      ]);
    }
  }
  return toCsv(header, rows);
}
