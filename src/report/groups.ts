/**
 * Seeds of one configuration form a group: the unit of a table row (mean ± std over its done trials).
 * Trials are grouped by their swept values with the seed axis left out.
 */
import { getPath } from './run-dir.ts';
import type { JsonValue, TrialRecord } from './types.ts';

export interface TrialGroup {
  /** canonical JSON of the non-seed swept values, the dataset and the variant name */
  key: string;
  /**
   * "windows=[4,3,2,1], frames=4"; a variant's name first ("frame PE only", "full, windows=[4,2,1]") with the
   * values it sets left out; or the trials' common label when nothing is swept
   */
  label: string;
  /** The sweep variant the group's trials belong to, when the spec has variants. */
  variant?: string;
  /** non-seed swept values, config path → value */
  swept: Record<string, JsonValue>;
  dataset: string;
  trials: TrialRecord[];
}

/** An axis is a seed axis when its last path segment is "seed" or "seeds" ("train.seed"). */
export function isSeedAxis(path: string): boolean {
  return /(^|\.)seeds?$/.test(path);
}

/** Compact text of a swept value: [4,3,2,1], true, {framePE: true, relBias: false} → framePE+relBias. */
export function formatSweptValue(v: JsonValue): string {
  if (Array.isArray(v)) return `[${v.map(formatSweptValue).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    // A record of booleans (MRPE parts) reads best as the parts that are on.
    if (entries.length > 0 && entries.every(([, x]) => typeof x === 'boolean')) {
      const on = entries.filter(([, x]) => x).map(([k]) => k);
      return on.length > 0 ? on.join('+') : 'none';
    }
    return `{${entries.map(([k, x]) => `${k}: ${formatSweptValue(x)}`).join(', ')}}`;
  }
  return String(v);
}

export function shortAxis(path: string): string {
  return path.split('.').pop() ?? path;
}

/** The dataset a trial evaluated on: config data.dataset, data.name or data.source, lower-cased. */
export function trialDataset(t: TrialRecord): string {
  for (const p of ['data.dataset', 'data.name', 'data.source']) {
    const v = getPath(t.config, p);
    if (typeof v === 'string' && v !== '') return v.toLowerCase();
  }
  return 'unknown';
}

function canonical(v: JsonValue): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k] as JsonValue)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Groups in first-appearance order of the trials (the runner writes trials in sweep order). */
export function groupTrials(trials: readonly TrialRecord[]): TrialGroup[] {
  const groups = new Map<string, TrialGroup>();
  const setByVariant = variantAxes(trials);
  for (const t of trials) {
    const swept: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(t.info.swept)) if (!isSeedAxis(k)) swept[k] = v;
    const dataset = trialDataset(t);
    const variant = t.info.variant;
    const key = canonical({ swept, dataset, ...(variant !== undefined ? { variant } : {}) });
    let g = groups.get(key);
    if (!g) {
      const parts = Object.entries(swept)
        .filter(([k]) => variant === undefined || !setByVariant.has(k))
        .map(([k, v]) => `${shortAxis(k)}=${formatSweptValue(v)}`);
      if (variant !== undefined) parts.unshift(variant);
      g = { key, label: parts.join(', '), swept, dataset, trials: [], ...(variant !== undefined ? { variant } : {}) };
      groups.set(key, g);
    }
    g.trials.push(t);
  }
  for (const g of groups.values()) {
    if (g.label !== '') continue;
    const labels = new Set(g.trials.map((t) => t.info.label));
    g.label = labels.size === 1 ? [...labels][0]! : 'default';
  }
  return [...groups.values()];
}

/**
 * The axes a variant determines: each variant's trials agree on their value (other axes — a grid crossed
 * with the variants, seeds — vary within a variant). A variant's label leaves them out, since its name says it.
 */
export function variantAxes(trials: readonly TrialRecord[]): Set<string> {
  const byVariant = new Map<string, Map<string, string>>();
  const varying = new Set<string>();
  for (const t of trials) {
    if (t.info.variant === undefined) continue;
    let seen = byVariant.get(t.info.variant);
    if (!seen) byVariant.set(t.info.variant, (seen = new Map()));
    for (const [k, v] of Object.entries(t.info.swept)) {
      if (isSeedAxis(k)) continue;
      const text = canonical(v);
      const before = seen.get(k);
      if (before === undefined) seen.set(k, text);
      else if (before !== text) varying.add(k);
    }
  }
  const out = new Set<string>();
  for (const seen of byVariant.values()) for (const k of seen.keys()) if (!varying.has(k)) out.add(k);
  return out;
}

/** Non-seed swept axes across all trials, in first-appearance order. */
export function sweptAxes(trials: readonly TrialRecord[]): string[] {
  const axes: string[] = [];
  for (const t of trials) for (const k of Object.keys(t.info.swept)) if (!isSeedAxis(k) && !axes.includes(k)) axes.push(k);
  return axes;
}

/** "2 of 3 seeds done; 1 failed: out of memory" — empty when every trial is done. */
export function groupNote(g: TrialGroup): string {
  const notDone = g.trials.filter((t) => t.status.stage !== 'done' || !t.metrics);
  if (notDone.length === 0) return '';
  const describe = (t: TrialRecord): string => {
    const s = t.status;
    if (s.stage === 'failed') return `failed${s.error ? `: ${truncate(s.error, 80)}` : ''}`;
    if (s.stage === 'done') return 'done without metrics.json';
    if (s.stage === 'pending') return 'pending';
    if (s.stage === 'trained' || s.stage === 'sampled') return `${s.stage}, not yet evaluated`;
    return `running (${s.stage}${s.step !== undefined ? `, step ${s.step}` : ''})`;
  };
  const parts = notDone.map((t) => (g.trials.length > 1 ? `${t.id} ${describe(t)}` : describe(t)));
  const done = g.trials.length - notDone.length;
  const prefix = g.trials.length > 1 ? `${done} of ${g.trials.length} seeds done; ` : '';
  return prefix + parts.join('; ');
}

function truncate(s: string, n: number): string {
  const line = s.split('\n')[0] ?? '';
  return line.length > n ? `${line.slice(0, n - 1)}…` : line;
}
