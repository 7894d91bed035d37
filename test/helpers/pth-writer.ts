/**
 * Writes float32 state_dicts as PyTorch `.pth` files, in either on-disk format, the way torch.save lays them
 * out (pickle protocol 2, OrderedDict of `_rebuild_tensor_v2` calls, storages by persistent id). Tests use it
 * to build weights files for the real loaders; a committed torch-written fixture proves the reader agrees
 * with torch itself, so this writer is not the only witness.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';

export interface WriteTensor {
  shape: number[];
  data: Float32Array;
}

export type PthFormat = 'zip' | 'legacy';

class PickleWriter {
  private chunks: Buffer[] = [];
  private op(...bytes: number[]): void {
    this.chunks.push(Buffer.from(bytes));
  }
  proto(): void {
    this.op(0x80, 2);
  }
  global(module: string, name: string): void {
    this.chunks.push(Buffer.from(`c${module}\n${name}\n`, 'latin1'));
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf-8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    this.op(0x58);
    this.chunks.push(len, b);
  }
  int(n: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    this.op(0x4a);
    this.chunks.push(b);
  }
  long(v: bigint, bytes: number): void {
    const b = Buffer.alloc(bytes);
    let x = v;
    for (let i = 0; i < bytes; i++, x >>= 8n) b[i] = Number(x & 0xffn);
    this.op(0x8a, bytes);
    this.chunks.push(b);
  }
  tuple(items: number[]): void {
    this.mark();
    for (const i of items) this.int(i);
    this.op(0x74);
  }
  mark(): void {
    this.op(0x28);
  }
  raw(...bytes: number[]): void {
    this.op(...bytes);
  }
  stop(): Buffer {
    this.op(0x2e);
    return Buffer.concat(this.chunks);
  }
}

const TUPLE = 0x74;
const REDUCE = 0x52;
const BINPERSID = 0x51;
const SETITEMS = 0x75;
const NONE = 0x4e;
const NEWFALSE = 0x89;
const NEWTRUE = 0x88;
const EMPTY_TUPLE = 0x29;
const EMPTY_DICT = 0x7d;
const EMPTY_LIST = 0x5d;
const APPENDS = 0x65;

function contiguousStride(shape: number[]): number[] {
  const stride = new Array<number>(shape.length);
  for (let d = shape.length - 1, s = 1; d >= 0; d--) {
    stride[d] = s;
    s *= shape[d]!;
  }
  return stride;
}

function pickleStateDict(tensors: Map<string, WriteTensor>, format: PthFormat): Buffer {
  const p = new PickleWriter();
  p.proto();
  p.global('collections', 'OrderedDict');
  p.raw(EMPTY_TUPLE, REDUCE);
  p.mark();
  let key = 0;
  for (const [name, t] of tensors) {
    p.str(name);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.mark();
    p.mark();
    p.str('storage');
    p.global('torch', 'FloatStorage');
    p.str(String(key++));
    p.str('cpu');
    p.int(t.data.length);
    if (format === 'legacy') p.raw(NONE);
    p.raw(TUPLE, BINPERSID);
    p.int(0);
    p.tuple(t.shape);
    p.tuple(contiguousStride(t.shape));
    p.raw(NEWFALSE);
    p.global('collections', 'OrderedDict');
    p.raw(EMPTY_TUPLE, REDUCE, TUPLE, REDUCE);
  }
  p.raw(SETITEMS);
  return p.stop();
}

function floatBytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function legacyFile(tensors: Map<string, WriteTensor>): Buffer {
  const parts: Buffer[] = [];
  const magic = new PickleWriter();
  magic.proto();
  magic.long(0x1950a86a20f9469cfc6cn, 10);
  parts.push(magic.stop());
  const version = new PickleWriter();
  version.proto();
  version.int(1001);
  parts.push(version.stop());
  const sys = new PickleWriter();
  sys.proto();
  sys.raw(EMPTY_DICT);
  sys.mark();
  sys.str('protocol_version');
  sys.int(1001);
  sys.str('little_endian');
  sys.raw(NEWTRUE);
  sys.raw(SETITEMS);
  parts.push(sys.stop());
  parts.push(pickleStateDict(tensors, 'legacy'));
  const keys = new PickleWriter();
  keys.proto();
  keys.raw(EMPTY_LIST);
  keys.mark();
  const names = [...tensors.keys()].map((_, i) => String(i)).sort();
  for (const k of names) keys.str(k);
  keys.raw(APPENDS);
  parts.push(keys.stop());
  const list = [...tensors.values()];
  for (const k of names) {
    const t = list[Number(k)]!;
    const n = Buffer.alloc(8);
    n.writeBigInt64LE(BigInt(t.data.length));
    parts.push(n, floatBytes(t.data));
  }
  return Buffer.concat(parts);
}

/** A stored (uncompressed) zip with torch's 64-byte data alignment, under the folder `archive/`. */
function zipFile(tensors: Map<string, WriteTensor>): Buffer {
  const files: [string, Buffer][] = [['archive/data.pkl', pickleStateDict(tensors, 'zip')]];
  let i = 0;
  for (const t of tensors.values()) files.push([`archive/data/${i++}`, floatBytes(t.data)]);
  files.push(['archive/version', Buffer.from('3\n')]);
  const out: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBytes = Buffer.from(name);
    const headerLen = 30 + nameBytes.length + 4;
    const pad = (64 - ((offset + headerLen) % 64)) % 64;
    const extra = Buffer.alloc(4 + pad);
    extra.writeUInt16LE(0x4643, 0); // torch's padding field id ('FB')
    extra.writeUInt16LE(pad, 2);
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(nameBytes.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, nameBytes);
    out.push(local, nameBytes, extra, data);
    offset += local.length + nameBytes.length + extra.length + data.length;
  }
  const cdBytes = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(files.length, 8);
  eocd.writeUInt16LE(files.length, 10);
  eocd.writeUInt32LE(cdBytes.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...out, cdBytes, eocd]);
}

export function pthBytes(tensors: Map<string, WriteTensor>, format: PthFormat): Buffer {
  return format === 'zip' ? zipFile(tensors) : legacyFile(tensors);
}

export function writePth(file: string, tensors: Map<string, WriteTensor>, format: PthFormat = 'zip'): void {
  fs.writeFileSync(file, pthBytes(tensors, format));
}
