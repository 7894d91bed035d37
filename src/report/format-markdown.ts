/** Tables as GitHub-flavoured Markdown: best in bold, second underlined (<u>, as Markdown has no underline). */
import { cellText, headerLabel, type Cell, type Column, type Table } from './table.ts';

function escapeMd(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function mark(text: string, cell: Cell | undefined): string {
  if (cell?.rank === 'best') return `**${text}**`;
  if (cell?.rank === 'second') return `<u>${text}</u>`;
  return text;
}

function rowSource(row: Table['rows'][number]): string {
  if (row.source) return row.source;
  if (row.trialIds.length === 0) return '';
  return `trial ${row.trialIds.join(', ')}`;
}

export function tableToMarkdown(table: Table): string {
  const hasNotes = table.rows.some((r) => r.note);
  const hasSources = table.rows.some((r) => rowSource(r) !== '');
  const extra: Column[] = [
    ...(hasNotes ? [{ key: '__note', label: 'Notes' }] : []),
    ...(hasSources ? [{ key: '__source', label: 'Source' }] : []),
  ];
  const cols = [...table.columns, ...extra];
  const header = `| ${cols.map((c) => escapeMd(headerLabel(c))).join(' | ')} |`;
  const align = `|${cols.map((c) => (c.direction ? ' ---: ' : ' :--- ')).join('|')}|`;
  const lines = table.rows.map((r) => {
    const cells = table.columns.map((c) => mark(escapeMd(cellText(r.cells[c.key], c)), r.cells[c.key]));
    if (hasNotes) cells.push(escapeMd(r.note ?? ''));
    if (hasSources) cells.push(escapeMd(rowSource(r)));
    return `| ${cells.join(' | ')} |`;
  });
  return [`### ${escapeMd(table.title)}`, '', escapeMd(table.caption), '', header, align, ...lines, ''].join('\n');
}

export function tablesToMarkdown(title: string, tables: readonly Table[]): string {
  const legend = 'Best value in **bold**, second best <u>underlined</u>; ↑ higher is better, ↓ lower is better; ' +
    'a ± b is the mean ± sample standard deviation over seeds.';
  return [`# ${escapeMd(title)}`, '', legend, '', ...tables.map(tableToMarkdown)].join('\n');
}
