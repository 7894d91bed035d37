/**
 * A small Python-pickle reader: the opcode subset `torch.save` emits (protocols 2 to 4), enough to rebuild a
 * state_dict. It builds plain JS values; Python globals and objects it does not know become `PyGlobal` /
 * `PyObject` records so the caller (pth.ts) decides what `torch._utils._rebuild_tensor_v2`,
 * `collections.OrderedDict` or `torch.FloatStorage` mean. Nothing is ever executed.
 */

/** A reference to a Python global (module + name), as GLOBAL / STACK_GLOBAL push it. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** The result of calling a global the caller did not resolve: kept as data, never interpreted. */
export class PyObject {
  state: unknown = undefined;
  constructor(
    readonly callee: PyGlobal,
    readonly args: readonly unknown[],
  ) {}
}

/** Any unpickled value: null, boolean, number, bigint, string, Uint8Array, array (list or tuple), Map, PyGlobal, PyObject or what a hook returns. */
export type PyValue = unknown;

export interface UnpickleHooks {
  /** Resolves BINPERSID / PERSID ids (torch uses them for tensor storages). */
  persistentLoad(pid: PyValue): PyValue;
  /** Called for REDUCE / NEWOBJ; return undefined to fall back to a PyObject record. */
  call(callee: PyGlobal, args: readonly PyValue[]): PyValue | undefined;
}

export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleError';
  }
}

/** Keys of Python dicts read here are str or int; OrderedDict and dict both become a Map (insertion order). */
export type PyDict = Map<PyValue, PyValue>;

export interface UnpickleResult {
  value: PyValue;
  /** Offset just past the STOP opcode (legacy .pth files hold several pickles back to back). */
  end: number;
}

/** Reads one pickle starting at `offset`. */
export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks, offset = 0): UnpickleResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  let pos = offset;

  const need = (n: number): void => {
    if (pos + n > bytes.length) throw new PickleError(`truncated pickle: needed ${n} bytes at offset ${pos}`);
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const s = bytes.subarray(pos, pos + n);
    pos += n;
    return s;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new PickleError(`unterminated text line at offset ${pos}`);
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    if (stack.length === 0) throw new PickleError(`stack underflow at offset ${pos - 1}`);
    return stack.pop();
  };
  const top = (): PyValue => {
    if (stack.length === 0) throw new PickleError(`empty stack at offset ${pos - 1}`);
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) throw new PickleError(`no MARK before offset ${pos - 1}`);
    const items = stack.splice(m);
    return items;
  };
  /** Little-endian two's-complement integer of n bytes (LONG1 / LONG4); number when exact, else bigint. */
  const long = (n: number): number | bigint => {
    const b = take(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (n > 0 && (b[n - 1]! & 0x80) !== 0) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const callGlobal = (callee: PyValue, args: PyValue): PyValue => {
    if (!(callee instanceof PyGlobal)) throw new PickleError(`REDUCE on a non-global at offset ${pos - 1}`);
    if (!Array.isArray(args)) throw new PickleError(`REDUCE arguments are not a tuple at offset ${pos - 1}`);
    const r = hooks.call(callee, args);
    return r === undefined ? new PyObject(callee, args) : r;
  };
  const setItem = (dict: PyValue, k: PyValue, v: PyValue): void => {
    if (!(dict instanceof Map)) throw new PickleError(`SETITEM on a non-dict at offset ${pos - 1}`);
    dict.set(k, v);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME (protocol 4): an 8-byte length we can ignore, frames are contiguous
        take(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) throw new PickleError(`STOP with ${stack.length} values on the stack`);
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d: PyDict = new Map();
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) throw new PickleError(`APPEND on a non-list at offset ${at}`);
        list.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) throw new PickleError(`APPENDS on a non-list at offset ${at}`);
        list.push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const d = top();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x8a: // LONG1
        stack.push(long(u8()));
        break;
      case 0x8b: // LONG4
        stack.push(long(u32()));
        break;
      case 0x47: {
        // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(text.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text.decode(take(u8())));
        break;
      case 0x54: // BINSTRING (Python 2 str; torch's legacy files use it for keys)
        stack.push(latin1.decode(take(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(new Uint8Array(take(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(new Uint8Array(take(u8())));
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        stack.push(new PyGlobal(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          throw new PickleError(`STACK_GLOBAL needs two strings at offset ${at}`);
        }
        stack.push(new PyGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(callGlobal(pop(), args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        stack.push(callGlobal(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: set state on an object. Tensors and dicts ignore it (state_dict._metadata, tensor hooks).
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject) obj.state = state;
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      case 0x50: // PERSID
        stack.push(hooks.persistentLoad(line()));
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw new PickleError(`memo key ${k} missing at offset ${at}`);
        stack.push(memo.get(k));
        break;
      }
      case 0x30: // POP
        pop();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default:
        throw new PickleError(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at offset ${at}`);
    }
  }
}
