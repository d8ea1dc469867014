/**
 * A writer and a reader, in JavaScript, for the part of V8's value-serializer format (what
 * `v8.serialize` writes and `v8.deserialize` reads) that small messages are made of.
 *
 * Implementation notes
 * --------------------
 * Why. `v8.serialize` and `v8.deserialize` make a serializer object in C++ per call and cross
 * into it for the whole value: for a message like `{ id, op: 'echo', args: [1, 2, 3] }` that
 * fixed cost is several times the work of writing its 38 bytes here, or reading them back. A
 * Listener/Client round trip makes four such calls.
 *
 * What. undefined, null, booleans, numbers, strings, arrays without holes or named properties,
 * and plain objects (prototype `Object.prototype` or null); an object met twice is written as
 * V8 writes it (a back-reference), so shared and cyclic values keep their shape. Anything else
 * — a BigInt, a Date, a Map, a typed array, an Error, a class instance, a Proxy, an array with
 * a hole or longer than MAX_ARRAY, an object carrying the caller's `escapeKey` symbol or a key
 * of its `marks` (a key its reader gives a meaning: the caller escapes that object), nesting
 * deeper than MAX_DEPTH, a serialization over MAX_BYTES — makes `writeSmall` return null, and
 * the caller uses `v8.serialize`; a getter that throws does too (v8.serialize then meets it and
 * reports it), and a write started by a getter in the middle of another (its state is one set
 * of module variables). A property that a getter met before deleted is left out, as V8 leaves
 * it out.
 * `readSmall` reads what either wrote and returns NOT_SMALL at the first tag it does not know,
 * and the caller uses `v8.deserialize`; also for bytes V8 refuses (a key twice in one object, a
 * count or length that does not match), so that V8 reports them. It keeps to the writer's
 * bounds (MAX_BYTES, MAX_ARRAY): past them V8's native reader beats this walk (long arrays of
 * numbers most of all), and a large value that gave up near its end would be read twice (queue
 * items of megabytes read here first took twice V8's time). Exotic objects that V8 knows
 * by their internal type but that look plain from JavaScript are sent to V8: Proxies
 * (`types.isProxy`) and objects whose `Object.prototype.toString` tag is not `Object` (an
 * arguments object, a module namespace, a Date or RegExp given a plain prototype by hand). Not
 * caught: a Map, Set, ArrayBuffer, typed array, Promise or WeakRef whose prototype was replaced
 * by `Object.prototype` or null by hand — written here as the plain object it then looks like.
 *
 * Exactness. What `writeSmall` writes is what `v8.serialize` writes, byte for byte, except
 * where V8's own choice depends on how a value is stored rather than on the value (an integer
 * held as a heap number is a double there, a Latin-1 string held in two bytes a two-byte
 * string), and both read back to the same value. The first use checks this: samples with every
 * tag are written here and by `v8.serialize` and compared byte for byte, and V8's bytes read
 * here; any difference (a V8 with another format version) turns both paths off for the process.
 *
 * Format, version 15 (header FF 0F; varints are base 128, least significant group first):
 *
 *   _ undefined   0 null   T true   F false   I zigzag varint (an int32)   N float64 LE
 *   " varint n, n Latin-1 bytes    c varint n, n bytes of UTF-16 LE (after a 00 pad byte
 *                                    when the data would start at an odd offset)
 *   o (key value)* { varint count                 keys: a string, or an array index as I/N
 *   A varint n, n values, $ varint 0, varint n     (an array without holes)
 *   a varint n, (index value)* @ varint count, varint n   (read only: V8's holey arrays)
 *   ^ varint id   the id-th object or array begun so far (pre-order, from 0)
 *
 * Giving up is a return value (false when writing, NOT_SMALL when reading) passed up the walk,
 * not a throw: a value the walk does not know (a Buffer, a Map) is common, and a throw costs
 * about a microsecond, as much as the rest of the work.
 */
import { types } from 'node:util';
import v8 from 'node:v8';

const PAD = 0x00;
const UNDEFINED = 0x5f;
const NULL = 0x30;
const TRUE = 0x54;
const FALSE = 0x46;
const INT32 = 0x49;
const DOUBLE = 0x4e;
const ONE_BYTE = 0x22;
const TWO_BYTE = 0x63;
const BEGIN_OBJECT = 0x6f;
const END_OBJECT = 0x7b;
const BEGIN_DENSE = 0x41;
const END_DENSE = 0x24;
const BEGIN_SPARSE = 0x61;
const END_SPARSE = 0x40;
const REF = 0x5e;
const VERSION = 15;

