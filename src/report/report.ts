/** `generateReport`: runs directory (+ published numbers) → index.html, tables.md, tables.tex, results.csv. */
import { mkdirSync } from 'node:fs';
import { writeFileAtomicSync } from '../atomic-write.ts';
import path from 'node:path';
import { ablationTable, mainTables } from './build-tables.ts';
import { buildCharts } from './build-charts.ts';
import { tablesToLatex } from './format-latex.ts';
import { tablesToMarkdown } from './format-markdown.ts';
import { groupTrials } from './groups.ts';
import { renderHtml } from './html.ts';
import { DEFAULT_PUBLISHED_DIR, loadPublished } from './published.ts';
import { buildQualitative, type QualitativeOptions } from './qualitative.ts';
import { resultsCsv } from './results-csv.ts';
import { readRunsDir } from './run-dir.ts';
import type { Stage } from './types.ts';

export interface ReportOptions {
  /** runs/<experiment>/ */
  runsDir: string;
  /** default: reports/<experiment>/ under the current directory */
  outDir?: string;
  /** default: reports/published/ of this checkout */
  publishedDir?: string;
  qualitative?: QualitativeOptions;
  /** timestamp printed in the report (tests pin it) */
  now?: Date;
}

export interface ReportResult {
  experiment: string;
  outDir: string;
  files: { html: string; markdown: string; latex: string; csv: string };
  trials: number;
  stages: Partial<Record<Stage, number>>;
  tables: number;
  charts: number;
  comparisons: number;
  /** unreadable files and fields, per trial */
  problems: string[];
}


export async function generateReport(options: ReportOptions): Promise<ReportResult> {
  const runs = readRunsDir(options.runsDir);
  const published = loadPublished(options.publishedDir ?? DEFAULT_PUBLISHED_DIR);
  const groups = groupTrials(runs.trials);
  const ablation = ablationTable(runs.experiment, groups);
  const tables = [...mainTables(runs.experiment, groups, published), ...(ablation ? [ablation] : [])];
  const charts = await buildCharts(groups, published);
  const qualitative = buildQualitative(groups, options.qualitative);

  const outDir = path.resolve(options.outDir ?? path.join('reports', runs.experiment));
  mkdirSync(outDir, { recursive: true });
  const files = {
    html: path.join(outDir, 'index.html'),
    markdown: path.join(outDir, 'tables.md'),
    latex: path.join(outDir, 'tables.tex'),
    csv: path.join(outDir, 'results.csv'),
  };
  writeFileAtomicSync(files.markdown, tablesToMarkdown(`divd report: ${runs.experiment}`, tables));
  writeFileAtomicSync(files.latex, tablesToLatex(tables));
  writeFileAtomicSync(files.csv, resultsCsv(runs, published));
  writeFileAtomicSync(files.html, renderHtml({ runs, tables, charts, qualitative, published, generatedAt: options.now ?? new Date() }));

  const stages: Partial<Record<Stage, number>> = {};
  for (const t of runs.trials) stages[t.status.stage] = (stages[t.status.stage] ?? 0) + 1;
  return {
    experiment: runs.experiment,
    outDir,
    files,
    trials: runs.trials.length,
    stages,
    tables: tables.length,
    charts: charts.length,
    comparisons: qualitative.comparisons.length,
    problems: runs.trials.flatMap((t) => t.problems),
  };
}
