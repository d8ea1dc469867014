/**
 * How an item of a multiprocessing Queue (JoinableQueue, SimpleQueue, a Pipe's `send`) travels
 * through the broker: as bytes the broker stores and hands on without reading them.
 *
 * Why. The broker reads every frame a client sends (broker-wire.ts). An item inside a frame was
 * read there too, with the broker thread's stack: an item nested deeper than that stack can read
 * (a thread started with a larger `threading.stackSize()` can write one) made the whole frame
 * unreadable, and the broker closed the sender's connection, failing every request of that
 * thread. As bytes, such an item reaches the broker as any other does; only a getter that cannot
 * read it fails, and only that get (`fromWire`).
 *
 *   put(item) ── serialize here ──▶ frame ──▶ broker keeps the bytes ──▶ frame ──▶ get: read there
 *
 * Wire forms of an item (what the broker's queue holds):
 * - a primitive: the item itself. Nothing in it can nest, so every reader can read it, and it
 *   costs little (ints, the common items of a stream). A string whose first character is U+00FF
 *   is the exception: it travels as bytes (next forms), since those start so.
 * - a typed array, DataView or ArrayBuffer of up to STRING_BYTES: its bytes as a one-byte string
 *   behind two characters, U+00FF and BINARY + its kind (`KINDS`), one character per byte. V8
 *   writes and reads such a string natively; the item itself was a host object to Node's
 *   serializer, a JavaScript callback per item at each of the four steps (client's writer,
 *   broker's reader and writer, getter's reader): measured on a stream of 1 KiB items, about a
 *   third of the putter's and of the broker's CPU time per item. The string is also the copy
 *   the put must make (`binaryToWire`). V8's format has its version (below 0x80) second, so the
 *   two forms do not meet.
 * - a larger binary item: the item itself, as a copy made at the put (see `ownCopy`): beside
 *   its bytes, the callbacks cost little, and a string would be copied at every step.
 * - anything else: its serialization (V8's format, which always begins with the byte FF) as a
 *   one-byte string, one character per byte. A string because V8's serializer writes and reads
 *   one natively, as a copy of its bytes; a Buffer goes through a JavaScript callback per value
 *   (Node's host objects: measured, that cost a small object's trip more than it saved), and a
 *   bare ArrayBuffer a memory allocation of its own at every reader.
 * - `[bytes, tokens]`, bytes as in the form before or, past STRING_BYTES, a Buffer: an item
 *   holding Pipe ends, with the transfer tokens that count them at the broker (transfers.ts), or
 *   a large one (tokens then empty). A top-level array is never an item as itself (an array is
 *   serialized), so the forms are told apart by `Array.isArray` and the first two characters.
 *
 * The broker keeps a Buffer as the view its frame reader made over the chunk the socket read, as
 * it keeps a typed array item: waiting in a queue, it keeps that chunk alive.
 *
 * An item the getter cannot read is consumed, as Python's `get` loses an item whose unpickling
 * raises: put back, it would come to the same getter again, and a JoinableQueue's count still
 * holds it (`taskDone` marks it done). The tokens it carried are dropped: its Pipe ends will
 * never be revived, and their other ends must still see EOF.
 */
import v8 from 'node:v8';
import { markAsUntransferable } from 'node:worker_threads';
import { describeError, RuntimeError } from '../errors.js';
import {
  assertCloneable,
  decodeOrDiscard,
  encode,
  NotCloneableError,
  plainToBytes,
  readBytes,
  readNeedsDecode,
} from '../serialize.js';
import { collectTransfers, dropTransfers } from './transfers.js';

/** The first byte of V8's format, and so the first character of an item sent as bytes. */
const FF = 0xff;
/**
 * The second character of a binary item's string, less its kind (`KINDS`). V8's format has its
 * version second, a varint: below 0x80 while V8's versions are.
 */
const BINARY = 0x80;
/**
 * Binary items' kinds, by index: a subclass travels as its base class. New kinds go at the end
 * (Float16Array: Node 24 on; a reader without it gets a Uint8Array of the bytes).
 */
const KINDS = [
  'Buffer',
  'ArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'Float16Array',
] as const;
const KIND_OF: Record<string, number> = Object.fromEntries(KINDS.map((k, i) => [k, i]));
const UINT8 = KIND_OF.Uint8Array as number;
/**
 * Tuning: the largest serialization sent as a string. A string is copied at every step (into
 * it, by each serializer and reader, back out of it); a Buffer costs a callback per item and is
 * read as a view of the frame, not copied. Small items are many, and the callback dominates;
 * large ones are few, and the copies do (the bound of v8-format.ts's writer too).
 */