/** Tuning: the largest serialization written (and read) here. Past it v8.serialize's and
 * v8.deserialize's fixed cost is small beside the work, and the scratch buffer stays small. */
const MAX_BYTES = 64 * 1024;
/** Tuning: arrays longer than this go to v8.serialize (and are read by v8.deserialize): checking
 * one for named properties here (Object.keys) costs a string per element, where V8 walks its
 * elements natively, and V8 reads a long array faster than `readDense` does. */
const MAX_ARRAY = 256;
/**
 * Tuning, bulk reads (`readSmall`'s `bulk`: the broker's frames): bytes of up to BULK_BYTES, and
 * an array longer than MAX_ARRAY whose first element is a string of at least BULK_STRING
 * characters (a batch of queue items of a KiB or so, each a one-byte string: broker-item.ts),
 * are read here. Per such string the work here is one copy, where V8's reader took more than
 * twice as long (measured, a batch of 1024 strings of 1 KiB: ~0.6 ms with v8.deserialize,
 * ~0.25 ms here). A batch holding something this reader leaves to V8 after such strings (a
 * large item's Buffer) is read up to it, then by V8: at worst about 1.4 times V8's time alone.
 * Writing is left to V8 past MAX_BYTES: its serializer writes such a batch into its own buffer
 * at about the cost of the copy out of this writer's scratch into a new one (new memory either
 * way), where the copy into the scratch came on top.
 */
const BULK_BYTES = 2 * 1024 * 1024;
const BULK_STRING = 256;
/** Nesting deeper than this goes to V8 (no stack overflow here). */
const MAX_DEPTH = 100;
/** Up to this many objects, a repeat is found by scanning; past it, through a Map. */
const SCAN = 16;

/** `readSmall`'s answer for bytes it leaves to `v8.deserialize`; inside, every reader's. */
export const NOT_SMALL: unique symbol = Symbol('weft.notSmall');
const hasOwn = Object.hasOwn;

const toStringTag = Object.prototype.toString;

// ── writing ──────────────────────────────────────────────────────────────────────────────

let out = Buffer.allocUnsafeSlow(4096);
let pos = 0;
/** Where the serialization begins in `out` (after the caller's headroom). */
let start = 0;
let callerKey: symbol | null = null;
/** The caller's `marks` (see `writeSmall`), and the first character of each. */
let markW0 = '';
let markW1 = '';
let markC0 = -1;
let markC1 = -1;
const seenList: object[] = [];
let seenCount = 0;
let seenMap: Map<object, number> | null = null;
/** A character that a one-byte string cannot hold. */
const NOT_LATIN1 = /[\u0100-\uffff]/;

/**
 * `value` in V8's format, after `headroom` bytes left for the caller (uninitialised), or null
 * when it is not a small plain value (see the top of this file): serialize it with V8 then. An
 * object that has a property `escapeKey` (the caller's own objects) is not plain, nor one with
 * a key of `marks` (keys the caller's reader gives a meaning: the caller escapes such objects).
 */
export function writeSmall(
  value: unknown,
  headroom: number,
  escapeKey: symbol,
  marks: readonly [string, string] | null = null,
): Buffer | null {
  if (enabled !== true && (enabled === false || !(enabled = selfTest()))) return null;
  return write(value, headroom, escapeKey, marks);
}

/** A write is under way: a getter of its value that sends something itself goes to V8. */
let writing = false;

function write(
  value: unknown,
  headroom: number,
  escapeKey: symbol | null,
  marks: readonly [string, string] | null = null,
): Buffer | null {
  if (writing) return null;
  writing = true;
  callerKey = escapeKey;
  if (marks === null) markC0 = markC1 = -1;
  else if (marks[0] !== markW0 || marks[1] !== markW1 || markC0 < 0) {
    markW0 = marks[0];
    markW1 = marks[1];
    markC0 = markW0.charCodeAt(0);
    markC1 = markW1.charCodeAt(0);
  }
  start = headroom;
  pos = headroom;
  let ok: boolean;
  try {
    ok = room(2);
    if (ok) {
      out[pos++] = 0xff;
      out[pos++] = VERSION;
      ok = writeValue(value, 0);
    }
  } catch {
    // What a getter threw: V8 meets it again and reports it.
    ok = false;
  } finally {
    forget();
    writing = false;
  }
  if (!ok) return null;
  const res = Buffer.allocUnsafe(pos);
  // A loop beats a call into C++ for the few bytes of most messages.
  if (pos <= 128) for (let i = headroom; i < pos; i++) res[i] = out[i] as number;
  else out.copy(res, headroom, headroom, pos);
  return res;
}

