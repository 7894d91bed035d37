/**
 * Checkpoint files in the safetensors layout, so they load on any backend here and in PyTorch
 * (`safetensors.torch.load_file`):
 *   8 bytes  little-endian u64 N, the header length
 *   N bytes  JSON: { "<name>": { "dtype": "F32", "shape": [...], "data_offsets": [begin, end] }, …,
 *                    "__metadata__": { "format": "divd", "config": "<model config JSON>", "step": "<n>", … } }
 *            padded with spaces to a multiple of 8
 *   rest     raw little-endian float32 data, tensors back to back in name order
 * Model parameters use their ParamStore names ("down.0.res.0.conv1.w"); other groups a trainer may
 * store alongside (EMA, optimizer moments) use "<group>/<name>", so they never collide.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../atomic-write.ts';
import { UsageError } from '../errors.ts';
import { resolveModelConfig, type ModelConfig } from './config.ts';
import { createModel, type DivdModel } from './unet.ts';

export interface StoredTensor {
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  config: ModelConfig;
  /** Training step the weights belong to. */
  step: number;
  tensors: Map<string, StoredTensor>;
  /** Free-form string metadata (e.g. the trial id). */
  metadata: Record<string, string>;
}

const RESERVED = ['format', 'config', 'step'];
/** The file is little-endian; on such hosts (all current ones) tensor bytes are copied wholesale. */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export function encodeCheckpoint(ck: Checkpoint): Uint8Array {
  for (const key of Object.keys(ck.metadata)) {
    if (RESERVED.includes(key)) throw new Error(`checkpoint metadata key ${key} is reserved`);
  }
  const names = [...ck.tensors.keys()].sort();
  const header: Record<string, unknown> = {
    __metadata__: { ...ck.metadata, format: 'divd', config: JSON.stringify(ck.config), step: String(ck.step) },
  };
  let offset = 0;
  for (const name of names) {
    const t = ck.tensors.get(name)!;
    if (t.data.length !== sizeOf(t.shape)) throw new Error(`checkpoint tensor ${name}: ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.length * 4] };
    offset += t.data.length * 4;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const { data } = ck.tensors.get(name)!;
    if (LITTLE_ENDIAN_HOST) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
      at += data.byteLength;
    } else {
      for (let i = 0; i < data.length; i++, at += 4) view.setFloat32(at, data[i]!, true);
    }
  }
  return out;
}

function bad(source: string, what: string): never {
  throw new UsageError(`checkpoint ${source}: ${what}`);
}

export function decodeCheckpoint(bytes: Uint8Array, source = '<buffer>'): Checkpoint {
  if (bytes.length < 8) bad(source, `only ${bytes.length} bytes, not a checkpoint`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > bytes.length) bad(source, `header length ${n} runs past the end of the ${bytes.length}-byte file (truncated or not a checkpoint)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    bad(source, `header is not JSON (${(e as Error).message})`);
  }
  const meta = (header.__metadata__ ?? {}) as Record<string, string>;
  if (meta.format !== 'divd' || typeof meta.config !== 'string') bad(source, 'no divd metadata (format, config) in the header');
  let storedConfig: unknown;
  try {
    storedConfig = JSON.parse(meta.config);
  } catch (e) {
    bad(source, `model config in the metadata is not JSON (${(e as Error).message})`);
  }
  const config = resolveModelConfig(storedConfig, `checkpoint ${source}: config`);
  const step = Number(meta.step);
  if (!Number.isInteger(step) || step < 0) bad(source, `step ${JSON.stringify(meta.step)} is not a non-negative integer`);
  const dataStart = 8 + n;
  const tensors = new Map<string, StoredTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (dtype !== 'F32') bad(source, `tensor ${name} has dtype ${dtype}; only F32 is supported`);
    const [begin, end] = offsets;
    if (end - begin !== sizeOf(shape) * 4 || dataStart + end > bytes.length) {
      bad(source, `tensor ${name} [${shape}] has data offsets [${begin}, ${end}] that do not fit its shape or the file`);
    }
    const data = new Float32Array(sizeOf(shape));
    if (LITTLE_ENDIAN_HOST) {
      new Uint8Array(data.buffer).set(bytes.subarray(dataStart + begin, dataStart + end));
    } else {
      for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(dataStart + begin + i * 4, true);
    }
    tensors.set(name, { shape: [...shape], data });
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) if (!RESERVED.includes(k)) metadata[k] = v;
  return { config, step, tensors, metadata };
}

