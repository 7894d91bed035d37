/**
 * Reads PyTorch `.pth` files (what `torch.save(state_dict)` writes) into named float32 tensors, with no
 * Python. Both on-disk formats:
 *  - zip (torch >= 1.6): `<archive>/data.pkl` holds the pickled dict; each storage is the entry
 *    `<archive>/data/<key>`;
 *  - legacy (torch < 1.6, e.g. torchvision's AlexNet and LPIPS's linear layers): five pickles back to back
 *    (magic number, protocol version, sys info, the dict, the sorted storage keys), then for each key an int64
 *    element count and the raw little-endian storage bytes.
 * Storage locations (`cuda:0` in files saved from a GPU) are ignored: everything lands on the host.
 */
import fs from 'node:fs';
import os from 'node:os';
import { UsageError } from '../../src/errors.ts';
import { PickleError, PyGlobal, unpickle, type PyValue, type UnpickleHooks } from './pickle.ts';
import { ZipError, isZip, listZip, readZipEntry } from './zip.ts';

export type PthDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** One tensor of a state_dict, values widened/narrowed to float32 (dtype says what the file held). */
export interface PthTensor {
  shape: number[];
  dtype: PthDType;
  data: Float32Array;
}

const STORAGE_DTYPES: Record<string, PthDType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

const ELEMENT_BYTES: Record<PthDType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** A storage named by a persistent id; its bytes arrive later in legacy files. */
class StorageRef {
  bytes: Uint8Array | null = null;
  constructor(
    readonly key: string,
    readonly dtype: PthDType,
    readonly numel: number,
    /** Legacy storage views: element offset into the root storage. */
    readonly viewOffset: number,
  ) {}
}

class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

function intList(v: PyValue, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) {
    throw new PickleError(`${what} is not a tuple of integers`);
  }
  return v as number[];
}

function storageDtype(t: PyValue): PthDType {
  const name = t instanceof PyGlobal ? t.name : typeof t === 'string' ? t : '';
  const dtype = STORAGE_DTYPES[name];
  if (!dtype) throw new PickleError(`unknown storage type ${t instanceof PyGlobal ? t.qualified : String(t)}`);
  return dtype;
}

function makeHooks(storages: Map<string, StorageRef>): UnpickleHooks {
  return {
    persistentLoad(pid) {
      // ('storage', storage_type, key, location, numel[, view_metadata])
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
        throw new PickleError(`unexpected persistent id ${JSON.stringify(pid)}`);
      }
      const key = String(pid[2]);
      const dtype = storageDtype(pid[1]);
      const numel = pid[4];
      if (typeof numel !== 'number') throw new PickleError(`storage '${key}' has no element count`);
      let root = storages.get(key);
      if (!root) {
        root = new StorageRef(key, dtype, numel, 0);
        storages.set(key, root);
      }
      const view = pid[5];
      if (Array.isArray(view)) {
        // (view_key, offset, size): a view into root, gone from torch since 1.0 but still readable.
        const offset = view[1];
        if (typeof offset !== 'number') throw new PickleError(`storage view of '${key}' has no offset`);
        const v = new StorageRef(key, dtype, numel, offset);
        return v;
      }
      return root;
    },
    call(callee, args) {
      switch (callee.qualified) {
        case 'torch._utils._rebuild_tensor_v2':
        case 'torch._utils._rebuild_tensor': {
          const [storage, offset, size, stride] = args;
          if (!(storage instanceof StorageRef) || typeof offset !== 'number') {
            throw new PickleError(`${callee.name} called without a storage and an offset`);
          }
          return new TensorRef(storage, offset, intList(size, 'tensor size'), intList(stride, 'tensor stride'));
        }
        case 'torch._utils._rebuild_parameter':
          return args[0];
        case 'collections.OrderedDict': {
          // Protocol 2 passes the items as one list of [key, value] pairs; later protocols use SETITEMS.
          const items = args[0];
          const d = new Map<PyValue, PyValue>();
          if (Array.isArray(items)) {
            for (const pair of items) if (Array.isArray(pair) && pair.length === 2) d.set(pair[0], pair[1]);
          }
          return d;
        }
        default:
          return undefined;
      }
    },
  };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** The root storage's values as float32, in storage order. */
