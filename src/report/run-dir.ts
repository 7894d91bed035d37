/**
 * Typed, tolerant reader for `runs/<experiment>/`. A trial whose files are missing or malformed is still
 * returned (with its status and the problems found), so the report shows it instead of dropping it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import {
  STAGES,
  type ExperimentRuns,
  type JsonObject,
  type JsonValue,
  type LogPoint,
  type MetricValues,
  type SampleIndex,
  type SequenceMetrics,
  type Stage,
  type TrialInfo,
  type TrialMetrics,
  type TrialRecord,
  type TrialStatus,
} from './types.ts';

const METRIC_KEYS = ['psnr', 'ssim', 'lpips', 'fid', 'kid', 'kidStd', 'loss'] as const;
const SEQUENCE_KEYS = ['psnr', 'ssim', 'lpips', 'frames'] as const;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a JSON object file; undefined when absent, a problem string when unreadable. */
function readJsonObject(file: string, problems: string[]): JsonObject | undefined {
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    problems.push(`${file}: not valid JSON (${(e as Error).message})`);
    return undefined;
  }
  if (!isObject(parsed)) {
    problems.push(`${file}: expected a JSON object`);
    return undefined;
  }
  return parsed;
}

function finiteNumber(v: JsonValue | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function pickNumbers<K extends string>(obj: JsonObject, keys: readonly K[], where: string, problems: string[]) {
  const out: Partial<Record<K, number>> = {};
  for (const k of keys) {
    if (obj[k] === undefined || obj[k] === null) continue;
    const n = finiteNumber(obj[k]);
    if (n === undefined) problems.push(`${where}.${k}: expected a finite number, got ${JSON.stringify(obj[k])}`);
    else out[k] = n;
  }
  return out;
}

export function parseMetrics(obj: JsonObject, file: string, problems: string[]): TrialMetrics {
  // The runner writes metrics-core's layout ({metrics: {psnr, …, kid: {mean, std}}}); `overall` with a flat
  // kid/kidStd is accepted too (hand-written or older run directories).
  const key = obj.overall !== undefined ? 'overall' : 'metrics';
  let section = obj[key];
  if (isObject(section) && isObject(section.kid)) {
    const { kid, ...rest } = section;
    section = { ...rest, kid: kid.mean ?? null, kidStd: kid.std ?? null };
  }
  const overall: MetricValues = isObject(section) ? pickNumbers(section, METRIC_KEYS, `${file}: ${key}`, problems) : {};
  if (section !== undefined && !isObject(section)) problems.push(`${file}: ${key}: expected an object`);
  const sequences: Record<string, SequenceMetrics> = {};
  if (isObject(obj.sequences)) {
    for (const [seq, m] of Object.entries(obj.sequences)) {
      if (isObject(m)) sequences[seq] = pickNumbers(m, SEQUENCE_KEYS, `${file}: sequences.${seq}`, problems);
      else problems.push(`${file}: sequences.${seq}: expected an object`);
    }
  }
  const input = isObject(obj.input) ? pickNumbers(obj.input, METRIC_KEYS, `${file}: input`, problems) : undefined;
  if (obj.input !== undefined && !isObject(obj.input)) problems.push(`${file}: input: expected an object`);
  return { overall, sequences, ...(input ? { input } : {}) };
}

/** probe-context.json (`divd probe`): the frame-alone test loss and the context gain, as report metrics. */
export function parseProbe(obj: JsonObject, file: string, problems: string[]): MetricValues {
  const isolated = isObject(obj.isolated) ? finiteNumber(obj.isolated.loss) : undefined;
  const gain = finiteNumber(obj.relativeGain);
  if (isolated === undefined || gain === undefined) {
    problems.push(`${file}: expected isolated.loss and relativeGain (finite numbers, as divd probe writes them)`);
    return {};
  }
  return { lossAlone: isolated, contextGain: gain };
}

function parseStatus(obj: JsonObject | undefined, file: string, hasMetrics: boolean, problems: string[]): TrialStatus {
  // No status.json: a trial with metrics has finished; one without has not started as far as we can tell.
  const inferred: TrialStatus = { stage: hasMetrics ? 'done' : 'pending' };
  if (!obj) return inferred;
  if (typeof obj.stage !== 'string' || !STAGES.includes(obj.stage as Stage)) {
    problems.push(`${file}: stage: expected one of ${STAGES.join(', ')}, got ${JSON.stringify(obj.stage)}`);
    return inferred;
  }
  const status: TrialStatus = { stage: obj.stage as Stage };
  const step = finiteNumber(obj.step);
  if (step !== undefined) status.step = step;
  for (const k of ['error', 'startedAt', 'endedAt'] as const) {
    const v = obj[k];
    if (typeof v === 'string') status[k] = v;
  }
  return status;
}

function parseInfo(obj: JsonObject | undefined, dirName: string, config: JsonObject | undefined): TrialInfo {
  const swept = obj && isObject(obj.swept) ? obj.swept : {};
  const info: TrialInfo = {
    id: typeof obj?.id === 'string' ? obj.id : dirName,
    label: typeof obj?.label === 'string' && obj.label !== '' ? obj.label : dirName,
    swept,
  };
  const seed = finiteNumber(obj?.seed) ?? finiteNumber(getPath(config, 'train.seed'));
  if (seed !== undefined) info.seed = seed;
  if (typeof obj?.mlflowRunId === 'string') info.mlflowRunId = obj.mlflowRunId;
  if (typeof obj?.variant === 'string' && obj.variant !== '') info.variant = obj.variant;
  const index = finiteNumber(obj?.index);
  if (index !== undefined) info.index = index;
  return info;
}

export function parseLog(text: string, file: string, problems: string[]): LogPoint[] {
  const points: LogPoint[] = [];
  let bad = 0;
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const o: unknown = JSON.parse(line);
      const step = isObject(o) ? finiteNumber(o.step) : undefined;
      if (!isObject(o) || step === undefined) throw new Error('no numeric step');
      const p: LogPoint = { step };
      for (const k of ['loss', 'lr', 'time', 'valLoss'] as const) {
        const n = finiteNumber(o[k]);
        if (n !== undefined) p[k] = n;
      }
      points.push(p);
    } catch {
      // A trial killed mid-write leaves a torn last line; count bad lines, report the first.
      if (bad++ === 0) problems.push(`${file}:${i + 1}: not a JSON object with a numeric "step"`);
    }
  });
  if (bad > 1) problems.push(`${file}: ${bad} unreadable lines in total`);
  return points;
}

