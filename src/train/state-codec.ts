/**
 * The trainer's resumable state as bytes: a JSON header (step, RNG and data-order state, which tensor
 * lives where) followed by the raw little-endian float32 data of every tensor (weights, EMA, Adam moments).
 * The checkpoint container (checkpoints.ts) adds the checksum and config hash around it.
 */
export interface TensorRecord {
  shape: number[];
  data: Float32Array;
}

export interface EncodedState<M> {
  meta: M;
  tensors: Map<string, TensorRecord>;
}

interface Header<M> {
  meta: M;
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
}

export function encodeState<M>(state: EncodedState<M>): Uint8Array {
  const entries: Header<M>['tensors'] = [];
  let offset = 0;
  for (const [name, t] of state.tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) throw new Error(`state tensor ${name}: shape [${t.shape}] needs ${expected} values, has ${t.data.length}`);
    entries.push({ name, shape: t.shape, offset, length: t.data.length });
    offset += t.data.length;
  }
  const header = Buffer.from(JSON.stringify({ meta: state.meta, tensors: entries } satisfies Header<M>), 'utf8');
  // Pad the header so the float data starts 4-byte aligned and can be viewed without copying.
  const padded = Math.ceil((8 + header.length) / 4) * 4 - 8;
  const out = Buffer.alloc(8 + padded + offset * 4, 0);
  out.writeBigUInt64LE(BigInt(padded), 0);
  header.copy(out, 8);
  out.fill(0x20, 8 + header.length, 8 + padded);
  let at = 8 + padded;
  for (const t of state.tensors.values()) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, at);
    at += t.data.byteLength;
  }
  return out;
}

export function decodeState<M>(bytes: Uint8Array, source: string): EncodedState<M> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8) throw new Error(`${source}: training state is truncated`);
  const headerLength = Number(buf.readBigUInt64LE(0));
  if (8 + headerLength > buf.length) throw new Error(`${source}: training state header runs past the end`);
  let header: Header<M>;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + headerLength)) as Header<M>;
  } catch (e) {
    throw new Error(`${source}: training state header is not JSON (${(e as Error).message})`);
  }
  const base = 8 + headerLength;
  const floats = (buf.length - base) / 4;
  const tensors = new Map<string, TensorRecord>();
  for (const t of header.tensors) {
    if (t.offset + t.length > floats) throw new Error(`${source}: tensor ${t.name} runs past the end of the data`);
    // Copy out: the checkpoint buffer may not be 4-byte aligned in memory.
    const data = new Float32Array(t.length);
    Buffer.from(data.buffer).set(buf.subarray(base + t.offset * 4, base + (t.offset + t.length) * 4));
    tensors.set(t.name, { shape: t.shape, data });
  }
  return { meta: header.meta, tensors };
}
