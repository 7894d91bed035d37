/** Builds the report's tables (main comparison per dataset, ablation over the swept axes) from trials. */
import { formatSweptValue, groupNote, shortAxis, sweptAxes, type TrialGroup } from './groups.ts';
import { METRICS, type MetricKey, type MetricSpec } from './metric-spec.ts';
import { sourceLine, type PublishedBenchmark } from './published.ts';
import { summarize } from './stats.ts';
import { markRanks, type Cell, type Column, type Row, type Table } from './table.ts';

function metricColumn(m: MetricSpec): Column {
  return { key: m.key, label: m.label, direction: m.direction, digits: m.digits };
}

/** Metric cells of a group: mean ± std over the trials that have the metric. */
export function groupMetricCells(g: TrialGroup): Partial<Record<MetricKey, Cell>> {
  const cells: Partial<Record<MetricKey, Cell>> = {};
  for (const m of METRICS) {
    const s = summarize(g.trials.map((t) => t.metrics?.overall[m.key]));
    if (s) cells[m.key] = { value: s };
  }
  return cells;
}

function ourRow(g: TrialGroup, method: string): Row {
  const note = groupNote(g);
  return {
    kind: 'ours',
    cells: { method: { text: method }, ...groupMetricCells(g) },
    trialIds: g.trials.map((t) => t.id),
    ...(note ? { note } : {}),
  };
}

export const INPUT_ROW_LABEL = 'Blurry input (no restoration)';
const INPUT_CAPTION = ` "${INPUT_ROW_LABEL}" scores the test set's blurry frames against the sharp ones (not ranked).`;

/**
 * The unrestored input's metrics shared by the groups' trials, or undefined when none recorded them or they
 * differ (trials on different test sets: one row could not stand for all of them).
 */
export function sharedInputCells(groups: readonly TrialGroup[]): Partial<Record<MetricKey, Cell>> | undefined {
  const inputs = groups.flatMap((g) => g.trials.map((t) => t.metrics?.input)).filter((m) => m !== undefined);
  if (inputs.length === 0) return undefined;
  const cells: Partial<Record<MetricKey, Cell>> = {};
  for (const m of METRICS) {
    // A metric some trials did not record (scored by an older divd, or not asked for) is left out of the row;
    // recorded values that differ mean different test sets, and then no row can stand for all trials.
    const values = inputs.map((i) => i[m.key]).filter((v) => v !== undefined);
    const first = values[0];
    if (first === undefined || values.length < inputs.length) continue;
    if (values.some((v) => Math.abs(v - first) > 1e-9 * Math.max(1, Math.abs(first)))) return undefined;
    cells[m.key] = { value: { mean: first, std: 0, n: 1 } };
  }
  return Object.keys(cells).length > 0 ? cells : undefined;
}

function inputRow(groups: readonly TrialGroup[], labelKey: string): Row | undefined {
  const cells = sharedInputCells(groups);
  return cells ? { kind: 'reference', cells: { [labelKey]: { text: INPUT_ROW_LABEL }, ...cells }, trialIds: [] } : undefined;
}

/** Drops metric columns no row has a value for (a published table without FID shows no FID column). */
function keepFilledColumns(columns: Column[], rows: Row[]): Column[] {
  return columns.filter((c) => !c.direction || rows.some((r) => r.cells[c.key]?.value !== undefined));
}

export function mainTables(experiment: string, groups: readonly TrialGroup[], published: readonly PublishedBenchmark[]): Table[] {
  const datasets = [...new Set([...groups.map((g) => g.dataset), ...published.map((p) => p.dataset)])];
  return datasets.map((dataset) => {
    const bench = published.filter((p) => p.dataset === dataset);
    const pubRows: Row[] = bench.flatMap((b) =>
      b.rows.map((r) => {
        const cells: Record<string, Cell> = { method: { text: r.method } };
        for (const [k, v] of Object.entries(r.metrics)) cells[k] = { value: { mean: v, std: 0, n: 1 } };
        return { kind: 'published' as const, cells, trialIds: [], source: sourceLine(r.source) };
      }),
    );
    const ours = groups.filter((g) => g.dataset === dataset);
    const ourRows = ours.map((g) => ourRow(g, ours.length === 1 && g.label === 'default' ? `Ours (${experiment})` : `Ours: ${g.label}`));
    const input = inputRow(ours, 'method');
    const rows = [...(input ? [input] : []), ...pubRows, ...ourRows];
    const columns = keepFilledColumns([{ key: 'method', label: 'Method' }, ...METRICS.map(metricColumn)], rows);
    const title = bench[0]?.title ?? (dataset === 'unknown' ? 'dataset not named in the trial config (data.dataset)' : dataset);
    const caption =
      (pubRows.length > 0 ? 'Published rows are quoted with their sources. ' : '') +
      (ourRows.length > 0 ? `"Ours" rows are the trials of ${experiment}.` : `No trial of ${experiment} was evaluated on ${title}.`) +
      (bench.some((b) => b.missing) ? ' Published numbers that could not be verified are left out (see the sources).' : '') +
      (input ? INPUT_CAPTION : '');
    return markRanks({ id: `main-${dataset}`, title: `Main comparison: ${title}`, caption, columns, rows });
  });
}

/** One ablation table: a row per swept configuration, a column per swept axis, then the metrics. */
export function ablationTable(experiment: string, groups: readonly TrialGroup[]): Table | undefined {
  const axes = sweptAxes(groups.flatMap((g) => g.trials));
  if (axes.length === 0) return undefined;
  // Variants (the paper's named rows, e.g. MRPE's "none" ... "full") lead with their name; the values they set
  // stay as columns, so the table shows what each row means.
  const hasVariants = groups.some((g) => g.variant !== undefined);
  const rows = groups.map((g): Row => {
    const row = ourRow(g, g.label);
    delete row.cells.method;
    if (hasVariants) row.cells.variant = { text: g.variant ?? '–' };
    for (const a of axes) row.cells[`axis:${a}`] = { text: a in g.swept ? formatSweptValue(g.swept[a]!) : '–' };
    return row;
  });
  const input = inputRow(groups, hasVariants ? 'variant' : `axis:${axes[0]!}`);
  if (input) rows.unshift(input);
  const datasets = [...new Set(groups.map((g) => g.dataset))];
  const columns = keepFilledColumns(
    [
      ...(hasVariants ? [{ key: 'variant', label: 'Variant' }] : []),
      ...axes.map((a): Column => ({ key: `axis:${a}`, label: shortAxis(a) })),
      ...METRICS.map(metricColumn),
    ],
    rows,
  );
  const seeds = Math.max(...groups.map((g) => g.trials.length));
  return markRanks({
    id: 'ablation',
    title: `Ablation: ${hasVariants ? `variants (${axes.map(shortAxis).join(' × ')})` : axes.map(shortAxis).join(' × ')}`,
    caption:
      `Ablation of ${experiment} over ${axes.join(', ')} on ${datasets.join(', ')}` +
      (seeds > 1 ? `; mean ± sample std over up to ${seeds} seeds.` : '.') +
      (input ? INPUT_CAPTION : ''),
    columns,
    rows,
  });
}
