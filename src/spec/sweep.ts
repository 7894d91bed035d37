/**
 * Sweep expansion. Each entry of `sweep` becomes one axis — a config path with its values, a zip
 * group (paths that vary together), the variants (named partial configs) or the seeds — and the
 * trials are the product of the axes in the order they are written (the first varies slowest),
 * minus the exclude rules. Everything here is a pure function of the validated spec.
 */
import { getPath, leafPaths } from './canonical.ts';
import type { DocPath } from './source.ts';

/** One config path set to one value, remembering where in the file the value was written. */
export interface Assignment {
  path: string;
  value: unknown;
  origin: DocPath;
}

export interface VariantChoice {
  name: string;
  set: Record<string, unknown>;
  origin: DocPath;
}

/** One value of an axis: what it sets and its part of the trial label. */
export interface AxisOption {
  labelParts: string[];
  assignments: Assignment[];
  variant: VariantChoice | null;
}

export interface Axis {
  key: string;
  options: AxisOption[];
}

export interface SweepDoc {
  zip?: Record<string, unknown[]>[];
  variants?: { name: string; set: Record<string, unknown> }[];
  seeds?: number[];
  exclude?: Record<string, unknown>[];
  [path: string]: unknown;
}

/** A structural problem in the sweep, located by document path. */
export interface SweepProblem {
  at: DocPath;
  message: string;
  /** Point at the key rather than the value. */
  key?: boolean;
}

const RESERVED = new Set(['zip', 'variants', 'seeds', 'exclude']);
export const SEED_PATH = 'train.seed';

/** Label text of a value: lists joined with "-" (window sizes read as 4-3-2-1). */
export function formatValue(value: unknown): string {
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) return value.map(String).join('-');
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** Every path a sweep varies through grid axes, zip groups and seeds, with the document path of its entry. */
function axisPaths(sweep: SweepDoc): { path: string; at: DocPath }[] {
  const out: { path: string; at: DocPath }[] = [];
  for (const [key, value] of Object.entries(sweep)) {
    if (!RESERVED.has(key)) out.push({ path: key, at: ['sweep', key] });
    else if (key === 'zip') (value as Record<string, unknown[]>[]).forEach((g, i) => Object.keys(g).forEach((p) => out.push({ path: p, at: ['sweep', 'zip', i, p] })));
    else if (key === 'seeds') out.push({ path: SEED_PATH, at: ['sweep', 'seeds'] });
  }
  return out;
}

/** Short label names: the last path segment unless two swept paths share it. */
function labelNamer(paths: string[]): (path: string) => string {
  const lastSegment = (p: string) => p.slice(p.lastIndexOf('.') + 1);
  const counts = new Map<string, number>();
  for (const p of new Set(paths)) counts.set(lastSegment(p), (counts.get(lastSegment(p)) ?? 0) + 1);
  return (p) => (counts.get(lastSegment(p)) === 1 ? lastSegment(p) : p);
}

export function checkSweep(sweep: SweepDoc): SweepProblem[] {
  const problems: SweepProblem[] = [];
  const firstAt = new Map<string, DocPath>();
  for (const { path, at } of axisPaths(sweep)) {
    const previous = firstAt.get(path);
    if (previous) problems.push({ at, key: true, message: `"${path}" is already varied by ${describeEntry(previous)}; a path can be varied by one sweep entry only` });
    else firstAt.set(path, at);
  }
  (sweep.zip ?? []).forEach((group, i) => {
    const lengths = Object.entries(group).map(([p, v]) => `${p} has ${v.length}`);
    if (new Set(Object.values(group).map((v) => v.length)).size > 1) {
      problems.push({ at: ['sweep', 'zip', i], message: `zip lists differ in length (${lengths.join(', ')}); expected equal lengths, one value per row` });
    }
  });
  const names = new Set<string>();
  (sweep.variants ?? []).forEach((variant, i) => {
    if (names.has(variant.name)) problems.push({ at: ['sweep', 'variants', i, 'name'], message: `variant name "${variant.name}" is used twice; expected unique names (they label trials)` });
    names.add(variant.name);
    for (const leaf of leafPaths(variant.set)) {
      const clash = [...firstAt.keys()].find((p) => p === leaf || leaf.startsWith(`${p}.`) || p.startsWith(`${leaf}.`));
      if (clash) {
        problems.push({
          at: ['sweep', 'variants', i, 'set', ...leaf.split('.')],
          message: `variant "${variant.name}" sets ${leaf}, which ${describeEntry(firstAt.get(clash) ?? [])} also varies; set it in one place`,
        });
      }
    }
  });
  return problems;
}

function describeEntry(at: DocPath): string {
  if (at[1] === 'zip') return `zip group ${String(at[2])}`;
  if (at[1] === 'seeds') return 'sweep.seeds';
  return `sweep["${String(at[1])}"]`;
}

export function buildAxes(sweep: SweepDoc): Axis[] {
  const name = labelNamer(axisPaths(sweep).map((a) => a.path));
  const axes: Axis[] = [];
  for (const [key, value] of Object.entries(sweep)) {
    if (key === 'exclude') continue;
    if (key === 'zip') {
      (value as Record<string, unknown[]>[]).forEach((group, g) => {
        const paths = Object.keys(group);
        const rows = group[paths[0]].length;
        axes.push({
          key: `zip[${g}]`,
          options: Array.from({ length: rows }, (_, r) => ({
            labelParts: paths.map((p) => `${name(p)}=${formatValue(group[p][r])}`),
            assignments: paths.map((p) => ({ path: p, value: group[p][r], origin: ['sweep', 'zip', g, p, r] })),
            variant: null,
          })),
        });
      });
    } else if (key === 'variants') {
      axes.push({
        key,
        options: (value as { name: string; set: Record<string, unknown> }[]).map((v, i) => ({
          labelParts: [v.name],
          assignments: [],
          variant: { name: v.name, set: v.set, origin: ['sweep', 'variants', i] },
        })),
      });
    } else if (key === 'seeds') {
      axes.push({
        key,
        options: (value as number[]).map((seed, i) => ({
          labelParts: [`seed=${seed}`],
          assignments: [{ path: SEED_PATH, value: seed, origin: ['sweep', 'seeds', i] }],
          variant: null,
        })),
      });
    } else {
      axes.push({
        key,
        options: (value as unknown[]).map((v, i) => ({
          labelParts: [`${name(key)}=${formatValue(v)}`],
          assignments: [{ path: key, value: v, origin: ['sweep', key, i] }],
          variant: null,
        })),
      });
    }
  }
  return axes;
}

/** Cartesian product, first axis slowest; one empty combination when there are no axes. */
export function product(axes: Axis[]): AxisOption[][] {
  let combos: AxisOption[][] = [[]];
  for (const axis of axes) combos = combos.flatMap((combo) => axis.options.map((option) => [...combo, option]));
  return combos;
}

/** Does an exclude rule match a trial? Paths compare against the resolved config; `variant` against the variant name. */
export function ruleMatches(rule: Record<string, unknown>, config: unknown, variant: string | null, equal: (a: unknown, b: unknown) => boolean): boolean {
  return Object.entries(rule).every(([key, want]) => (key === 'variant' ? variant === want : equal(getPath(config, key), want)));
}