function storageValues(bytes: Uint8Array, dtype: PthDType): Float32Array {
  const n = bytes.length / ELEMENT_BYTES[dtype];
  // Copy first: typed-array views need aligned offsets, and the caller keeps the copy anyway.
  // (new Uint8Array(view) copies; Buffer#slice would not.)
  const buf = new Uint8Array(bytes).buffer;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf);
    case 'float64':
      return Float32Array.from(new Float64Array(buf));
    case 'float16':
      return Float32Array.from(new Uint16Array(buf), halfToFloat);
    case 'bfloat16': {
      const out = new Float32Array(n);
      new Uint32Array(out.buffer).set(Array.from(new Uint16Array(buf), (b) => b << 16));
      return out;
    }
    case 'int64':
      return Float32Array.from(new BigInt64Array(buf), (b) => Number(b));
    case 'int32':
      return Float32Array.from(new Int32Array(buf));
    case 'int16':
      return Float32Array.from(new Int16Array(buf));
    case 'int8':
      return Float32Array.from(new Int8Array(buf));
    case 'uint8':
    case 'bool':
      return Float32Array.from(new Uint8Array(buf));
  }
}

function materialise(t: TensorRef, cache: Map<string, Float32Array>, name: string): PthTensor {
  const s = t.storage;
  if (!s.bytes) throw new PickleError(`tensor '${name}': storage '${s.key}' has no data`);
  let values = cache.get(s.key);
  if (!values) {
    values = storageValues(s.bytes, s.dtype);
    cache.set(s.key, values);
  }
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const start = s.viewOffset + t.offset;
  let contiguous = true;
  for (let d = t.shape.length - 1, expect = 1; d >= 0; d--) {
    if (t.shape[d]! > 1 && t.stride[d] !== expect) contiguous = false;
    expect *= t.shape[d]!;
  }
  let maxIndex = start;
  for (let d = 0; d < t.shape.length; d++) maxIndex += (t.shape[d]! - 1) * t.stride[d]!;
  if (numel > 0 && maxIndex >= values.length) {
    throw new PickleError(`tensor '${name}' [${t.shape}] reads past the end of storage '${s.key}' (${values.length} elements)`);
  }
  if (contiguous) return { shape: t.shape, dtype: s.dtype, data: values.slice(start, start + numel) };
  const out = new Float32Array(numel);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < numel; i++) {
    let src = start;
    for (let d = 0; d < idx.length; d++) src += idx[d]! * t.stride[d]!;
    out[i] = values[src]!;
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < t.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return { shape: t.shape, dtype: s.dtype, data: out };
}

/** Flattens the (possibly nested) dict into dotted names → tensors; non-tensor leaves are skipped. */
function collect(value: PyValue, prefix: string, out: Map<string, TensorRef>): void {
  if (value instanceof TensorRef) {
    out.set(prefix, value);
  } else if (value instanceof Map) {
    for (const [k, v] of value) collect(v, prefix === '' ? String(k) : `${prefix}.${String(k)}`, out);
  }
}

