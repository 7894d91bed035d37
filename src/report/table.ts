/**
 * The table model every writer (HTML, Markdown, LaTeX, CSV) renders: columns with a direction, rows of cells
 * holding mean ± std over seeds, and the best / second-best marks computed once here.
 */
import { fixed, type Summary } from './stats.ts';
import { ARROW, type Direction } from './metric-spec.ts';

export type Rank = 'best' | 'second';

export interface Column {
  key: string;
  label: string;
  /** metric columns have a direction and a precision; text columns (method, swept value) do not */
  direction?: Direction;
  digits?: number;
}

export interface Cell {
  /** a number (mean ± std over seeds) or a text */
  value?: Summary;
  text?: string;
  rank?: Rank;
}

/** `reference`: the unrestored input, shown for scale and never ranked. */
export type RowKind = 'ours' | 'published' | 'reference';

export interface Row {
  kind: RowKind;
  cells: Record<string, Cell>;
  /** trials behind the row's numbers (ours), for links back to the trial */
  trialIds: string[];
  /** where a published row's numbers come from */
  source?: string;
  /** failed / running seeds and other things a reader must know */
  note?: string;
}

export interface Table {
  id: string;
  title: string;
  caption: string;
  columns: Column[];
  rows: Row[];
}

export function headerLabel(c: Column): string {
  return c.direction ? `${c.label}${ARROW[c.direction]}` : c.label;
}

/** The number as printed: "31.25" or "31.25 ± 0.12" (± only with several seeds). */
export function formatValue(v: Summary, digits: number): string {
  return v.n > 1 ? `${fixed(v.mean, digits)} ± ${fixed(v.std, digits)}` : fixed(v.mean, digits);
}

export function cellText(cell: Cell | undefined, column: Column): string {
  if (!cell) return '–';
  if (cell.value && column.digits !== undefined) return formatValue(cell.value, column.digits);
  return cell.text ?? '–';
}

/**
 * Marks, in each metric column, the best value(s) and the second-best value(s). Values are compared at their
 * printed precision, so rows that print the same number tie: all of them get the same mark, and "second" is
 * the next distinct printed value. A column with fewer than two values gets no marks.
 */
export function markRanks(table: Table): Table {
  for (const col of table.columns) {
    if (!col.direction || col.digits === undefined) continue;
    const digits = col.digits;
    const keyed = table.rows
      .filter((r) => r.kind !== 'reference')
      .map((r) => r.cells[col.key])
      .filter((c): c is Cell & { value: Summary } => c?.value !== undefined);
    for (const c of keyed) delete c.rank;
    if (keyed.length < 2) continue;
    const printed = (c: { value: Summary }) => Number(fixed(c.value.mean, digits));
    const distinct = [...new Set(keyed.map(printed))].sort((a, b) => (col.direction === 'up' ? b - a : a - b));
    for (const c of keyed) {
      const p = printed(c);
      if (p === distinct[0]) c.rank = 'best';
      else if (distinct.length > 1 && p === distinct[1]) c.rank = 'second';
    }
  }
  return table;
}