const STRING_BYTES = 64 * 1024;

function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && e.message.includes('call stack');
}

/**
 * `item` as it goes to the broker (see the top of this file); the tokens of the Pipe ends it
 * holds are added to `tokens` (also when it throws, so that the caller can drop them). `later`:
 * the wire form waits in this thread's outgoing batch (it is read when the batch is written),
 * so a binary item goes as a copy; false for a blocking call, whose frame is written (or whose
 * MessagePort copies it) within the call: the item itself, as a view of its base class.
 * @throws NotCloneableError naming `what` for an item that cannot be sent, one nested deeper than
 *   this thread's stack can write included.
 */
export function toWire(item: unknown, tokens: string[], what: string, later = true): unknown {
  const t = typeof item;
  if (t === 'string') {
    if ((item as string).charCodeAt(0) !== FF) return item;
  } else if (item === null || (t !== 'object' && t !== 'function' && t !== 'symbol')) return item;
  else if (ArrayBuffer.isView(item) || item instanceof ArrayBuffer) {
    refuseDetached(item, what);
    if (item.byteLength <= STRING_BYTES) return binaryToWire(item);
    return later ? ownCopy(item) : baseView(item);
  }
  // Anything else is written as bytes; a function or a symbol is refused on the way (serialize).
  const from = tokens.length;
  let bytes: Buffer;
  try {
    // Plain data holds nothing to encode or refuse: one walk, that writes it.
    bytes = plainToBytes(item) ?? serialize(item, tokens, what);
  } catch (e) {
    if (isStackOverflow(e)) {
      throw new NotCloneableError(
        `${what}: the item is nested too deeply for this thread's stack to serialize (${describeError(e)}); send flatter data, or send it from a thread with a larger stack (threading.stackSize())`,
        { cause: e },
      );
    }
    throw e;
  }
  const b = bytes.length <= STRING_BYTES ? bytes.toString('latin1') : bytes;
  if (tokens.length === from && typeof b === 'string') return b;
  return [b, tokens.slice(from)];
}

/**
 * Whether `b`'s memory was transferred away (`postMessage` or `structuredClone` with `transfer`,
 * `ArrayBuffer.prototype.transfer`). Node 20 has no `detached` property: an empty buffer is
 * tried instead (a view of a detached buffer cannot be made).
 */
function isDetached(b: ArrayBufferLike): boolean {
  if (!(b instanceof ArrayBuffer)) return false;
  const d = (b as { detached?: unknown }).detached;
  if (typeof d === 'boolean') return d;
  if (b.byteLength !== 0) return false;
  try {
    new Uint8Array(b);
    return false;
  } catch {
    return true;
  }
}

/** The error for an item holding a detached buffer (`cause`: what the serializer threw). */
function detachedError(what: string, cause?: unknown): NotCloneableError {
  return new NotCloneableError(
    `${what}: the item holds an ArrayBuffer that was detached (its memory was transferred away, by postMessage or structuredClone with \`transfer\`, or by buffer.transfer()), so it has no bytes left to send; nothing was sent. Send it before transferring it, or send a copy made before (\`buffer.slice(0)\`)`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * @throws NotCloneableError naming `what` when `item` (a typed array, a DataView or an ArrayBuffer)
 *   is over a detached buffer: its copy would throw a bare TypeError, and a blocking put's
 *   MessagePort would fail on it later.
 */
export function refuseDetached(item: ArrayBufferView | ArrayBuffer, what: string): void {
  // The buffer's length, not the view's: a DataView's byteLength throws a bare TypeError once its
  // buffer is detached. A detached buffer has no bytes: one read settles the common case.
  const b = item instanceof ArrayBuffer ? item : item.buffer;
  if (b.byteLength !== 0) return;
  if (isDetached(b)) throw detachedError(what);
}

type ViewClass = {
  new (b: ArrayBufferLike, at: number, n: number): ArrayBufferView;
  BYTES_PER_ELEMENT: number;
};

/** Node 24 on (22 with `--js-float16array`); undefined before. */
const Float16 = (globalThis as { Float16Array?: ViewClass }).Float16Array;

/**
 * Typed array classes by their name (`viewName`; a subclass travels as its base class). A class
 * missing here came back a Uint8Array of its bytes, as Float16Array did.
 */
const VIEWS: Record<string, ViewClass> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};
if (Float16 !== undefined) VIEWS.Float16Array = Float16;

/** %TypedArray%.prototype's `Symbol.toStringTag` getter: a typed array's class (its base's). */
const typedArrayName = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object,
  Symbol.toStringTag,
)?.get as (this: unknown) => string | undefined;

