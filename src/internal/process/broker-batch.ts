/**
 * A batch of queue items the broker hands a getter (its prefetch), written as bytes straight
 * from where the broker keeps them: no JavaScript string per item on the way out.
 *
 * Why. An item of a KiB or so (a Buffer, a small object: broker-item.ts) waits at the broker as
 * a one-byte string, in the heap or as bytes in the off-heap log (broker-store.ts). Written the
 * usual way, each item of a batch taken from the log became a string again, which V8's
 * serializer then copied into its buffer, which was copied once more behind the frame's header:
 * measured on a stream of 1 KiB items, about a third of the broker's CPU per item, most of it
 * the copies and the garbage. Here each item's bytes are copied once into a scratch buffer, as
 * V8 would write them, then once into the frame.
 *
 * What is written this way: a batch (more than one item asked for) of a queue that is not a
 * Pipe direction, whose first item is a one-byte item string; it goes on while the items are
 * such strings or numbers (a number is as cheap to write here as anywhere) and stops before
 * any other item, or once it holds BATCH_BYTES, so it may hold fewer items than were asked
 * for, as a queue holding fewer would. Other items go the usual way (broker.ts, 'get').
 *
 * The frame of such a reply is what V8 writes for `[{ r, v: [items…] }]` (a number as
 * v8-format.ts writes it: an int32 as such, where V8 may write a double it holds as one; read
 * back the same), so every reader (the getter's, V8's) reads it as any other frame:
 *
 *   offset  bytes                      what
 *   0       u32 little-endian          the body's length (broker-wire.ts's frame)
 *   4       FF 0F                      V8's header, version 15
 *           41 01                      a dense array of 1 (the frame's messages)
 *           6F 22 01 'r' <number r>    an object; key "r", the request's number
 *           22 01 'v' 41 <varint k>    key "v", a dense array of k items
 *           <items>                    each `22 <varint n> <n bytes>` (a one-byte string),
 *                                      `49 <zigzag varint>` (an int32) or `4E <f64 LE>`
 *           24 00 <varint k>           the items' array ends: 0 properties, length k
 *           7B 02                      the object ends: 2 properties
 *           24 00 01                   the messages' array ends
 *
 * Nothing in it is an object V8 numbers for back references but the three containers, and
 * nothing refers back: one-byte strings need no alignment (two-byte ones would, which is why
 * they are left out).
 */
import { varintSize } from '../v8-format.js';
import type { ItemStore } from './broker-store.js';

const ONE_BYTE = 0x22;
const INT32 = 0x49;
const DOUBLE = 0x4e;
const BEGIN_OBJECT = 0x6f;
const END_OBJECT = 0x7b;
const BEGIN_DENSE = 0x41;
const END_DENSE = 0x24;

/**
 * Tuning: a batch written here stops once its items take this many bytes (at least one item is
 * taken). It keeps the scratch buffer bounded, and a getter's frame within the buffer its reader
 * joins frames in (broker-wire.ts, ASSEMBLY_BYTES: a larger frame is joined in new memory) and
 * within what its reader reads itself (v8-format.ts, BULK_BYTES, 2 MiB; V8 reads a larger one,
 * 1.5 ms against 0.9 for a frame of ~2 MiB of 2 KiB items, review r14). The last item taken may
 * pass the bound by up to one item sent as bytes (64 KiB) and its header, hence the margin.
 */
const BATCH_BYTES = 2 * 1024 * 1024 - 72 * 1024;

/** Where a batch's items are written, as V8 writes them: reused from one batch to the next. */
let scratch = Buffer.allocUnsafeSlow(64 * 1024);
let pos = 0;

function room(n: number): void {
  if (pos + n <= scratch.length) return;
  const bigger = Buffer.allocUnsafeSlow(Math.max(2 * scratch.length, pos + n));
  scratch.copy(bigger, 0, 0, pos);
  scratch = bigger;
}

