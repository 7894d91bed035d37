/**
 * `divd train|sample|eval --trial <run dir>`: one stage of one trial, from its run directory alone, through
 * the same stage functions `divd trial` runs in order. Thin: flags → runner options, result → text or JSON.
 */
import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '../backend/index.ts';
import { writeJsonAtomicSync } from '../atomic-write.ts';
import { UsageError } from '../errors.ts';
import { installInterruptHandler } from '../runner/interrupt.ts';
import { openTrialDir, parseCheckpointChoice, PROBE_FILE, readProbe, runTrialStage, selectCheckpoint, type StageResult } from '../runner/index.ts';
import { SAMPLE_WINDOWS, TIMESTEP_SPACINGS, type SampleWindow, type TimestepSpacing } from '../diffusion/index.ts';
import type { SampleConfig } from '../spec/index.ts';

export interface StageFlags {
  trial: string;
  backend?: string;
  threads?: number;
  json?: boolean;
  quiet?: boolean;
}

/** The flags of main.ts's samplingOverrideOptions, shared by `divd sample` and `divd deblur`. */
export interface SamplingOverrideFlags {
  sampler?: string;
  steps?: number;
  spacing?: string;
  seed?: number;
  tile?: number;
  tileOverlap?: number;
  window?: string;
}

export interface SampleFlags extends StageFlags, SamplingOverrideFlags {
  checkpoint?: string;
  out?: string;
  force?: boolean;
}

async function startBackend(flags: StageFlags): Promise<void> {
  const info = await initBackend({ requested: flags.backend, threads: flags.threads });
  if (!flags.json && !flags.quiet) process.stderr.write(`backend ${info.name}${info.name === 'wasm' ? ` (${info.threads} threads)` : ''}\n`);
}

/** Sample-config overrides from flags; unknown samplers are refused here, before any work. */
export function sampleOverrides(flags: SamplingOverrideFlags): Partial<SampleConfig> {
  const o: Partial<SampleConfig> = {};
  if (flags.sampler !== undefined) {
    if (flags.sampler !== 'ddim' && flags.sampler !== 'ddpm') throw new UsageError(`--sampler must be ddim or ddpm, got ${JSON.stringify(flags.sampler)}`);
    o.sampler = flags.sampler;
  }
  if (flags.steps !== undefined) o.steps = flags.steps;
  if (flags.spacing !== undefined) {
    const known: readonly string[] = TIMESTEP_SPACINGS;
    if (!known.includes(flags.spacing)) throw new UsageError(`--spacing must be ${TIMESTEP_SPACINGS.join(' or ')}, got ${JSON.stringify(flags.spacing)}`);
    o.spacing = flags.spacing as TimestepSpacing;
  }
  if (flags.seed !== undefined) o.seed = flags.seed;
  if (flags.tile !== undefined) o.tile = flags.tile;
  if (flags.tileOverlap !== undefined) o.tileOverlap = flags.tileOverlap;
  if (flags.window !== undefined) {
    const known: readonly string[] = SAMPLE_WINDOWS;
    if (!known.includes(flags.window)) throw new UsageError(`--window must be ${SAMPLE_WINDOWS.join(' or ')}, got ${JSON.stringify(flags.window)}`);
    o.window = flags.window as SampleWindow;
  }
  return o;
}

/** An output folder must be new or empty unless --force: sampling replaces what is there. */
export function checkOutputFree(out: string, force: boolean | undefined): void {
  if (!fs.existsSync(out) || force) return;
  const stat = fs.statSync(out);
  if (stat.isDirectory() ? fs.readdirSync(out).length > 0 : stat.size > 0) {
    throw new UsageError(`-o ${out} exists and is not empty; pass --force to replace it`);
  }
}

function print(flags: StageFlags, json: unknown, text: string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
}

function stopMessage(): void {
  process.stderr.write('\ndivd: stopping after the current step and saving a checkpoint (Ctrl-C again to exit now)\n');
}

export async function trainStageCommand(flags: StageFlags): Promise<number> {
  openTrialDir(flags.trial); // a bad directory is refused before the backend starts
  installInterruptHandler(stopMessage);
  await startBackend(flags);
  const r = (await runTrialStage(flags.trial, 'train', { quiet: flags.quiet || flags.json })) as Extract<StageResult, { stage: 'train' }>;
  print(flags, r, `trained ${r.runDir}\ncheckpoint: ${r.checkpoint}\nnext: divd sample --trial ${flags.trial}`);
  return 0;
}

export async function sampleStageCommand(flags: SampleFlags): Promise<number> {
  const checkpoint = parseCheckpointChoice(flags.checkpoint ?? 'last');
  const sample = sampleOverrides(flags);
  const outDir = flags.out === undefined ? undefined : path.resolve(flags.out);
  if (outDir) checkOutputFree(outDir, flags.force);
  const { dir, trial } = openTrialDir(flags.trial);
  selectCheckpoint(dir, trial.id, checkpoint);
  await startBackend(flags);
  const r = (await runTrialStage(flags.trial, 'sample', { quiet: flags.quiet || flags.json, sample: { checkpoint, sample, ...(outDir ? { outDir } : {}) } })) as Extract<StageResult, { stage: 'sample' }>;
  const s = r.samples;
  print(flags, r, `${s.frames} frames restored with the EMA weights of step ${s.checkpoint.step} into ${s.samplesDir}${outDir ? '' : `\nnext: divd eval --trial ${flags.trial}`}`);
  return 0;
}

export async function evalStageCommand(flags: StageFlags & { out?: string }): Promise<number> {
  openTrialDir(flags.trial);
  await startBackend({ ...flags, quiet: true });
  const r = (await runTrialStage(flags.trial, 'eval', { quiet: flags.quiet || flags.json })) as Extract<StageResult, { stage: 'eval' }>;
  // What the stage wrote (the scores plus the blurry-input baseline), so --json and -o equal metrics.json.
  const json = JSON.parse(fs.readFileSync(path.join(r.runDir, 'metrics.json'), 'utf8')) as { input?: Record<string, number> };
  if (flags.out) writeJsonAtomicSync(path.resolve(flags.out), json);
  const lines = [`${r.metrics.count} frames scored into ${path.join(r.runDir, 'metrics.json')}`];
  for (const [k, v] of Object.entries(r.metrics.metrics)) lines.push(`  ${k.padEnd(6)} ${typeof v === 'number' ? v.toFixed(4) : `${v.mean.toFixed(5)} ± ${v.std.toFixed(5)}`}`);
  for (const [k, why] of Object.entries(r.metrics.unavailable)) lines.push(`  ${k.padEnd(6)} not computed: ${why.split('\n')[0]}`);
  const input = Object.entries(json.input ?? {}).map(([k, v]) => `${k} ${v.toFixed(4)}`);
  if (input.length) lines.push(`  (the blurry input itself: ${input.join(', ')})`);
  // eval.contextProbe: the stage wrote probe-context.json for the checkpoint it scored.
  const scored = (json as { testLoss?: { checkpointStep?: number } }).testLoss?.checkpointStep;
  const probe = readProbe(r.runDir);
  if (probe && scored !== undefined && probe.checkpointStep === scored) {
    lines.push(`  loss, frames alone ${probe.isolated.loss.toFixed(5)}: context gain ${(100 * probe.relativeGain).toFixed(1)}% (${PROBE_FILE})`);
  }
  print(flags, json, lines.join('\n'));
  return 0;
}