/**
 * A view's class name: 'DataView' or a typed array's (its base class's), from V8's own slot —
 * a subclass's `Symbol.toStringTag`, which it may redefine, is not asked (one that said
 * 'Float64Array' made a 3-byte Uint8Array come back as an empty Float64Array).
 */
function viewName(item: ArrayBufferView): string {
  return typedArrayName.call(item) ?? 'DataView';
}

/**
 * `item`'s bytes copied into `into` (its length), as a view of the item's class (a Buffer as a
 * Buffer). `into` comes uninitialised from Buffer's allocator (`new Uint8Array(item)` zeroes its
 * memory first).
 */
function copyView(item: ArrayBufferView, into: Buffer): ArrayBufferView {
  into.set(new Uint8Array(item.buffer, item.byteOffset, item.byteLength));
  if (Buffer.isBuffer(item)) return into;
  const tag = viewName(item);
  if (tag === 'DataView') return new DataView(into.buffer, into.byteOffset, into.length);
  const View = VIEWS[tag] ?? Uint8Array;
  const size = View.BYTES_PER_ELEMENT;
  // Buffer's pool hands out 8-byte-aligned slices; a view of wider items needs that alignment.
  if (into.byteOffset % size !== 0) return copyView(item, Buffer.allocUnsafeSlow(into.length));
  return new View(into.buffer, into.byteOffset, into.length / size);
}

/**
 * `item` as a view of its base class over the same memory: v8.serialize names a view's class by
 * its `Symbol.toStringTag`, which a subclass may redefine (one that said 'Float64Array' sent a
 * 64 KiB Uint8Array as a Float64Array of garbage). Node's writer takes a view whose
 * `constructor` is Buffer as a Buffer without asking the tag: such a Buffer, and a base class's
 * view, go as they are; any other Buffer (a subclass) as a Buffer over its bytes, as `ownCopy`
 * sends it.
 */
function baseView(item: ArrayBufferView | ArrayBuffer): ArrayBufferView | ArrayBuffer {
  if (item instanceof ArrayBuffer) return item;
  if (Buffer.isBuffer(item)) {
    if (item.constructor === Buffer) return item;
    return Buffer.from(item.buffer, item.byteOffset, item.byteLength);
  }
  const tag = viewName(item);
  if (tag === 'DataView') {
    if (Object.getPrototypeOf(item) === DataView.prototype) return item;
    return new DataView(item.buffer, item.byteOffset, item.byteLength);
  }
  const View = VIEWS[tag] ?? Uint8Array;
  if (Object.getPrototypeOf(item) === View.prototype) return item;
  return new View(item.buffer, item.byteOffset, item.byteLength / View.BYTES_PER_ELEMENT);
}

/**
 * A binary item as it waits in this thread's outgoing batch: a copy. Every other item is written
 * (serialized) at the put; a binary one is written with its batch, at the end of the turn or
 * later: without the copy, a change made to it after the put showed in the item got, and a
 * buffer transferred meanwhile made the whole batch unwritable, losing the items around it.
 * A view over a SharedArrayBuffer becomes a view of its own too, as the batch's writer made it.
 * The copy may be a slice of Buffer's pool: nobody sees it but the batch's writer, which writes
 * the view's bytes alone.
 */
function ownCopy(item: ArrayBufferView | ArrayBuffer): ArrayBufferView | ArrayBuffer {
  if (item instanceof ArrayBuffer) return item.slice(0);
  return copyView(item, Buffer.allocUnsafe(item.byteLength));
}

/** Where a binary item's string is put together: the two characters, then its bytes. */
let scratch: Buffer | null = null;

/** A binary item of up to STRING_BYTES in its string form (see the top of this file). */
function binaryToWire(item: ArrayBufferView | ArrayBuffer): string {
  let kind: number;
  if (item instanceof ArrayBuffer) kind = 1;
  else if (Buffer.isBuffer(item)) kind = 0;
  else kind = KIND_OF[viewName(item)] ?? UINT8;
  const bytes =
    item instanceof ArrayBuffer
      ? new Uint8Array(item)
      : new Uint8Array(item.buffer, item.byteOffset, item.byteLength);
  // One string made from one buffer: a head joined to the bytes' string would be copied again
  // (flattened) by the frame's writer.
  scratch ??= Buffer.allocUnsafeSlow(STRING_BYTES + 2);
  scratch[0] = FF;
  scratch[1] = BINARY + kind;
  scratch.set(bytes, 2);
  return scratch.toString('latin1', 0, bytes.byteLength + 2);
}