/** Lets go of the objects met (the scratch state must not keep a caller's value alive). */
function forget(): void {
  for (let i = 0; i < seenCount && i < SCAN; i++) seenList[i] = undefined as unknown as object;
  seenCount = 0;
  seenMap = null;
}

/** Makes room for `n` more bytes; false past MAX_BYTES. */
function room(n: number): boolean {
  if (pos + n <= out.length) return true;
  if (pos + n - start > MAX_BYTES) return false;
  const bigger = Buffer.allocUnsafeSlow(Math.max(2 * out.length, pos + n));
  out.copy(bigger, 0, 0, pos);
  out = bigger;
  return true;
}

function writeVarint(u: number): void {
  while (u >= 0x80) {
    out[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  out[pos++] = u;
}

/** Writes `v`; false to give up (see the top of this file). */
function writeValue(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'number':
      return writeNumber(v);
    case 'string':
      return writeString(v);
    case 'boolean':
      if (!room(1)) return false;
      out[pos++] = v ? TRUE : FALSE;
      return true;
    case 'undefined':
      if (!room(1)) return false;
      out[pos++] = UNDEFINED;
      return true;
    case 'object':
      if (v === null) {
        if (!room(1)) return false;
        out[pos++] = NULL;
        return true;
      }
      return writeObject(v, depth);
    default:
      // A BigInt V8 writes; a function or a symbol it refuses, with its own message.
      return false;
  }
}

function writeNumber(n: number): boolean {
  if (!room(9)) return false;
  // -0 is a double for V8 (not a small integer): it must come back -0.
  if ((n | 0) === n && (n !== 0 || 1 / n > 0)) {
    out[pos++] = INT32;
    writeVarint(((n << 1) ^ (n >> 31)) >>> 0);
  } else {
    out[pos++] = DOUBLE;
    out.writeDoubleLE(n, pos);
    pos += 8;
  }
  return true;
}

/** How many bytes V8's varint of `u` (an unsigned 32-bit integer) takes. */
export function varintSize(u: number): number {
  let n = 1;
  while (u >= 0x80) {
    u >>>= 7;
    n++;
  }
  return n;
}

function writeString(s: string): boolean {
  const n = s.length;
  // Past the bound in any case (a character takes a byte at least): given up before the scan,
  // not after it (a batch of 1 KiB items scanned 64 KiB of them to give up).
  if (pos - start + n > MAX_BYTES) return false;
  let oneByte = true;
  if (n > 32) oneByte = !NOT_LATIN1.test(s);
  else {
    // A loop beats the regular expression's call for a short string (most keys).
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 0xff) {
        oneByte = false;
        break;
      }
    }
  }
  if (oneByte) {
    if (!room(6 + n)) return false;
    out[pos++] = ONE_BYTE;
    writeVarint(n);
    if (n <= 24) for (let i = 0; i < n; i++) out[pos++] = s.charCodeAt(i);
    else pos += out.write(s, pos, n, 'latin1');
    return true;
  }
  const bytes = 2 * n;
  if (!room(7 + bytes)) return false;
  // V8 aligns two-byte data to an even offset from the start of the serialization.
  if ((pos - start + 1 + varintSize(bytes)) & 1) out[pos++] = PAD;
  out[pos++] = TWO_BYTE;
  writeVarint(bytes);
  pos += out.write(s, pos, bytes, 'utf16le');
  return true;
}

/** V8 writes a key that is an array index (0 … 2^32 − 2, canonical) as a number. */
function writeKey(k: string): boolean {
  const c = k.charCodeAt(0);
  // A marked key: the first character settles it for nearly every key.
  if ((c === markC0 && k === markW0) || (c === markC1 && k === markW1)) return false;
  if (c >= 0x30 && c <= 0x39 && k.length <= 10 && (c !== 0x30 || k.length === 1)) {
    const n = Number(k);
    if (n <= 4294967294 && String(n) === k) return writeNumber(n);
  }
  return writeString(k);
}

