/**
 * How one queue item is laid out in shared bytes. Small primitives take fast paths that skip
 * structured clone entirely (a number is 8 bytes, a string its UTF-8 bytes); everything else goes
 * through `v8.serialize` with weft's shared objects turned into descriptors (serialize.ts).
 *
 * A record is a 4-byte header — tag in the top 4 bits, payload length in the low 28 — then the
 * payload, padded to 4 bytes. The header is written last by nobody: records are published by the
 * queue's counters (see core.ts), never by their own bytes.
 */
import { fromBytes, toBytes } from '../internal/serialize.js';

export const T_NUMBER = 0;
export const T_INT = 1;
export const T_STRING = 2;
export const T_V8 = 3;
export const T_UNDEFINED = 4;
export const T_NULL = 5;
export const T_TRUE = 6;
export const T_FALSE = 7;
/** Ring only: the rest of the buffer is unused; the next record starts at offset 0. */
export const T_WRAP = 15;

export const HEADER_BYTES = 4;
const LEN_MASK = 0x0fffffff;

/** An item measured for writing: its tag, payload bytes (an upper bound for strings), payload. */
export interface Measured {
  tag: number;
  size: number;
  value: unknown;
  /** Priority (PriorityQueue only). */
  key: number;
}

const scratch: Measured = { tag: 0, size: 0, value: undefined, key: 0 };

/**
 * Measures `item`. Returns a shared scratch object (valid until the next call): the hot path
 * allocates nothing for numbers and short strings.
 */
export function measure(item: unknown, what: string): Measured {
  const m = scratch;
  m.value = item;
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
      m.tag = T_STRING;
      // UTF-8 needs at most 3 bytes per UTF-16 unit; exact length only when the bound is big.
      m.size = item.length <= 4096 ? item.length * 3 : Buffer.byteLength(item);
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
      m.tag = T_V8;
      m.value = toBytes(item, what);
      m.size = (m.value as Buffer).length;
      return m;
  }
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
  dv.setUint32(off, ((tag << 28) | len) >>> 0, true);
}

export function headerTag(dv: DataView, off: number): number {
  return dv.getUint32(off, true) >>> 28;
}

export function headerLen(dv: DataView, off: number): number {
  return dv.getUint32(off, true) & LEN_MASK;
}

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
    case T_V8:
      // Copied out first: the bytes are reused as soon as the record is consumed.
      return fromBytes(Buffer.from(buf.subarray(off, off + len)));
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
