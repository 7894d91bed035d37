/**
 * `divd report <runs dir> [--out DIR] [--json]`: renders reports/<experiment>/ from runs/<experiment>/.
 * Accepts a runs directory only for now; a spec path is accepted once a spec loader can map it to one.
 */
import { existsSync, statSync } from 'node:fs';
import { UsageError } from '../errors.ts';
import { generateReport, type ReportResult } from '../report/index.ts';

export interface ReportCommandOptions {
  out?: string;
  json?: boolean;
  published?: string;
}

export function formatReportResult(r: ReportResult): string {
  const stages = Object.entries(r.stages).map(([s, n]) => `${n} ${s}`).join(', ');
  const lines = [
    `report for ${r.experiment}: ${r.trials} trials (${stages}), ${r.tables} tables, ${r.charts} charts, ${r.comparisons} image comparisons`,
    `  ${r.files.html}`,
    `  ${r.files.markdown}`,
    `  ${r.files.latex}`,
    `  ${r.files.csv}`,
  ];
  if (r.problems.length > 0) lines.push(`${r.problems.length} problem(s) reading the runs:`, ...r.problems.map((p) => `  ${p}`));
  return lines.join('\n');
}

export async function reportCommand(target: string, opts: ReportCommandOptions): Promise<void> {
  if (existsSync(target) && statSync(target).isFile()) {
    throw new UsageError(
      `${target} is a file: pass the experiment's runs directory (runs/<experiment>/); reading a spec is not supported by this command yet`,
    );
  }
  const result = await generateReport({
    runsDir: target,
    ...(opts.out ? { outDir: opts.out } : {}),
    ...(opts.published ? { publishedDir: opts.published } : {}),
  });
  process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatReportResult(result)}\n`);
}
