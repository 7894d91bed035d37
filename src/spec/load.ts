/**
 * From a spec file to its trials: parse (with positions), validate against the schema, check the
 * sweep, expand it, apply defaults, check every resolved trial, hash. All problems are collected and
 * thrown together as one SpecError (a UsageError: exit code 2).
 */
import fs from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { UsageError } from '../errors.ts';
import { canonicalJson, deepEqual, deepMerge, getPath, leafPaths, setPath, shortHash } from './canonical.ts';
import { checkTrialConfig } from './checks.ts';
import { DEFAULTS } from './defaults.ts';
import { formatPath, issueFromAjv, SpecError, tidyIssues, type SpecIssue } from './issues.ts';
import { configPaths, specSchema } from './schema.ts';
import { SpecSource, type DocPath } from './source.ts';
import { buildAxes, checkSweep, product, ruleMatches, type AxisOption, type SweepDoc } from './sweep.ts';
import type { Plan, Trial, TrialConfig } from './types.ts';

interface SpecDocument {
  name: string;
  description?: string;
  base?: Record<string, unknown>;
  sweep?: SweepDoc;
}

let validator: ValidateFunction | null = null;
function validateSpec(value: unknown): ValidateFunction {
  validator ??= new Ajv({ allErrors: true, verbose: true, strict: true }).compile(specSchema());
  validator(value);
  return validator;
}

const SECTION_PATHS = new Set([...configPaths()].filter(([, s]) => s.type === 'object').map(([p]) => p));

/**
 * Fields added after trial ids were first handed out, each with the value every earlier trial behaved as.
 * At that value a field is left out of the hash (canonicalJson skips undefined), so adding it keeps the id
 * of every existing trial, with its cached results, run directory and checkpoints.
 */
const ADDED_FIELDS: Readonly<Record<string, unknown>> = {
  'sample.window': 'blocks',
  'sample.spacing': 'leading',
  'eval.testLoss': true,
  'data.synthetic.exposure': [1, 1],
  'data.synthetic.motion': 1,
  'model.mrpe.locality': 0,
};

/**
 * The part of a config that determines a trial's results, hashed into its id. Where results are sent
 * (tracking, report), how fast they are computed (backend, threads) and the optional context probe are left
 * out, so changing them keeps every cached trial.
 */
export function trialId(config: TrialConfig): string {
  const { tracking: _tracking, report: _report, ...rest } = config;
  const { backend: _backend, threads: _threads, ...train } = rest.train;
  // The context probe adds a file beside the results and changes none of them.
  const { contextProbe: _contextProbe, ...evalConfig } = rest.eval;
  const hashed = structuredClone({ ...rest, train, eval: evalConfig }) as unknown as Record<string, unknown>;
  for (const [path, value] of Object.entries(ADDED_FIELDS)) {
    if (deepEqual(getPath(hashed, path), value)) setPath(hashed, path, undefined);
  }
  // The bias table's starting slope changes nothing when there is no table.
  if (getPath(hashed, 'model.mrpe.relBias') === false) setPath(hashed, 'model.mrpe.locality', undefined);
  return shortHash(canonicalJson(hashed));
}

export function loadSpec(file: string): Plan {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `spec not found: ${file}` : `cannot read spec ${file}: ${(e as Error).message}`);
  }
  return parseSpec(text, file);
}

