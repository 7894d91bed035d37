/**
 * `divd status <spec>`: where every trial stands (finished, running with step and ETA, queued in Slurm,
 * pending, failed with the end of its log). `--wait` polls until nothing is queued or running, then writes
 * the report and ends the sweep's tracker run, as `divd run` does when its trials end.
 */
import path from 'node:path';
import { endedOutcomes, finishSweep, sweepStatus, SWEEP_STATES, type SweepStatus, type SweepTrialStatus, type TrialOutcome } from '../runner/index.ts';
import { loadSpec, selectTrials } from '../spec/index.ts';

export interface StatusFlags {
  runs: string;
  only?: string[];
  wait?: boolean;
  poll?: number;
  json?: boolean;
  report: boolean;
  reportDir?: string;
}

function formatEta(s: number): string {
  if (s < 90) return `${Math.round(s)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

function describe(t: SweepTrialStatus): string {
  const parts: string[] = [];
  if (t.state === 'running' || (t.state === 'pending' && t.step)) {
    parts.push(t.stage === 'training' && t.steps ? `training ${t.step ?? 0}/${t.steps}` : (t.stage ?? ''));
    if (t.etaSeconds !== undefined) parts.push(`ETA ${formatEta(t.etaSeconds)}`);
  }
  if (t.process && !t.slurm) parts.push(`pid ${t.process.pid} on ${t.process.host}`);
  if (t.slurm && t.state !== 'finished') parts.push(`Slurm ${t.slurm.task}${t.slurm.state ? ` ${t.slurm.state}` : ''}${t.slurm.reason ? ` (${t.slurm.reason})` : ''}`);
  return parts.filter(Boolean).join(', ');
}

export function formatStatus(s: SweepStatus): string {
  const counts = SWEEP_STATES.filter((k) => s.counts[k]).map((k) => `${s.counts[k]} ${k}`).join(', ');
  const lines = [`${s.experiment}: ${counts || 'no trials'}`];
  for (const t of s.trials) {
    const detail = describe(t);
    lines.push(`  ${t.state.padEnd(8)} ${t.id}  ${t.label}${detail ? `  ${detail}` : ''}`);
    if (t.error) lines.push(`           ${t.error}`);
    for (const l of t.logTail ?? []) lines.push(`           | ${l}`);
  }
  return lines.join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function statusCommand(spec: string, flags: StatusFlags): Promise<number> {
  const plan = loadSpec(spec);
  const trialIds = flags.only?.length ? selectTrials(plan, flags.only).map((t) => t.id) : undefined;
  let status = sweepStatus(plan, flags.runs, { trialIds });
  if (!flags.wait) {
    process.stdout.write(flags.json ? `${JSON.stringify(status)}\n` : `${formatStatus(status)}\n`);
    return 0;
  }
  let last = '';
  const busy = (s: SweepStatus) => (s.counts.queued ?? 0) + (s.counts.running ?? 0) > 0;
  while (busy(status)) {
    const line = `${status.counts.running ?? 0} running, ${status.counts.queued ?? 0} queued, ${status.counts.finished ?? 0} finished, ${status.counts.failed ?? 0} failed`;
    if (!flags.json && line !== last) process.stderr.write(`${line}\n`);
    last = line;
    await sleep(Math.max(0.2, flags.poll ?? 10) * 1000);
    status = sweepStatus(plan, flags.runs, { trialIds });
  }
  const outcomes: TrialOutcome[] = status.trials
    .filter((t) => t.state !== 'pending')
    .map((t) => ({ id: t.id, label: t.label, state: t.state === 'finished' ? 'done' : 'failed', runDir: t.runDir, ...(t.error ? { error: t.error } : {}) }));
  // Nothing ever finished: there is nothing to report on.
  const report = outcomes.some((o) => o.state === 'done') ? await finishSweep(plan, endedOutcomes(plan, flags.runs, outcomes), { runsDir: flags.runs, report: flags.report, reportDir: flags.reportDir }) : undefined;
  if (flags.json) process.stdout.write(`${JSON.stringify({ ...status, ...(report ? { report } : {}) })}\n`);
  else {
    process.stdout.write(`${formatStatus(status)}\n`);
    if (report) process.stdout.write(`report:   ${path.relative(process.cwd(), report.files.html) || report.files.html}\n`);
  }
  return (status.counts.failed ?? 0) > 0 ? 1 : 0;
}