function listSamples(dir: string): SampleIndex {
  const root = path.join(dir, 'samples');
  const frames: Record<string, string[]> = {};
  if (!existsSync(root)) return { frames };
  for (const seq of readdirSync(root).sort()) {
    const seqDir = path.join(root, seq);
    if (!statSync(seqDir).isDirectory()) continue;
    const names = readdirSync(seqDir)
      .filter((f) => f.toLowerCase().endsWith('.png'))
      .map((f) => f.slice(0, -4))
      .sort(naturalCompare);
    if (names.length > 0) frames[seq] = names;
  }
  return { frames };
}

/** "2" before "10": frame names are usually zero-padded numbers, but not always. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Value at a dotted config path ("model.windows"), or undefined. */
export function getPath(obj: JsonValue | undefined, dotted: string): JsonValue | undefined {
  let cur: JsonValue | undefined = obj;
  for (const part of dotted.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

export function readTrialDir(dir: string): TrialRecord {
  const problems: string[] = [];
  const id = path.basename(dir);
  const config = readJsonObject(path.join(dir, 'config.json'), problems);
  const infoObj = readJsonObject(path.join(dir, 'trial.json'), problems);
  const metricsFile = path.join(dir, 'metrics.json');
  const metricsObj = readJsonObject(metricsFile, problems);
  const parsed = metricsObj ? parseMetrics(metricsObj, metricsFile, problems) : undefined;
  const probeFile = path.join(dir, 'probe-context.json');
  const probe = parsed ? readJsonObject(probeFile, problems) : undefined;
  const metrics = parsed && probe ? { ...parsed, overall: { ...parsed.overall, ...parseProbe(probe, probeFile, problems) } } : parsed;
  const statusFile = path.join(dir, 'status.json');
  const status = parseStatus(readJsonObject(statusFile, problems), statusFile, metrics !== undefined, problems);
  const logFile = path.join(dir, 'log.jsonl');
  const log = existsSync(logFile) ? parseLog(readFileSync(logFile, 'utf8'), logFile, problems) : [];
  const info = parseInfo(infoObj, id, config);
  if (info.id !== id) problems.push(`${path.join(dir, 'trial.json')}: id ${JSON.stringify(info.id)} differs from the directory name`);
  return { id, dir, info, config, status, metrics, log, samples: listSamples(dir), problems };
}

/** Reads every trial directory under `runs/<experiment>/` (a directory is a trial if it holds any contract file). */
export function readRunsDir(dir: string): ExperimentRuns {
  const abs = path.resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) {
    throw new UsageError(`runs directory ${dir} does not exist or is not a directory (expected runs/<experiment>/)`);
  }
  const contractFiles = ['config.json', 'trial.json', 'status.json', 'metrics.json', 'log.jsonl'];
  const trials = readdirSync(abs)
    .sort()
    .map((name) => path.join(abs, name))
    .filter((d) => statSync(d).isDirectory() && contractFiles.some((f) => existsSync(path.join(d, f))))
    .map(readTrialDir)
    // The spec's order (a sweep's 1, 2, 4 rather than the ids' hash order); directories without one after, by id.
    .sort((a, b) => (a.info.index ?? Infinity) - (b.info.index ?? Infinity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (trials.length === 0) {
    throw new UsageError(
      `runs directory ${dir} holds no trial directories (each needs at least one of ${contractFiles.join(', ')}); ` +
        'pass runs/<experiment>/, not runs/',
    );
  }
  return { experiment: path.basename(abs), dir: abs, trials };
}
