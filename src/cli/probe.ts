/**
 * `divd probe <run dir | runs/<experiment>>...`: the temporal-context probe of runner/context-probe.ts on one
 * trial or every trained trial of an experiment, as text or JSON. A trial whose probe-context.json already
 * belongs to the checkpoint asked for is not probed again (unless --force), so re-running after adding
 * trials only probes the new ones.
 */
import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '../backend/index.ts';
import { UsageError } from '../errors.ts';
import { openTrialDir, parseCheckpointChoice, probeContext, PROBE_FILE, readProbe, selectCheckpoint, type CheckpointChoice, type ContextProbe } from '../runner/index.ts';
import { hasCheckpoints } from '../runner/reuse.ts';

export interface ProbeFlags {
  checkpoint?: string;
  force?: boolean;
  backend?: string;
  threads?: number;
  json?: boolean;
  quiet?: boolean;
}

const isRunDir = (d: string) => fs.existsSync(path.join(d, 'config.json')) && fs.existsSync(path.join(d, 'trial.json'));

/** The trial's position in its spec (trial.json `index`); after every indexed one when absent. */
function specIndex(runDir: string): number {
  try {
    const index = (JSON.parse(fs.readFileSync(path.join(runDir, 'trial.json'), 'utf8')) as { index?: unknown }).index;
    return typeof index === 'number' ? index : Infinity;
  } catch {
    return Infinity;
  }
}

/** Run directories named, or found one level down in an experiment folder (those with checkpoints). */
export function probeTargets(dirs: readonly string[]): { runDirs: string[]; skipped: string[] } {
  const runDirs: string[] = [];
  const skipped: string[] = [];
  for (const d of dirs) {
    const abs = path.resolve(d);
    if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw new UsageError(`${d}: not a directory (expected a run directory or runs/<experiment>/)`);
    if (isRunDir(abs)) {
      runDirs.push(abs);
      continue;
    }
    const trials = fs
      .readdirSync(abs)
      .sort()
      .map((n) => path.join(abs, n))
      .filter((p) => fs.statSync(p).isDirectory() && isRunDir(p))
      .sort((a, b) => specIndex(a) - specIndex(b)); // the spec's order, as the report lists them
    if (trials.length === 0) throw new UsageError(`${d}: neither a run directory (no config.json and trial.json) nor an experiment folder holding any`);
    for (const t of trials) (hasCheckpoints(path.join(t, 'checkpoints')) ? runDirs : skipped).push(t);
  }
  return { runDirs, skipped };
}

/** The probe already on disk for this checkpoint step, if any. */
function cachedProbe(runDir: string, step: number): ContextProbe | undefined {
  const p = readProbe(runDir);
  return p?.checkpointStep === step ? p : undefined;
}

function signed(x: number, digits: number): string {
  return (x >= 0 ? '+' : '') + x.toFixed(digits);
}

function verdict(p: ContextProbe): string {
  if (p.frames === 1) return 'F = 1: the model sees one frame at a time, so there is no context to probe.';
  return p.gain > 0
    ? `the other frames take ${(100 * p.relativeGain).toFixed(1)}% off the test loss`
    : `no gain from the other frames (${(100 * p.relativeGain).toFixed(1)}%): the model does not use them yet`;
}

/** One trial: the loss at every noise level, in its window and alone. */
function describeOne(p: ContextProbe): string {
  const rows = p.withContext.levels.map((t) => {
    const a = p.withContext.byTimestep[String(t)]!;
    const b = p.isolated.byTimestep[String(t)]!;
    return `  t=${String(t).padEnd(5)} ${a.toFixed(5)}    ${b.toFixed(5)}   ${signed(b - a, 5)}`;
  });
  return [
    `${p.label}: test loss of the EMA weights at step ${p.checkpointStep}, F = ${p.frames}`,
    `  level    in window  alone      alone - in window`,
    ...rows,
    `  mean     ${p.withContext.loss.toFixed(5)}    ${p.isolated.loss.toFixed(5)}   ${signed(p.gain, 5)}`,
    verdict(p),
    `written to ${path.join(p.runDir, PROBE_FILE)}`,
  ].join('\n');
}

/** Several trials: one line each. */
function describeMany(probes: readonly ContextProbe[]): string {
  const width = Math.max(5, ...probes.map((p) => p.label.length));
  const lines = probes.map(
    (p) =>
      `${p.label.padEnd(width)}  ${String(p.frames).padStart(2)}  ${String(p.checkpointStep).padStart(8)}  ${p.withContext.loss.toFixed(5)}    ${p.isolated.loss.toFixed(5)}  ${signed(100 * p.relativeGain, 1).padStart(6)}%`,
  );
  return [`${'trial'.padEnd(width)}   F      step  in window  alone    context gain`, ...lines, `(each run directory's ${PROBE_FILE}; divd report shows them as columns)`].join('\n');
}

export async function probeCommand(dirs: readonly string[], flags: ProbeFlags): Promise<number> {
  const checkpoint: CheckpointChoice = parseCheckpointChoice(flags.checkpoint ?? 'last');
  const { runDirs, skipped } = probeTargets(dirs);
  // Every trial is checked (a directory, a checkpoint to load) before the backend starts or any work is done.
  const plans = runDirs.map((d) => {
    const { dir, trial } = openTrialDir(d);
    return { runDir: d, step: selectCheckpoint(dir, trial.id, checkpoint).step };
  });
  const quiet = flags.quiet || flags.json;
  for (const s of skipped) if (!quiet) process.stderr.write(`skipping ${s}: no checkpoint (not trained yet)\n`);
  let started = false;
  const probes: ContextProbe[] = [];
  for (const plan of plans) {
    const cached = flags.force ? undefined : cachedProbe(plan.runDir, plan.step);
    if (cached) {
      if (!quiet) process.stderr.write(`${cached.label}: probe of step ${plan.step} already in ${PROBE_FILE} (--force redoes it)\n`);
      probes.push(cached);
      continue;
    }
    if (!started) {
      const info = await initBackend({ requested: flags.backend, threads: flags.threads });
      if (!quiet) process.stderr.write(`backend ${info.name}${info.name === 'wasm' ? ` (${info.threads} threads)` : ''}\n`);
      started = true;
    }
    probes.push(await probeContext(plan.runDir, { checkpoint, quiet }));
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(dirs.length === 1 && isRunDir(path.resolve(dirs[0]!)) ? probes[0] : probes)}\n`);
  else process.stdout.write(`${probes.length === 1 && dirs.length === 1 ? describeOne(probes[0]!) : describeMany(probes)}\n`);
  return 0;
}
