/**
 * Spec problems as data (file, line, column, config path, message) and their translation from ajv's
 * errors into "found X, expected Y" sentences with a "did you mean" for typos.
 */
import type { ErrorObject } from 'ajv';
import { UsageError } from '../errors.ts';
import { closest } from './suggest.ts';
import type { DocPath, SpecSource } from './source.ts';

export interface SpecIssue {
  file: string;
  line: number;
  col: number;
  /** Where in the document, e.g. `base.model.windows[2]` or `sweep["model.windows"][1]`. */
  path: string;
  message: string;
}

/** Every problem found in one spec; a UsageError, so the CLI exits 2. */
export class SpecError extends UsageError {
  constructor(readonly issues: SpecIssue[]) {
    super(formatIssues(issues));
    this.name = 'SpecError';
  }
}

export function formatIssues(issues: SpecIssue[]): string {
  const n = issues.length;
  const lines = issues.map((i) => `  ${i.file}:${i.line}:${i.col}  ${i.path ? `${i.path}: ` : ''}${i.message}`);
  return `invalid spec (${n} problem${n === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

/** Sort by position and drop exact repeats (the same problem reached through two trials). */
export function tidyIssues(issues: SpecIssue[]): SpecIssue[] {
  const seen = new Set<string>();
  return [...issues]
    .sort((a, b) => a.line - b.line || a.col - b.col || a.path.localeCompare(b.path))
    .filter((i) => {
      const key = `${i.line}:${i.col}:${i.path}:${i.message}`;
      return seen.has(key) ? false : (seen.add(key), true);
    });
}

export function formatPath(path: DocPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list ${truncate(JSON.stringify(value))}`;
  if (typeof value === 'object') return `a mapping ${truncate(JSON.stringify(value))}`;
  if (typeof value === 'string') return `the string ${truncate(JSON.stringify(value))}`;
  return String(value);
}

const truncate = (s: string, max = 48) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

const ARTICLE: Record<string, string> = {
  integer: 'an integer', number: 'a number', string: 'a string', boolean: 'true or false', array: 'a list',
  object: 'a mapping', null: 'null',
};

/** Context the translator needs beyond ajv's error: which config paths exist (for sweep-key hints). */
export interface TranslateContext {
  /** Config paths that are whole sections (`model.mrpe`): sweeping one gets a pointed hint. */
  sectionPaths: ReadonlySet<string>;
}

export function issueFromAjv(error: ErrorObject, source: SpecSource, ctx: TranslateContext): SpecIssue | null {
  const path = pointerToPath(error.instancePath);
  const at = (p: DocPath, key = false) => {
    const pos = key ? source.keyAt(p) : source.valueAt(p);
    return { file: source.file, line: pos.line, col: pos.col, path: formatPath(p) };
  };
  const found = describeValue(error.data);
  const params = error.params as Record<string, unknown>;
  const inSweep = path[0] === 'sweep';
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const parent = error.parentSchema as { properties?: Record<string, unknown> } | undefined;
      const candidates = Object.keys(parent?.properties ?? {});
      let message = `unknown key "${key}"`;
      const guess = closest(key, candidates);
      if (inSweep && ctx.sectionPaths.has(key)) {
        message += `: "${key}" is a section; sweep one of its fields (e.g. "${candidates.find((c) => c.startsWith(`${key}.`)) ?? `${key}.…`}") or use variants for several at once`;
      } else if (guess) message += `; did you mean "${guess}"?`;
      else if (candidates.length <= 12) message += `; expected one of: ${candidates.join(', ')}`;
      else if (inSweep) message += '; expected a config path such as "model.windows", or zip, variants, seeds, exclude';
      return { ...at([...path, key], true), message };
    }
    case 'required':
      return { ...at(path), path: formatPath([...path, String(params.missingProperty)]), message: `missing required key "${String(params.missingProperty)}"` };
    case 'type': {
      const expected = String(params.type).split(',').map((t) => ARTICLE[t] ?? t).join(' or ');
      // YAML 1.2 reads yes/no/on/off as strings; people coming from YAML 1.1 expect booleans.
      const yaml11 = params.type === 'boolean' && typeof error.data === 'string' && /^(yes|no|on|off|y|n)$/i.test(error.data);
      return { ...at(path), message: `found ${found}, expected ${expected}${yaml11 ? ' (YAML 1.2: write true or false)' : ''}` };
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).filter((v) => v !== null);
      const guess = typeof error.data === 'string' ? closest(error.data, allowed.map(String)) : null;
      return { ...at(path), message: `found ${found}, expected one of: ${allowed.join(', ')}${guess ? `; did you mean "${guess}"?` : ''}` };
    }
    case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum':
      return { ...at(path), message: `found ${found}, expected a value ${String(params.comparison)} ${String(params.limit)}` };
    case 'minItems':
      if (inSweep && error.data instanceof Array && error.data.length === 0) return { ...at(path), message: 'empty sweep list: give at least one value, or remove the entry' };
      return { ...at(path), message: `found ${(error.data as unknown[]).length} item(s), expected at least ${String(params.limit)}` };
    case 'maxItems':
      return { ...at(path), message: `found ${(error.data as unknown[]).length} item(s), expected at most ${String(params.limit)}` };
    case 'uniqueItems':
      return { ...at([...path, Number(params.i)]), message: `found a repeated value (items ${String(params.j)} and ${String(params.i)}), expected distinct values` };
    case 'minProperties':
      if (path.length === 1 && inSweep) return { ...at(path), message: 'empty sweep: give at least one axis (a config path, zip, variants or seeds), or remove "sweep" for a single trial' };
      if (path[1] === 'zip') return { ...at(path), message: `a zip group varies at least ${String(params.limit)} paths together; use a plain sweep axis for one path` };
      return { ...at(path), message: `found an empty mapping, expected at least ${String(params.limit)} key(s)` };
    case 'pattern':
      return { ...at(path), message: `found ${found}, expected letters, digits, ".", "_" or "-" (it names a directory), starting with a letter or digit` };
    case 'minLength':
      return { ...at(path), message: 'found an empty string, expected a non-empty one' };
    default:
      return { ...at(path), message: `found ${found}: ${error.message ?? error.keyword}` };
  }
}
