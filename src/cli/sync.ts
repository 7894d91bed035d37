/** `divd sync [runs dir]`: replay tracking spools left by trials that could not reach MLflow. */
import fs from 'node:fs';
import { UsageError } from '../errors.ts';
import { syncSpools, type SyncReport } from '../tracking/index.ts';

export interface SyncCommandOptions {
  trackingUri?: string;
  json?: boolean;
}

export function formatSyncReport(root: string, r: SyncReport): string {
  if (r.spools.length === 0) return `no tracking spools under ${root}: nothing to sync`;
  const lines = [
    `${r.spools.length} spool(s) under ${root}: ${r.replayed} record(s) replayed` +
      (r.duplicatesSkipped ? `, ${r.duplicatesSkipped} metric point(s) already on the server skipped` : ''),
  ];
  for (const f of r.failed) lines.push(`  failed  ${f.runDir}: ${f.error}`);
  for (const b of r.blocked) lines.push(`  waiting ${b.runDir}: parent run ${b.parentRunId} was not synced`);
  return lines.join('\n');
}

/** Returns the exit code: 0 when every spool is fully replayed, 1 otherwise. */
export async function runSync(runsDir: string, opts: SyncCommandOptions): Promise<number> {
  if (!fs.existsSync(runsDir) || !fs.statSync(runsDir).isDirectory()) {
    throw new UsageError(`runs directory ${runsDir} does not exist (expected the directory trials write into, e.g. runs/)`);
  }
  if (opts.trackingUri !== undefined && !/^https?:\/\//i.test(opts.trackingUri)) {
    throw new UsageError(`--tracking-uri ${JSON.stringify(opts.trackingUri)}: expected an http(s):// MLflow server URL`);
  }
  const report = await syncSpools(runsDir, opts.trackingUri ? { url: opts.trackingUri.replace(/\/+$/, '') } : {});
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatSyncReport(runsDir, report)}\n`);
  return report.failed.length === 0 && report.blocked.length === 0 ? 0 : 1;
}