function readZipFormat(bytes: Uint8Array): { root: PyValue; storages: Map<string, StorageRef> } {
  const entries = listZip(bytes);
  const pkl = entries.find((e) => e.name === 'data.pkl' || e.name.endsWith('/data.pkl'));
  if (!pkl) throw new PickleError('zip archive has no data.pkl entry (is it a torch.save file?)');
  const prefix = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
  const byteorder = entries.find((e) => e.name === `${prefix}byteorder`);
  if (byteorder && new TextDecoder().decode(readZipEntry(bytes, byteorder)).trim() !== 'little') {
    throw new PickleError('big-endian storages are not supported');
  }
  const storages = new Map<string, StorageRef>();
  const root = unpickle(readZipEntry(bytes, pkl), makeHooks(storages)).value;
  const byName = new Map(entries.map((e) => [e.name, e]));
  for (const s of storages.values()) {
    const entry = byName.get(`${prefix}data/${s.key}`);
    if (!entry) throw new PickleError(`storage entry '${prefix}data/${s.key}' is missing from the archive`);
    s.bytes = readZipEntry(bytes, entry);
    if (s.bytes.length < s.numel * ELEMENT_BYTES[s.dtype]) {
      throw new PickleError(`storage '${s.key}' holds ${s.bytes.length} bytes, expected ${s.numel * ELEMENT_BYTES[s.dtype]}`);
    }
  }
  return { root, storages };
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function readLegacyFormat(bytes: Uint8Array): { root: PyValue; storages: Map<string, StorageRef> } {
  const inert: UnpickleHooks = {
    persistentLoad: () => {
      throw new PickleError('unexpected persistent id in a header pickle');
    },
    call: () => undefined,
  };
  if (bytes[0] !== 0x80) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new PickleError(`neither a zip archive nor a legacy torch pickle (file starts with ${head})`);
  }
  const magic = unpickle(bytes, inert, 0);
  if (magic.value !== LEGACY_MAGIC) throw new PickleError('not a PyTorch file (bad magic number)');
  const version = unpickle(bytes, inert, magic.end);
  if (version.value !== 1001) throw new PickleError(`unsupported legacy protocol version ${String(version.value)} (expected 1001)`);
  const sysInfo = unpickle(bytes, inert, version.end);
  if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) {
    throw new PickleError('big-endian storages are not supported');
  }
  const storages = new Map<string, StorageRef>();
  const main = unpickle(bytes, makeHooks(storages), sysInfo.end);
  const keys = unpickle(bytes, inert, main.end);
  if (!Array.isArray(keys.value)) throw new PickleError('storage key list missing after the data pickle');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keys.end;
  for (const k of keys.value) {
    const s = storages.get(String(k));
    if (!s) throw new PickleError(`storage '${String(k)}' is listed but never referenced`);
    if (pos + 8 > bytes.length) throw new PickleError(`file ends before storage '${s.key}'`);
    const numel = Number(view.getBigInt64(pos, true));
    const nbytes = numel * ELEMENT_BYTES[s.dtype];
    pos += 8;
    if (pos + nbytes > bytes.length) throw new PickleError(`storage '${s.key}' is truncated (${numel} elements expected)`);
    s.bytes = bytes.subarray(pos, pos + nbytes);
    pos += nbytes;
  }
  return { root: main.value, storages };
}

/** Parses `.pth` bytes; `label` names the source in errors. */
export function parsePth(bytes: Uint8Array, label: string): Map<string, PthTensor> {
  if (os.endianness() !== 'LE') throw new Error('reading .pth files needs a little-endian host');
  try {
    const { root } = isZip(bytes) ? readZipFormat(bytes) : readLegacyFormat(bytes);
    const refs = new Map<string, TensorRef>();
    collect(root, '', refs);
    if (refs.size === 0) throw new PickleError('it holds no tensors (expected a state_dict)');
    const cache = new Map<string, Float32Array>();
    const out = new Map<string, PthTensor>();
    for (const [name, ref] of refs) out.set(name, materialise(ref, cache, name));
    return out;
  } catch (e) {
    if (e instanceof PickleError || e instanceof ZipError) {
      throw new UsageError(`${label}: not a readable PyTorch .pth file: ${e.message}`);
    }
    throw e;
  }
}

export function readPth(file: string): Map<string, PthTensor> {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read weights file ${file}: ${(e as Error).message}`);
  }
  return parsePth(bytes, file);
}

/** The named tensor, checked against the expected shape; errors name the file and the key. */
export function expectTensor(weights: Map<string, PthTensor>, key: string, shape: readonly number[], label: string): PthTensor {
  const t = weights.get(key);
  if (!t) throw new UsageError(`${label}: missing tensor '${key}' (expected shape [${shape.join(', ')}])`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new UsageError(`${label}: tensor '${key}' has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return t;
}