/** Writes atomically: a temp file beside the target, then a rename, so a crash never leaves half a file. */
export async function saveCheckpoint(path: string, ck: Checkpoint): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(ck));
}

export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new UsageError(`checkpoint ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/** The model's current weights as a checkpoint (plus any extra tensor groups, named "<group>/<name>"). */
export function modelCheckpoint(model: DivdModel, step: number, extra: Map<string, StoredTensor> = new Map(), metadata: Record<string, string> = {}): Checkpoint {
  const tensors = new Map<string, StoredTensor>(model.params.snapshot());
  for (const [name, t] of extra) {
    if (!name.includes('/')) throw new Error(`extra checkpoint tensor ${name} must be named "<group>/<name>"`);
    tensors.set(name, t);
  }
  return { config: model.config, step, tensors, metadata };
}

const LIST = 6;
function listed(names: string[]): string {
  return names.slice(0, LIST).join(', ') + (names.length > LIST ? `, … (${names.length - LIST} more)` : '');
}

/**
 * Every difference between the model's parameters and the checkpoint's (group `group`, or the
 * ungrouped model weights): missing, unexpected, and shape mismatches. Empty when they fit.
 */
export function checkpointMismatch(model: DivdModel, ck: Checkpoint, group?: string): string[] {
  const prefix = group ? `${group}/` : '';
  const stored = new Map<string, StoredTensor>();
  for (const [name, t] of ck.tensors) {
    if (group ? name.startsWith(prefix) : !name.includes('/')) stored.set(name.slice(prefix.length), t);
  }
  const own = new Map(model.params.info().map((p) => [p.name, p.shape]));
  const missing = [...own.keys()].filter((n) => !stored.has(n));
  const unexpected = [...stored.keys()].filter((n) => !own.has(n));
  const shapes = [...own]
    .filter(([n, s]) => stored.has(n) && stored.get(n)!.shape.join() !== s.join())
    .map(([n, s]) => `${n} is [${stored.get(n)!.shape}] in the checkpoint, [${s}] in the model`);
  const out: string[] = [];
  const configDiff = (Object.keys(model.config) as (keyof ModelConfig)[])
    .filter((k) => JSON.stringify(model.config[k]) !== JSON.stringify(ck.config[k]))
    .map((k) => `${k} ${JSON.stringify(ck.config[k])} in the checkpoint, ${JSON.stringify(model.config[k])} in the model`);
  if (configDiff.length && (missing.length || unexpected.length || shapes.length)) out.push(`model config differs: ${configDiff.join('; ')}`);
  if (missing.length) out.push(`${missing.length} model parameter(s) missing from the checkpoint: ${listed(missing)}`);
  if (unexpected.length) out.push(`${unexpected.length} checkpoint tensor(s) the model does not have: ${listed(unexpected)}`);
  if (shapes.length) out.push(`${shapes.length} shape mismatch(es): ${listed(shapes)}`);
  return out;
}

/** Loads the checkpoint's weights (or group `group`) into the model; throws listing every difference. */
export function loadIntoModel(model: DivdModel, ck: Checkpoint, source = 'checkpoint', group?: string): void {
  const problems = checkpointMismatch(model, ck, group);
  if (problems.length) throw new UsageError(`${source} does not fit this model:\n  ${problems.join('\n  ')}`);
  const prefix = group ? `${group}/` : '';
  const values = new Map<string, StoredTensor>();
  for (const name of model.params.names()) values.set(name, ck.tensors.get(prefix + name)!);
  model.params.restore(values);
}

/** A model built from the checkpoint's own config, with its weights (or group `group`, e.g. "ema"). */
export function modelFromCheckpoint(ck: Checkpoint, source = 'checkpoint', group?: string): DivdModel {
  const model = createModel(ck.config);
  loadIntoModel(model, ck, source, group);
  return model;
}
