/** Reports: paper-style tables, charts and image comparisons from run directories. */
export { generateReport } from './report.ts';
export type { ReportOptions, ReportResult } from './report.ts';
export { readRunsDir, readTrialDir } from './run-dir.ts';
export type * from './types.ts';
export { loadPublished, DEFAULT_PUBLISHED_DIR } from './published.ts';
export type { PublishedBenchmark, PublishedRow, PublishedSource } from './published.ts';
export { markRanks } from './table.ts';
export type { Table, Row, Cell, Column } from './table.ts';
export { tablesToMarkdown } from './format-markdown.ts';
export { tablesToLatex, escapeLatex } from './format-latex.ts';