export function parseSpec(text: string, file: string): Plan {
  const source = new SpecSource(file, text);
  if (source.syntaxIssues.length) throw new SpecError(source.syntaxIssues);

  const validate = validateSpec(source.value);
  const errors = validate.errors ?? [];
  // An enum error already says what is allowed; the type error ajv adds beside it is noise.
  const enumAt = new Set(errors.filter((e) => e.keyword === 'enum').map((e) => e.instancePath));
  const schemaIssues = errors
    .filter((e) => !(e.keyword === 'type' && enumAt.has(e.instancePath)))
    .map((e) => issueFromAjv(e, source, { sectionPaths: SECTION_PATHS }))
    .filter((i): i is SpecIssue => i !== null);
  if (schemaIssues.length) throw new SpecError(tidyIssues(schemaIssues));

  const spec = source.value as SpecDocument;
  const at = (path: DocPath, message: string, key = false): SpecIssue => {
    const pos = key ? source.keyAt(path) : source.valueAt(path);
    return { file, line: pos.line, col: pos.col, path: formatPath(path), message };
  };
  const sweep = spec.sweep ?? {};
  const sweepIssues = checkSweep(sweep).map((p) => at(p.at, p.message, p.key));
  if (sweepIssues.length) throw new SpecError(tidyIssues(sweepIssues));

  const base = deepMerge(DEFAULTS, spec.base ?? {});
  if (!base.tracking.experiment) base.tracking.experiment = spec.name;

  const issues: SpecIssue[] = [];
  const rules = sweep.exclude ?? [];
  const ruleHits = rules.map(() => 0);
  const trials: Trial[] = [];
  for (const combo of product(buildAxes(sweep))) {
    const trial = resolveTrial(base, combo);
    const hit = rules.findIndex((rule) => ruleMatches(rule, trial.config, trial.variant, deepEqual));
    if (hit >= 0) {
      ruleHits[hit] += 1;
      continue;
    }
    for (const problem of checkTrialConfig(trial.config)) {
      const origin = originOf(problem.path, combo, spec.base ?? {});
      const context = origin.fromSweep ? `in trial "${trial.label}": ` : origin.fromDefault ? '(default value) ' : '';
      issues.push({ ...at(origin.at, `${context}${problem.message}`), path: problem.path });
    }
    trials.push(trial);
  }

  const variantNames = new Set((sweep.variants ?? []).map((v) => v.name));
  rules.forEach((rule, i) => {
    if (typeof rule.variant === 'string' && !variantNames.has(rule.variant)) {
      issues.push(at(['sweep', 'exclude', i, 'variant'], `unknown variant "${rule.variant}"; expected one of: ${[...variantNames].join(', ') || '(the sweep has no variants)'}`));
    } else if (ruleHits[i] === 0) {
      issues.push(at(['sweep', 'exclude', i], 'this exclude rule matches no trial; check its values against the sweep'));
    }
  });
  if (rules.length && trials.length === 0) issues.push(at(['sweep', 'exclude'], 'the exclude rules remove every trial'));

  const byId = new Map<string, Trial>();
  for (const trial of trials) {
    const twin = byId.get(trial.id);
    if (twin) issues.push(at(['sweep'], `trials "${twin.label}" and "${trial.label}" resolve to the same config (id ${trial.id}); a sweep value or variant changes nothing`, true));
    else byId.set(trial.id, trial);
  }
  if (issues.length) throw new SpecError(tidyIssues(issues));
  return { file, name: spec.name, description: spec.description ?? '', trials: trials.map((t, index) => ({ ...t, index })) };
}

function resolveTrial(base: TrialConfig, combo: AxisOption[]): Trial {
  let config = base;
  const swept: Record<string, unknown> = {};
  let variant: string | null = null;
  for (const option of combo) {
    if (!option.variant) continue;
    variant = option.variant.name;
    config = deepMerge(config, option.variant.set);
    for (const leaf of leafPaths(option.variant.set)) swept[leaf] = getPath(option.variant.set, leaf);
  }
  config = structuredClone(config);
  for (const option of combo) {
    for (const a of option.assignments) {
      setPath(config as unknown as Record<string, unknown>, a.path, a.value);
      swept[a.path] = a.value;
    }
  }
  const label = combo.flatMap((o) => o.labelParts).join(' ') || 'base';
  return { id: trialId(config), label, variant, swept, config };
}

/** Where the value of a config path in one trial was written: a sweep entry, a variant, base, or nowhere (a default). */
function originOf(path: string, combo: AxisOption[], base: Record<string, unknown>): { at: DocPath; fromSweep: boolean; fromDefault: boolean } {
  const segments = path.split('.');
  for (const option of combo) {
    const assignment = option.assignments.find((a) => a.path === path);
    if (assignment) return { at: assignment.origin, fromSweep: true, fromDefault: false };
  }
  for (const option of combo) {
    if (option.variant && getPath(option.variant.set, path) !== undefined) {
      return { at: [...option.variant.origin, 'set', ...segments], fromSweep: true, fromDefault: false };
    }
  }
  const inBase = getPath(base, path) !== undefined;
  return { at: ['base', ...segments], fromSweep: false, fromDefault: !inBase };
}
