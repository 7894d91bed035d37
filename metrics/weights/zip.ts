/**
 * Just enough of a ZIP reader for PyTorch's `.pth` archives: the central directory, stored or deflated
 * entries, no encryption. torch.save writes entries uncompressed and 64-byte aligned, so reading an entry is
 * normally a zero-copy subarray.
 */
import zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

const EOCD_SIG = 0x06054b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const ZIP64_EOCD_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

function u64(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(`64-bit field too large at offset ${at}`);
  return Number(v);
}

/** The end-of-central-directory record: where the directory starts and how many entries it has. */
function directoryLocation(bytes: Uint8Array, view: DataView): { offset: number; count: number } {
  const minStart = Math.max(0, bytes.length - 22 - 0xffff);
  for (let at = bytes.length - 22; at >= minStart; at--) {
    if (view.getUint32(at, true) !== EOCD_SIG) continue;
    let count = view.getUint16(at + 10, true);
    let offset = view.getUint32(at + 16, true);
    // Zip64 (archives over 4 GiB or 65535 entries): the real values sit in the zip64 EOCD record.
    const locator = at - 20;
    if (locator >= 0 && view.getUint32(locator, true) === ZIP64_EOCD_LOCATOR_SIG) {
      const rec = u64(view, locator + 8);
      if (view.getUint32(rec, true) !== ZIP64_EOCD_SIG) throw new ZipError('zip64 end record not found where its locator points');
      count = u64(view, rec + 32);
      offset = u64(view, rec + 48);
    }
    return { offset, count };
  }
  throw new ZipError('no end-of-central-directory record (not a zip file, or truncated)');
}

/** Replaces 0xFFFFFFFF size/offset fields by their zip64 extra-field values. */
function applyZip64(view: DataView, extraStart: number, extraLen: number, e: ZipEntry): void {
  let at = extraStart;
  while (at + 4 <= extraStart + extraLen) {
    const id = view.getUint16(at, true);
    const len = view.getUint16(at + 2, true);
    if (id === 0x0001) {
      let p = at + 4;
      if (e.size === 0xffffffff) (e.size = u64(view, p)), (p += 8);
      if (e.compressedSize === 0xffffffff) (e.compressedSize = u64(view, p)), (p += 8);
      if (e.localHeaderOffset === 0xffffffff) e.localHeaderOffset = u64(view, p);
      return;
    }
    at += 4 + len;
  }
}

export function listZip(bytes: Uint8Array): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { offset, count } = directoryLocation(bytes, view);
  const names = new TextDecoder('utf-8');
  const entries: ZipEntry[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== CENTRAL_SIG) {
      throw new ZipError(`central directory entry ${i} is corrupt (offset ${at})`);
    }
    const nameLen = view.getUint16(at + 28, true);
    const extraLen = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    const e: ZipEntry = {
      name: names.decode(bytes.subarray(at + 46, at + 46 + nameLen)),
      method: view.getUint16(at + 10, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      localHeaderOffset: view.getUint32(at + 42, true),
    };
    applyZip64(view, at + 46 + nameLen, extraLen, e);
    entries.push(e);
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The entry's uncompressed bytes (a view into `bytes` when stored). */
export function readZipEntry(bytes: Uint8Array, e: ZipEntry): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = e.localHeaderOffset;
  if (h + 30 > bytes.length || view.getUint32(h, true) !== LOCAL_SIG) {
    throw new ZipError(`local header of '${e.name}' is corrupt (offset ${h})`);
  }
  const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
  const end = start + e.compressedSize;
  if (end > bytes.length) throw new ZipError(`entry '${e.name}' runs past the end of the file (truncated download?)`);
  const raw = bytes.subarray(start, end);
  if (e.method === 0) return raw;
  if (e.method === 8) return zlib.inflateRawSync(raw);
  throw new ZipError(`entry '${e.name}' uses compression method ${e.method}; only stored (0) and deflate (8) are supported`);
}