/**
 * A binary item's string (see the top of this file) back as its kind, in memory of its own or
 * a slice of Buffer's pool (which a transfer copies, on Node 20; see `guardShared`).
 */
function binaryFromWire(w: string): ArrayBufferView | ArrayBuffer {
  const kind = KINDS[w.charCodeAt(1) - BINARY];
  const n = w.length - 2;
  if (kind === 'ArrayBuffer') {
    const ab = new ArrayBuffer(n);
    Buffer.from(ab).write(w.substring(2), 0, n, 'latin1');
    return ab;
  }
  const b = bytesOfBinary(w);
  if (kind === 'Buffer' || kind === undefined) return b;
  if (kind === 'DataView') return new DataView(b.buffer, b.byteOffset, n);
  const View = VIEWS[kind] ?? Uint8Array;
  // Buffer's pool hands out 8-byte-aligned slices, as a view of wider items needs.
  return new View(b.buffer, b.byteOffset, n / View.BYTES_PER_ELEMENT);
}

/** A binary item's bytes, from its string. */
function bytesOfBinary(w: string): Buffer {
  if (MARK_SHARED) return Buffer.from(w.substring(2), 'latin1');
  // Node 21 on: a transfer of the pool's memory throws, so the item's memory is its own.
  const b = Buffer.allocUnsafeSlow(w.length - 2);
  b.write(w.substring(2), 0, b.length, 'latin1');
  return b;
}

function serialize(item: unknown, tokens: string[], what: string): Buffer {
  const encoded = collectTransfers(tokens, () => encode(item, 'message'));
  // Its words for what cannot be cloned (a function, a SharedArrayBuffer, a Node host object).
  assertCloneable(encoded, what);
  try {
    return v8.serialize(encoded);
  } catch (e) {
    if (isStackOverflow(e)) throw e;
    if (/\bdetached\b/.test(describeError(e))) throw detachedError(what, e);
    throw new NotCloneableError(
      `${what}: the item cannot be serialized (${describeError(e)}); send plain data, typed arrays, Maps/Sets, Errors or weft shared objects`,
      { cause: e },
    );
  }
}

/**
 * `w` for a blocking call, which a MessagePort carries to the sync client thread
 * (broker-sync.ts): structured clone copies a view's whole buffer, so the bytes of a large item,
 * when they are a view of a larger one, go as a copy of their own.
 */
export function toWireForMessage(w: unknown): unknown {
  if (!Array.isArray(w) || typeof w[0] === 'string') return w;
  const bytes = w[0] as Uint8Array;
  if (bytes.byteLength === bytes.buffer.byteLength) return w;
  return [new Uint8Array(bytes), w[1]];
}

/**
 * The item a get took (its wire form, see the top of this file), revived: all or nothing, as
 * `decodeOrDiscard`.
 * @throws RuntimeError `ERR_WEFT_UNREADABLE_MESSAGE` naming `what` when this thread cannot read
 *   the item (nested deeper than its stack can read); the item is consumed. What a reviver throws
 *   (serialize.ts) is thrown as it is.
 */
export function fromWire(w: unknown, what: string): unknown {
  let b: unknown;
  let tokens: string[] | undefined;
  if (typeof w === 'string') {
    if (w.charCodeAt(0) !== FF) return w;
    if (w.charCodeAt(1) >= BINARY) return binaryFromWire(w);
    b = w;
  } else if (Array.isArray(w)) {
    b = w[0];
    tokens = w[1] as string[];
  } else if (ArrayBuffer.isView(w)) return guardShared(w);
  else return w;
  let value: unknown;
  try {
    value = readBytes(typeof b === 'string' ? Buffer.from(b, 'latin1') : ownBytes(b as Uint8Array));
  } catch (e) {
    // Never read, so never revived: its Pipe ends stop counting.
    if (tokens !== undefined) dropTransfers(tokens);
    throw unreadable(what, e);
  }
  if (!readNeedsDecode()) return value;
  return reviveRead(value, what);
}

