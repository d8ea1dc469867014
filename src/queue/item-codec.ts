/**
 * How one queue item is laid out in shared bytes. Small primitives take fast paths that skip
 * structured clone entirely (a number is 4 or 8 bytes, a string its UTF-8 bytes); everything
 * else is V8's serialization (`toBytes`, serialize.ts) with weft's shared objects turned into
 * descriptors — strings with a lone surrogate too, since UTF-8 cannot carry one. Plain data
 * (objects, arrays, strings, numbers) is written and read back by v8-format.ts, in JavaScript,
 * without `v8.serialize`'s or `v8.deserialize`'s fixed cost; anything else by V8.
 *
 * Ring record (FIFO queues; LIFO and priority queues keep tag and length in their index instead)
 * | bytes      | field   | meaning                                                            |
 * | 0..3       | header  | u32 LE: tag in bits 31..29, payload length in bits 28..0           |
 * | 4..4+len   | payload | as the tag says, then zero to three bytes of padding to 4          |
 * or the single word WRAP: the rest of the ring is unused, the next record starts at offset 0.
 *
 * Invariants: every payload is shorter than 2^29 bytes, because no queue's buffer exceeds 2^30
 * bytes and a ring record takes at most half of it (Queue's constructor bounds maxbytes; core.ts
 * bounds items) — 28 bits were too few for the largest record. The eight tags fill the three
 * bits: a new kind of payload needs a wider header. WRAP would read as T_FALSE with a length
 * of 2^29 − 1, which no record has (T_FALSE carries no payload). A header is never read before
 * the queue's counters publish its record (core.ts), so it needs no atomic write of its own.
 */
import { deserialize } from 'node:v8';
import { discard, fromBytes, toBytes } from '../internal/serialize.js';

export const T_NUMBER = 0;
export const T_INT = 1;
export const T_STRING = 2;
export const T_V8 = 3;
export const T_UNDEFINED = 4;
export const T_NULL = 5;
export const T_TRUE = 6;
export const T_FALSE = 7;
/** Ring only: the whole header word of a wrap (see the layout above). */
export const WRAP = 0xffffffff;

export const HEADER_BYTES = 4;
const TAG_SHIFT = 29;
const LEN_MASK = 0x1fffffff;
/** The longest payload a header can hold (2^29 − 1 bytes). */
export const MAX_PAYLOAD = LEN_MASK;

/** An item measured for writing: its tag, payload bytes, payload. */
export interface Measured {
  tag: number;
  /** Payload bytes: exact, or an upper bound while `bound` is true. */
  size: number;
  /** `size` is 3 bytes per UTF-16 unit of a string, not its UTF-8 length (see `exactSize`). */
  bound: boolean;
  value: unknown;
  /** Priority (PriorityQueue only). */
  key: number;
}

const scratch: Measured = { tag: 0, size: 0, bound: false, value: undefined, key: 0 };

/**
 * Measures `item`. Returns a shared scratch object (valid until the next call): the hot path
 * allocates nothing for numbers and short strings.
 */
export function measure(item: unknown, what: string): Measured {
  const m = scratch;
  m.value = item;
  m.bound = false;
  switch (typeof item) {
    case 'number':
      if ((item | 0) === item && !Object.is(item, -0)) {
        m.tag = T_INT;
        m.size = 4;
      } else {
        m.tag = T_NUMBER;
        m.size = 8;
      }
      return m;
    case 'string':
      // UTF-8 would turn a lone surrogate into U+FFFD; structured clone keeps it. The check is
      // O(1) for one-byte strings (V8 knows they have no surrogates), a scan for two-byte ones.
      if (!item.isWellFormed()) return serialized(m, item, what);
      m.tag = T_STRING;
      // UTF-8 takes at most 3 bytes per UTF-16 unit: a bound that costs no pass over the string.
      // The exact length is taken only where the bound does not fit (exactSize).
      m.size = item.length * 3;
      m.bound = true;
      return m;
    case 'undefined':
      m.tag = T_UNDEFINED;
      m.size = 0;
      return m;
    case 'boolean':
      m.tag = item ? T_TRUE : T_FALSE;
      m.size = 0;
      return m;
    default:
      if (item === null) {
        m.tag = T_NULL;
        m.size = 0;
        return m;
      }
      return serialized(m, item, what);
  }
}