function idOf(o: object): number {
  if (seenMap !== null) return seenMap.get(o) ?? -1;
  for (let i = 0; i < seenCount; i++) if (seenList[i] === o) return i;
  return -1;
}

function remember(o: object): void {
  if (seenMap !== null) {
    seenMap.set(o, seenCount++);
    return;
  }
  seenList[seenCount++] = o;
  if (seenCount === SCAN) {
    seenMap = new Map();
    for (let i = 0; i < SCAN; i++) seenMap.set(seenList[i] as object, i);
  }
}

function writeObject(o: object, depth: number): boolean {
  if (depth >= MAX_DEPTH) return false;
  const id = idOf(o);
  if (id >= 0) {
    if (!room(6)) return false;
    out[pos++] = REF;
    writeVarint(id);
    return true;
  }
  // Proxies first: asking one anything else would run its traps, which V8 never does.
  if (types.isProxy(o)) return false;
  if (Array.isArray(o)) {
    const n = o.length;
    if (n > MAX_ARRAY || Object.getPrototypeOf(o) !== Array.prototype) return false;
    if (callerKey !== null && (o as unknown as Record<symbol, unknown>)[callerKey] !== undefined)
      return false;
    // Named properties (a RegExp match's `index`) V8 writes after the elements: left to it.
    if (Object.keys(o).length !== n) return false;
    remember(o);
    if (!room(6)) return false;
    out[pos++] = BEGIN_DENSE;
    writeVarint(n);
    for (let i = 0; i < n; i++) {
      const x = o[i];
      // A hole: V8 writes the array sparse, and it must come back a hole.
      if (x === undefined && !(i in o)) return false;
      if (!writeValue(x, depth + 1)) return false;
    }
    if (!room(11)) return false;
    out[pos++] = END_DENSE;
    out[pos++] = 0;
    writeVarint(n);
    return true;
  }
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return false;
  if (toStringTag.call(o) !== '[object Object]') return false;
  if (callerKey !== null && (o as Record<symbol, unknown>)[callerKey] !== undefined) return false;
  remember(o);
  if (!room(1)) return false;
  out[pos++] = BEGIN_OBJECT;
  const keys = Object.keys(o);
  let count = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const x = (o as Record<string, unknown>)[k];
    // Deleted by a getter met before it: V8 looks each property up again and skips it.
    if (x === undefined && !hasOwn(o, k)) continue;
    if (!writeKey(k) || !writeValue(x, depth + 1)) return false;
    count++;
  }
  if (!room(6)) return false;
  out[pos++] = END_OBJECT;
  writeVarint(count);
  return true;
}

// ── reading ──────────────────────────────────────────────────────────────────────────────

let inp: Buffer = Buffer.alloc(0);
let at = 0;
let end = 0;
const made: object[] = [];
let madeCount = 0;
let markA = '';
let markB = '';
let marked = false;
let bulkRead = false;

/**
 * The items of a queue's `putMany` message (`{ r, o: 'putMany', id, a: [items…] }`, a message of
 * the frame itself) as the bytes V8 wrote them, for the broker (`setRawItems`): each element a
 * one-byte string that starts with U+00FF (an item sent as bytes, broker-item.ts; the first
 * element is one) or a number, back to back:
 *
 *   element   bytes
 *   string    22 <varint n> <n bytes>
 *   int32     49 <zigzag varint>
 *   double    4E <f64 little-endian>
 *
 * `bytes` is a view of the frame being read until `settleRawItems` runs (broker-wire.ts, once
 * the frame's messages were handled); one not `taken` by then gets a copy of its own.
 */
export class RawItems {
  taken = false;
  constructor(
    public bytes: Buffer,
    readonly length: number,
  ) {}
}

/**
 * The broker's frames (bulk reads: broker-wire.ts's `unframe`) are read with `RawItems` (see
 * there); nothing else, values the broker decodes included.
 */
let rawItems = false;
/** RawItems made by reads since the last `settleRawItems`. */
const unsettled: RawItems[] = [];

/** Switches RawItems reads on or off for this thread; returns the setting before. */
export function setRawItems(on: boolean): boolean {
  const was = rawItems;
  rawItems = on;
  return was;
}

/** Gives each RawItems not taken yet its own copy of its bytes (the frame's will be reused). */
export function settleRawItems(): void {
  for (const r of unsettled) if (!r.taken) r.bytes = Buffer.from(r.bytes);
  unsettled.length = 0;
}