/** What `readBytes` read, when it holds something to revive: revived, all or nothing. */
function reviveRead(value: unknown, what: string): unknown {
  try {
    return decodeOrDiscard(value);
  } catch (e) {
    // Read by V8 and too deep for the walk that revives it (what was revived is given back).
    if (isStackOverflow(e)) throw unreadable(what, e);
    throw e;
  }
}

/**
 * `Connection.recvBytes`'s answer for the item a get took (its wire form): its bytes in V8's
 * format, which `v8.deserialize` reads back — for plain data the very bytes the sender wrote,
 * read here only to learn that nothing in them needs reviving (they were serialized again
 * after the read before: a second walk and a second copy). An item holding what must be revived
 * (Pipe ends, weft objects, Errors) is revived, as `fromWire` does, and serialized; binary
 * items give their bytes, a Buffer as itself.
 * @throws as `fromWire`.
 */
export function fromWireAsBytes(w: unknown, what: string): Buffer {
  let bytes: Uint8Array | null = null;
  if (typeof w === 'string' && w.charCodeAt(0) === FF) {
    if (w.charCodeAt(1) >= BINARY) return bytesOfBinary(w);
    bytes = Buffer.from(w, 'latin1');
  } else if (Array.isArray(w) && (w[1] as string[]).length === 0) {
    bytes = typeof w[0] === 'string' ? Buffer.from(w[0], 'latin1') : ownBytes(w[0] as Uint8Array);
  }
  if (bytes !== null) {
    let value: unknown;
    try {
      value = readBytes(bytes);
    } catch (e) {
      throw unreadable(what, e);
    }
    if (!readNeedsDecode()) {
      return Buffer.isBuffer(bytes)
        ? bytes
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    return v8.serialize(reviveRead(value, what));
  }
  const obj = fromWire(w, what);
  // A view of the item got (nobody else holds it), as a Buffer item is given as itself.
  if (Buffer.isBuffer(obj)) return obj;
  if (obj instanceof ArrayBuffer) return Buffer.from(obj);
  if (ArrayBuffer.isView(obj)) return Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength);
  return v8.serialize(obj);
}

/**
 * A large item's bytes (the Buffer form) in memory of their own. They are a view of the frame
 * their batch came in, and V8's reader makes a typed array inside the item a view of the memory
 * it reads: of the whole frame then, showing the bytes of the items around it and shared with
 * them (a transfer of one item's array detached the next items of its batch, whose get then
 * failed as unreadable). A small item's string is copied into a Buffer anyway.
 */
function ownBytes(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

/**
 * A binary item got, its buffer made untransferable. The reader of a batch's frame makes each
 * typed array or DataView in it a view of the whole frame, shared by the items of the batch:
 * transferring one item's buffer (to a worker) detached the items of the batch not got yet, which
 * then came back empty. Untransferable, that buffer is copied by such a transfer instead, as
 * Node's Buffer pool is. A copy of each item into memory of its own would cost more: measured,
 * 1 KiB items took 2–3 µs more CPU each (allocating an ArrayBuffer per item), about 30%.
 */
function guardShared(v: ArrayBufferView): ArrayBufferView {
  if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) return v;
  if (MARK_SHARED) {
    markAsUntransferable(v.buffer);
    return v;
  }
  // Node 21 on: a transfer of an untransferable buffer throws (DataCloneError) instead of
  // copying it, so a marked item could never be transferred: a copy of its own instead.
  if (Buffer.isBuffer(v)) {
    const own = Buffer.allocUnsafeSlow(v.byteLength);
    own.set(v);
    return own;
  }
  if (v instanceof DataView)
    return new DataView(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  return (v as Uint8Array).slice();
}

/**
 * Whether `guardShared` marks the buffer (Node 20: a transfer copies an untransferable buffer,
 * as it does Buffer's pool) or copies the item (Node 21 on: such a transfer throws).
 */
const MARK_SHARED = Number(process.versions.node.split('.')[0]) < 21;

function unreadable(what: string, e: unknown): RuntimeError {
  const why = isStackOverflow(e)
    ? "it is nested too deeply for this thread's stack. The item is consumed (as Python's get loses an item it cannot unpickle); send flatter data, or get it in a thread with a larger stack (threading.stackSize())"
    : "the item is consumed (as Python's get loses an item it cannot unpickle)";
  return new RuntimeError(
    `${what}: the item could not be read in this thread (${describeError(e)}): ${why}`,
    'ERR_WEFT_UNREADABLE_MESSAGE',
    { cause: e },
  );
}
