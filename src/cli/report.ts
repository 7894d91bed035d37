/**
 * `divd report <spec | runs dir> [--out DIR] [--json]`: renders reports/<experiment>/ from runs/<experiment>/
 * (a spec names its experiment; its runs live under --runs, default runs/).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadSpec } from '../spec/index.ts';
import { UsageError } from '../errors.ts';
import { generateReport, type ReportResult } from '../report/index.ts';

export interface ReportCommandOptions {
  out?: string;
  json?: boolean;
  published?: string;
  runs?: string;
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
  let runsDir = target;
  if (existsSync(target) && statSync(target).isFile()) {
    if (!/\.ya?ml$/i.test(target)) throw new UsageError(`${target}: expected an experiment spec (.yaml) or a runs directory (runs/<experiment>/)`);
    runsDir = path.join(opts.runs ?? 'runs', loadSpec(target).name);
  }
  const result = await generateReport({
    runsDir,
    ...(opts.out ? { outDir: opts.out } : {}),
    ...(opts.published ? { publishedDir: opts.published } : {}),
  });
  process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatReportResult(result)}\n`);
}