/**
 * The value `bytes` hold, or NOT_SMALL when they hold something this reader leaves to
 * `v8.deserialize` (or are not V8's version 15 at all). `marks`: two keys to watch for — see
 * `readMarked`.
 */
export function readSmall(
  bytes: Uint8Array,
  marks: readonly [string, string],
  bulk = false,
): unknown {
  if (enabled !== true && (enabled === false || !(enabled = selfTest()))) return NOT_SMALL;
  return read(bytes, marks, bulk);
}

/** Whether the last value `readSmall` returned has a key of its `marks` anywhere. */
export function readMarked(): boolean {
  return marked;
}

function read(bytes: Uint8Array, marks: readonly [string, string], bulk = false): unknown {
  if (bytes.length < 3 || bytes.length > (bulk ? BULK_BYTES : MAX_BYTES)) return NOT_SMALL;
  bulkRead = bulk;
  if (bytes[0] !== 0xff || bytes[1] !== VERSION) return NOT_SMALL;
  inp = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  at = 2;
  end = inp.length;
  [markA, markB] = marks;
  marked = false;
  const runs = unsettled.length;
  try {
    const v = readValue(0);
    // Given up: V8 reads it all again, and the runs made here are nobody's.
    if (v === NOT_SMALL) unsettled.length = runs;
    return v;
  } catch {
    // A string longer than V8 allows (or a stack overflow): V8 decides.
    unsettled.length = runs;
    return NOT_SMALL;
  } finally {
    for (let i = 0; i < madeCount; i++) made[i] = undefined as unknown as object;
    madeCount = 0;
    inp = EMPTY;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The request number of a broker frame's only message, read from the front of its body (with
 * this reader's tags and varints): for a frame v8.deserialize could not read, whose front is
 * plain (a reply's value nested too deeply is at its end; sync-direct.ts). Null when the body
 * does not begin as broker-wire's `frame` writes a one-reply frame, a frame of several included:
 * the reply the caller waits for could be among them.
 *
 *   FF version | 41 'A' 01 (dense array of one) or 61 'a' 01 49 00 (sparse, index 0)
 *   | 6F 'o' (object) | 22 01 72 (key "r") | 49 zigzag varint (int) or 4E f64 (double)
 */
export function requestNumber(bytes: Uint8Array): number | null {
  if (bytes[0] !== 0xff) return null;
  inp = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  at = 1;
  end = inp.length;
  try {
    if (readVarint() < 0) return null;
    const array = readTag();
    if ((array !== BEGIN_DENSE && array !== BEGIN_SPARSE) || readVarint() !== 1) return null;
    if (array === BEGIN_SPARSE && (readTag() !== INT32 || readVarint() !== 0)) return null;
    if (readTag() !== BEGIN_OBJECT || readTag() !== ONE_BYTE || readVarint() !== 1) return null;
    if (readByte() !== 0x72 /* 'r' */) return null;
    const t = readTag();
    if (t === DOUBLE) return end - at < 8 ? null : inp.readDoubleLE(at);
    if (t !== INT32) return null;
    const u = readVarint();
    return u < 0 ? null : (u >>> 1) ^ -(u & 1);
  } finally {
    inp = EMPTY;
  }
}

/** The next byte; −1 past the end. */
function readByte(): number {
  return at < end ? (inp[at++] as number) : -1;
}

/** The next tag, padding skipped (as V8's reader skips it everywhere); −1 past the end. */
function readTag(): number {
  let t = readByte();
  while (t === PAD) t = readByte();
  return t;
}

/** The next tag without consuming it (padding before it is consumed); −1 past the end. */
function peekTag(): number {
  while (at < end && inp[at] === PAD) at++;
  return at < end ? (inp[at] as number) : -1;
}

/** A uint32 varint; −1 when cut short or larger (V8 reads a longer one: left to it). */
function readVarint(): number {
  const b0 = readByte();
  if (b0 < 0x80) return b0;
  let r = b0 & 0x7f;
  let scale = 0x80;
  for (let i = 1; i < 5; i++) {
    const b = readByte();
    if (b < 0) return -1;
    r += (b & 0x7f) * scale;
    if (b < 0x80) return r > 0xffffffff ? -1 : r;
    scale *= 0x80;
  }
  return -1;
}

/** The next value, or NOT_SMALL to give up (see the top of this file). */
function readValue(depth: number): unknown {
  const t = readTag();
  switch (t) {
    case INT32: {
      const u = readVarint();
      return u < 0 ? NOT_SMALL : (u >>> 1) ^ -(u & 1);
    }
    case DOUBLE: {
      if (end - at < 8) return NOT_SMALL;
      const d = inp.readDoubleLE(at);
      at += 8;
      return d;
    }
    case ONE_BYTE: {
      const n = readVarint();
      if (n < 0 || end - at < n) return NOT_SMALL;
      const s =
        n <= 6 ? shortString(n) : n <= 12 ? concatString(n) : inp.toString('latin1', at, at + n);
      at += n;
      return s;
    }
    case TWO_BYTE: {
      const n = readVarint();
      if (n < 0 || n & 1 || end - at < n) return NOT_SMALL;
      const s = inp.toString('utf16le', at, at + n);
      at += n;
      return s;
    }
    case UNDEFINED:
      return undefined;
    case NULL:
      return null;
    case TRUE:
      return true;
    case FALSE:
      return false;
    case BEGIN_OBJECT:
      return readObject(depth);
    case BEGIN_DENSE:
      return readDense(depth);
    case BEGIN_SPARSE:
      return readSparse(depth);
    case REF: {
      const id = readVarint();
      if (id < 0 || id >= madeCount) return NOT_SMALL;
      const x = made[id];
      // The same items met again elsewhere: V8 reads the frame, as arrays.
      return x instanceof RawItems ? NOT_SMALL : x;
    }
    default:
      return NOT_SMALL;
  }
}

/**
 * Short Latin-1 strings, by their bytes: most are keys, met in every message, and a string made
 * once is also one V8 has internalized as a key already (a store with a new string as its key
 * first looks it up in the string table). A string of at most 6 bytes is one number exactly.
 */
const shortStrings = new Map<number, string>();
/** Tuning: the cache is emptied when it reaches this many strings (a stream of distinct ones). */
const SHORT_STRINGS = 4096;

function shortString(n: number): string {
  let k = n;
  for (let i = at; i < at + n; i++) k = k * 256 + (inp[i] as number);
  let s = shortStrings.get(k);
  if (s === undefined) {
    s = inp.toString('latin1', at, at + n);
    if (shortStrings.size >= SHORT_STRINGS) shortStrings.clear();
    shortStrings.set(k, s);
  }
  return s;
}

/** Up to 12 characters a concatenation makes flat (a longer one would be a cons string). */
function concatString(n: number): string {
  let s = '';
  for (let i = at; i < at + n; i++) s += String.fromCharCode(inp[i] as number);
  return s;
}

/** A property key: V8 reads a string or a number there and nothing else; else NOT_SMALL. */
function readKey(depth: number): string | number | typeof NOT_SMALL {
  const k = readValue(depth);
  if (typeof k === 'string') {
    if (k === markA || k === markB) marked = true;
    return k;
  }
  return typeof k === 'number' ? k : NOT_SMALL;
}

/** Defines `o[k] = v` as V8's reader does: an own data property, even for `__proto__`. */
function define(o: Record<string | number, unknown>, k: string | number, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

/** The properties up to `endTag` into `o`, and the count after it; false to give up. */
function readProperties(
  o: Record<string | number, unknown>,
  endTag: number,
  depth: number,
): boolean {
  let count = 0;
  for (let t = peekTag(); t !== endTag; t = peekTag()) {
    if (t < 0) return false;
    const k = readKey(depth + 1);
    // An array's `length` is V8's to refuse.
    if (k === NOT_SMALL || (k === 'length' && endTag === END_SPARSE)) return false;
    const v =
      rawItems && bulkRead && depth === 1 && k === 'a' && o.o === 'putMany' && endTag === END_OBJECT
        ? readRawItems(depth + 1)
        : readValue(depth + 1);
    if (v === NOT_SMALL) return false;
    define(o, k, v);
    count++;
  }
  at++;
  // A key met twice, which V8 refuses, leaves fewer keys than properties read. (Checked once
  // per object: a lookup per key costs more.)
  return readVarint() === count && (count === 0 || Object.keys(o).length === count);
}

function readObject(depth: number): object | typeof NOT_SMALL {
  if (depth >= MAX_DEPTH) return NOT_SMALL;
  const o: Record<string | number, unknown> = {};
  made[madeCount++] = o;
  return readProperties(o, END_OBJECT, depth) ? o : NOT_SMALL;
}

function readDense(depth: number): unknown[] | typeof NOT_SMALL {
  if (depth >= MAX_DEPTH) return NOT_SMALL;
  const n = readVarint();
  // Every element takes a byte at least: a length the bytes cannot hold is V8's to refuse.
  if (n < 0 || (n > MAX_ARRAY && !bulkRead) || n > end - at) return NOT_SMALL;
  const a: unknown[] = [];
  made[madeCount++] = a;
  for (let i = 0; i < n; i++) {
    const x = readValue(depth + 1);
    if (x === NOT_SMALL) return NOT_SMALL;
    // A long array of anything else (numbers): V8's reader is the faster.
    if (i === 0 && n > MAX_ARRAY && !isBulkString(x)) return NOT_SMALL;
    a.push(x);
  }
  // Named properties after the elements: left to V8.
  if (readTag() !== END_DENSE || readVarint() !== 0 || readVarint() !== n) return NOT_SMALL;
  return a;
}

/**
 * A dense array of items as RawItems (see there), or, when it is not one (an element of another
 * kind, padding), read as any value is.
 */
function readRawItems(depth: number): unknown {
  const from = at;
  if (inp[at] !== BEGIN_DENSE) return readValue(depth);
  at++;
  const n = readVarint();
  const first = at;
  let ok = n > 0 && n <= end - at;
  for (let i = 0; ok && i < n; i++) {
    const t = readByte();
    if (t === ONE_BYTE) {
      const len = readVarint();
      ok = len > 0 && len <= end - at && inp[at] === 0xff;
      at += len;
    } else if (t === INT32) ok = readVarint() >= 0;
    else if (t === DOUBLE) {
      ok = end - at >= 8;
      at += 8;
    } else ok = false;
    if (i === 0 && t !== ONE_BYTE) ok = false;
  }
  const last = at;
  if (ok && readByte() === END_DENSE && readVarint() === 0 && readVarint() === n) {
    const r = new RawItems(inp.subarray(first, last), n);
    // The array's place among the objects V8 numbers, for the references after it.
    made[madeCount++] = r;
    unsettled.push(r);
    return r;
  }
  at = from;
  return readValue(depth);
}

/** Whether a long array that begins with `x` is read here in bulk mode. */
function isBulkString(x: unknown): boolean {
  return typeof x === 'string' && x.length >= BULK_STRING;
}

function readSparse(depth: number): unknown[] | typeof NOT_SMALL {
  if (depth >= MAX_DEPTH) return NOT_SMALL;
  const n = readVarint();
  if (n < 0 || n > MAX_ARRAY) return NOT_SMALL;
  const a: unknown[] = new Array(n);
  made[madeCount++] = a;
  const props = a as unknown as Record<string | number, unknown>;
  if (!readProperties(props, END_SPARSE, depth)) return NOT_SMALL;
  return readVarint() === n && a.length === n ? a : NOT_SMALL;
}

// ── the first use's check ────────────────────────────────────────────────────────────────

/** null until the first use has checked this V8's format against the code here. */
let enabled: boolean | null = null;

function samples(): unknown[] {
  const shared = { s: 1 };
  const cyclic: Record<string, unknown> = { name: 'c' };
  cyclic.self = cyclic;
  return [
    undefined,
    null,
    {
      a: 1,
      neg: -2,
      big: 2 ** 31,
      min: -(2 ** 31),
      zero: -0,
      nan: Number.NaN,
      half: 1.5,
      t: true,
      f: false,
      n: null,
      u: undefined,
      latin: 'é',
      long: 'x'.repeat(40),
      two: 'a€',
      odd: '€',
      0: 'index',
      7: 'index',
      4294967294: 'largest index',
      4294967295: 'not an index',
      '01': 'not canonical',
      '€': 'two-byte key',
    },
    [1, 'two', [], {}, [shared, shared], Object.assign(Object.create(null), { p: 1 })],
    cyclic,
    'x'.repeat(200),
    '\u{1F600}\ud800',
  ];
}

function selfTest(): boolean {
  try {
    for (const s of samples()) {
      const theirs = v8.serialize(s);
      const mine = write(s, 0, null);
      if (mine === null || !mine.equals(theirs)) return false;
      // What is read here, written again by V8, must be V8's bytes: same values, same shape.
      const back = read(theirs, ['', '']);
      if (back === NOT_SMALL || !v8.serialize(back).equals(theirs)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** @internal For tests: `writeSmall` and `readSmall` without the first use's check. */
export const _unchecked = { write, read, selfTest };
