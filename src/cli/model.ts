/**
 * `divd model summary [config.json] [--size HxW] [--frames F] [--sequences S] [--json]`: layers,
 * parameter count and FLOPs per training and sampling step. Until the spec loader lands, the config
 * is a JSON file holding a `model` object (or a spec-like `base.model`); without one, the defaults.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.ts';
import { initBackend, silenceCpuBanner } from '../backend/index.ts';
import { checkInputSize, createModel, disposeModel, formatSummary, resolveModelConfig, summarizeModel, type ModelSummary } from '../model/index.ts';

export interface ModelSummaryOptions {
  size?: string;
  frames?: number;
  sequences?: number;
  json?: boolean;
}

function parseSize(value: string): { height: number; width: number } {
  const m = /^(\d+)(?:x(\d+))?$/.exec(value.trim());
  if (!m) throw new UsageError(`--size must be N or HxW (e.g. 144 or 720x1280), got ${JSON.stringify(value)}`);
  const height = Number(m[1]);
  const width = Number(m[2] ?? m[1]);
  if (height < 1 || width < 1) throw new UsageError(`--size must be positive, got ${value}`);
  return { height, width };
}

async function readModelSection(file: string): Promise<{ model: unknown; path: string }> {
  if (/\.ya?ml$/i.test(file)) {
    throw new UsageError(`${file}: YAML specs are read by the spec loader; for now pass a JSON file with a "model" object`);
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const root = doc as { model?: unknown; base?: { model?: unknown } };
  if (root && typeof root === 'object' && root.model !== undefined) return { model: root.model, path: `${file}: model` };
  if (root?.base && typeof root.base === 'object' && root.base.model !== undefined) return { model: root.base.model, path: `${file}: base.model` };
  throw new UsageError(`${file}: expected an object with a "model" (or "base.model") section`);
}

export async function modelSummary(file: string | undefined, opts: ModelSummaryOptions = {}): Promise<ModelSummary> {
  const { model: section, path } = file ? await readModelSection(file) : { model: {}, path: 'model' };
  const withFrames = opts.frames === undefined ? section : { ...(section as object), frames: opts.frames };
  const config = resolveModelConfig(withFrames, path);
  const { height, width } = parseSize(opts.size ?? '144');
  try {
    checkInputSize(config, height, width);
  } catch (e) {
    throw new UsageError(`--size: ${(e as Error).message}`);
  }
  // Only shapes are needed: tf's plain cpu backend holds the weights, whatever backend training uses.
  await initBackend({ requested: 'cpu' });
  silenceCpuBanner();
  const model = createModel(config);
  try {
    return summarizeModel(model, { height, width, sequences: opts.sequences ?? 1 });
  } finally {
    disposeModel(model);
  }
}

export function renderModelSummary(s: ModelSummary, json: boolean): string {
  return json ? JSON.stringify(s) : formatSummary(s);
}