function serialized(m: Measured, item: unknown, what: string): Measured {
  // Serialised before any field of the scratch is written: the item's getters run in there, and
  // one that puts on a queue measures into this same scratch (its tag left T_STRING under the
  // outer item's bytes, whose put then failed with Buffer's "argument must be a string").
  const bytes = toBytes(item, what);
  m.value = bytes;
  m.tag = T_V8;
  m.size = bytes.length;
  m.bound = false;
  return m;
}

/** Replaces a string's bound by its UTF-8 length (one pass); returns the size. */
export function exactSize(m: Measured): number {
  if (m.bound) {
    m.size = Buffer.byteLength(m.value as string, 'utf8');
    m.bound = false;
  }
  return m.size;
}

/** Writes the payload at `off` (after the header); returns the payload's real length. */
export function writePayload(buf: Buffer, dv: DataView, off: number, m: Measured): number {
  switch (m.tag) {
    case T_INT:
      dv.setInt32(off, m.value as number, true);
      return 4;
    case T_NUMBER:
      dv.setFloat64(off, m.value as number, true);
      return 8;
    case T_STRING:
      return buf.write(m.value as string, off, 'utf8');
    case T_V8:
      (m.value as Buffer).copy(buf, off);
      return (m.value as Buffer).length;
    default:
      return 0;
  }
}

export function writeHeader(dv: DataView, off: number, tag: number, len: number): void {
  dv.setUint32(off, ((tag << TAG_SHIFT) | len) >>> 0, true);
}

export function writeWrap(dv: DataView, off: number): void {
  dv.setUint32(off, WRAP, true);
}

/** The header word at `off`: compare with WRAP, then take `headerTag`/`headerLen` of it. */
export function readHeader(dv: DataView, off: number): number {
  return dv.getUint32(off, true);
}

export function headerTag(header: number): number {
  return header >>> TAG_SHIFT;
}

export function headerLen(header: number): number {
  return header & LEN_MASK;
}

/**
 * Reads a payload of any tag but T_V8, whose bytes are copied out with `copySerialized` and
 * decoded by `decodeSerialized` once the record is consumed (see there).
 */
export function readPayload(
  buf: Buffer,
  dv: DataView,
  off: number,
  tag: number,
  len: number,
): unknown {
  switch (tag) {
    case T_INT:
      return dv.getInt32(off, true);
    case T_NUMBER:
      return dv.getFloat64(off, true);
    case T_STRING:
      return buf.toString('utf8', off, off + len);
    case T_UNDEFINED:
      return undefined;
    case T_NULL:
      return null;
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    default:
      throw new Error(`weft queue: corrupt record tag ${tag}`);
  }
}

export const align4 = (n: number): number => (n + 3) & ~3;

/** A T_V8 payload's bytes, copied out: the queue reuses them as soon as the record is consumed. */
export function copySerialized(buf: Buffer, off: number, len: number): Buffer {
  return Buffer.from(buf.subarray(off, off + len));
}

/**
 * Decodes a T_V8 payload copied out of a consumed record. Called with no mutex of the queue
 * held: reviving weft's shared objects in the item runs their revivers, which may throw (a
 * SharedMemory block unlinked since the put, a kind whose module this thread has not loaded).
 * Then the item is gone and the get throws that error, as a multiprocessing queue's get throws
 * the unpickling error of an item it has taken; decoded under the mutex, before the record was
 * consumed, the item stayed first in the queue and every later get threw the same error.
 * All or nothing (`decodeOrDiscard`): when a reviver throws, the item's shared objects revived
 * before it are given back and the ones after it discarded, as an immediate shutdown drops an
 * item (`dropSerialized`) — else a Pipe end in the item would count as open for good, and the
 * other end never see EOF. It costs nothing more than `decode` when nothing throws. Plain data
 * is read in JavaScript (`fromBytes`, v8-format.ts), the rest by V8.
 */
export function decodeSerialized(bytes: Buffer): unknown {
  return fromBytes(bytes, 'bytes', true);
}

/** Gives up a T_V8 payload nobody will get (an immediate shutdown's drain) without reviving it. */
export function dropSerialized(bytes: Buffer): void {
  try {
    discard(deserialize(bytes));
  } catch {
    // Nothing of it was revived: nothing to give back.
  }
}