function varint(b: Buffer, at: number, u: number): number {
  while (u >= 0x80) {
    b[at++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  b[at++] = u;
  return at;
}

/** What ItemStore writes a taken item through (see `ItemStore.shiftEncoded`). */
export const itemWriter = {
  /** A string every character of which is below U+0100 (broker-item.ts's item strings). */
  latin1(s: string): void {
    const n = s.length;
    room(6 + n);
    scratch[pos++] = ONE_BYTE;
    pos = varint(scratch, pos, n);
    pos += scratch.write(s, pos, n, 'latin1');
  },
  /** A one-byte string whose characters are `n` bytes of `b` from `from`. */
  latin1Bytes(b: Buffer, from: number, n: number): void {
    room(6 + n);
    scratch[pos++] = ONE_BYTE;
    pos = varint(scratch, pos, n);
    pos += b.copy(scratch, pos, from, from + n);
  },
  number(x: number): void {
    room(10);
    pos = writeNumber(scratch, pos, x);
  },
};

/** `x` as V8 writes a number: an int32 (not -0) as INT32, anything else as DOUBLE. */
function writeNumber(b: Buffer, at: number, x: number): number {
  if ((x | 0) === x && (x !== 0 || 1 / x > 0)) {
    b[at++] = INT32;
    return varint(b, at, ((x << 1) ^ (x >> 31)) >>> 0);
  }
  b[at++] = DOUBLE;
  b.writeDoubleLE(x, at);
  return at + 8;
}

function numberSize(x: number): number {
  return (x | 0) === x && (x !== 0 || 1 / x > 0) ? 1 + varintSize(((x << 1) ^ (x >> 31)) >>> 0) : 9;
}

/**
 * A batch taken as bytes: the reply's `v` until broker-conn.ts writes its frame, and the lease
 * of those items (broker.ts) until the getter says it took them.
 */
export class EncodedItems {
  #items: unknown[] | null = null;

  constructor(
    /** The whole frame of the reply (see the top of this file). */
    readonly frame: Buffer,
    /** Where the items' bytes are in `frame`. */
    readonly from: number,
    readonly to: number,
    readonly length: number,
  ) {}

  /** The items, read back (a getter that ended without taking them all gives the rest back). */
  items(): unknown[] {
    if (this.#items !== null) return this.#items;
    const b = this.frame;
    const out: unknown[] = [];
    let at = this.from;
    while (at < this.to) {
      const tag = b[at++];
      if (tag === DOUBLE) {
        out.push(b.readDoubleLE(at));
        at += 8;
        continue;
      }
      let u = 0;
      let shift = 0;
      let c: number;
      do {
        c = b[at++] as number;
        u += (c & 0x7f) * 2 ** shift;
        shift += 7;
      } while (c & 0x80);
      if (tag === INT32) out.push((u >>> 1) ^ -(u & 1));
      else {
        out.push(b.toString('latin1', at, at + u));
        at += u;
      }
    }
    this.#items = out;
    return out;
  }
}

/**
 * Takes up to `max` items of `store` (at least one: the caller checked `store.firstIsBytes()`)
 * as the frame of the reply to request `r` (see the top of this file).
 */
export function takeBatch(store: ItemStore, max: number, r: number): EncodedItems {
  pos = 0;
  let k = 0;
  while (k < max && (k === 0 || pos < BATCH_BYTES) && store.shiftEncoded(itemWriter)) k++;
  const n = pos;
  const head = 2 + 2 + 1 + 3 + numberSize(r) + 3 + 1 + varintSize(k);
  const tail = 2 + varintSize(k) + 2 + 3;
  const frame = Buffer.allocUnsafe(4 + head + n + tail);
  frame.writeUInt32LE(head + n + tail, 0);
  let at = 4;
  frame[at++] = 0xff;
  frame[at++] = 0x0f;
  frame[at++] = BEGIN_DENSE;
  frame[at++] = 1;
  frame[at++] = BEGIN_OBJECT;
  frame[at++] = ONE_BYTE;
  frame[at++] = 1;
  frame[at++] = 0x72; // r
  at = writeNumber(frame, at, r);
  frame[at++] = ONE_BYTE;
  frame[at++] = 1;
  frame[at++] = 0x76; // v
  frame[at++] = BEGIN_DENSE;
  at = varint(frame, at, k);
  const from = at;
  at += scratch.copy(frame, at, 0, n);
  const to = at;
  frame[at++] = END_DENSE;
  frame[at++] = 0;
  at = varint(frame, at, k);
  frame[at++] = END_OBJECT;
  frame[at++] = 2;
  frame[at++] = END_DENSE;
  frame[at++] = 0;
  frame[at++] = 1;
  return new EncodedItems(frame, from, to, k);
}
