/**
 * Where a broker queue keeps the items nobody has got yet (a Pipe direction's messages too):
 * a few on the broker thread's JavaScript heap, a backlog beyond that in memory outside it.
 *
 * Why. Items up to 64 KiB arrive as strings (broker-item.ts), which live on the broker thread's
 * heap. A producer gigabytes ahead of its consumers (or a few hundred MB under
 * `--max-old-space-size`) filled that heap, and V8 ended the broker thread at its limit: every
 * process of the tree lost its broker. Past HEAP_BYTES, a queue's items go into a log of
 * Buffers, whose memory is not V8's heap (it counts only as "external" memory, which has no
 * such limit), and come back out as strings when a get takes them.
 *
 *   push ──▶ [ heap: Deque of items as they came ] [ log: records in chunks, off the heap ] ──▶ shift
 *              front (oldest)                        back (newest), used once the front is full
 *
 * The front is kept as it is (no copy in or out) while the queue's items there take no more than
 * HEAP_BYTES: the common queue, whose consumers keep up, pays nothing. An empty store's front
 * takes any one item, however large. Once the front is full, every new item goes into the log
 * while the log holds any, so the order holds: the front's items are older than the log's. When
 * the front empties, it takes the log's oldest items back, up to HEAP_BYTES (each item is decoded
 * once either way): a backlog that has shrunk under HEAP_BYTES thus leaves the log, and a queue
 * settled at a small backlog after a burst stops paying the log's copies. An item handed back
 * (`unshift`: a lent batch given back) goes to the front, whatever its size: those are few (one
 * batch per getter). A batch taken as bytes (`shiftEncoded`, broker-batch.ts) reads the log
 * directly instead: its items never become strings, so the log is not emptied into the front;
 * new items then go to the log until it is empty. A putMany's items read as bytes (`pushRaw`,
 * v8-format.ts's RawItems) go where `push` would put them, the log's copied from their frame.
 *
 * A record in the log, in a chunk (each chunk Buffer.allocUnsafeSlow, its own memory):
 *
 *   offset  size  field
 *   0       1     tag: LATIN1, UTF16, NUMBER or ASIDE
 *   1       4     n: payload bytes (u32, little-endian); 0 for ASIDE
 *   5       n     payload: a string's bytes (one byte per character for LATIN1, UTF-16LE code
 *                 units for UTF16: lossless for any string, lone surrogates too), or a float64
 *
 * Invariant the log relies on: every string item starting with U+00FF holds one byte per
 * character (no character above U+00FF). Only broker-item.ts's `toWire` makes such strings (an
 * item's bytes, one per character; a user's string that starts so travels as its serialization),
 * so LATIN1 keeps them exactly; a string breaking it would come back altered. Any other string (a
 * user's string item) is stored as UTF16, which keeps anything. Anything else
 * (a Buffer of a large item, which is outside the heap already, `[bytes, tokens]`, true, null…)
 * waits in `aside`, a Deque, in its place marked by an ASIDE record.
 */
import { Deque } from '../deque.js';
import type { RawItems } from '../v8-format.js';

const LATIN1 = 1;
const UTF16 = 2;
const NUMBER = 3;
const ASIDE = 4;
const HEAD = 5;

/**
 * Tuning: how many bytes of items (estimated, `heapCost`) a queue keeps on the heap. Larger, a
 * deeper backlog passes without the log's two copies per item, but each queue may hold that much
 * of the broker's heap (hundreds of queues share it); smaller, more streams pay the copies.
 */
const HEAP_BYTES = 1024 * 1024;
/**
 * Tuning: a log chunk's size (a larger record gets a chunk of its own size). Larger, fewer
 * allocations; but a chunk is freed only once all its records are taken, so up to one chunk per
 * queue is held beyond its items.
 */
const CHUNK = 256 * 1024;
/**
 * Tuning: emptied chunks of CHUNK bytes kept for any queue's log, beyond each queue's one spare
 * (the broker's, at most SPARE_CHUNKS × CHUNK). A chunk allocated anew is memory the process has
 * not touched yet, whose page faults cost several times the copies into it (measured here: a MiB
 * copied into new memory took ~0.2–0.4 ms of CPU, into memory used before ~0.03 ms); a stream of
 * 1 KiB items whose backlog rises and falls fills and empties chunks all the time.
 */
const SPARE_CHUNKS = 16;
const spareChunks: Buffer[] = [];
/** An estimate of a heap string's or an array slot's own cost beside its characters. */
const SLOT = 24;

/**
 * What `item` costs the heap while it waits in the front, roughly: a string's characters, and
 * those of a `[bytes, tokens]` item's bytes when they are a string (a Buffer's are off the heap).
 */
function heapCost(item: unknown): number {
  if (typeof item === 'string') return SLOT + item.length;
  if (Array.isArray(item) && typeof item[0] === 'string') return SLOT + item[0].length;
  return SLOT;
}

export class ItemStore {
  /** The oldest items, as they came. */
  readonly #front = new Deque<unknown>();
  #frontBytes = 0;
  /** Chunks of the log, oldest first: reading in the first at #readAt, writing in the last. */
  readonly #chunks = new Deque<Buffer>();
  #last: Buffer | null = null;
  #readAt = 0;
  /** Where the next record goes in the last chunk (its used end). */
  #writeAt = 0;
  /** Used ends of the chunks before the last one, oldest first (a chunk may end short). */
  readonly #ends = new Deque<number>();
  #logLength = 0;
  readonly #aside = new Deque<unknown>();
  /** An emptied chunk kept for the next: a queue around its limit allocates nothing. */
  #spare: Buffer | null = null;

  constructor(
    private readonly heapBytes = HEAP_BYTES,
    private readonly chunkSize = CHUNK,
  ) {}

  get length(): number {
    return this.#front.length + this.#logLength;
  }

  /** How many items wait in the log (off the heap). */
  get logged(): number {
    return this.#logLength;
  }

  push(item: unknown): void {
    if (this.#logLength === 0) {
      const cost = heapCost(item);
      // An empty front takes any item: one large item alone gains nothing from the log's copies.
      if (this.#frontBytes + cost <= this.heapBytes || this.#front.length === 0) {
        this.#front.push(item);
        this.#frontBytes += cost;
        return;
      }
    }
    this.#append(item);
    this.#logLength++;
  }

  /**
   * The items of `run`, in order, as `push` would take them one by one, but without a string for
   * those that go to the log: their bytes are copied there from the frame they came in.
   */
  pushRaw(run: RawItems): void {
    run.taken = true;
    const b = run.bytes;
    let at = 0;
    while (at < b.length) {
      const tag = b[at++] as number;
      if (tag === 0x4e) {
        this.push(b.readDoubleLE(at));
        at += 8;
        continue;
      }
      let u = 0;
      let scale = 1;
      let c: number;
      do {
        c = b[at++] as number;
        u += (c & 0x7f) * scale;
        scale *= 0x80;
      } while (c & 0x80);
      if (tag === 0x49) {
        this.push((u >>> 1) ^ -(u & 1));
        continue;
      }
      // A one-byte string of u bytes (RawItems holds nothing else).
      const cost = SLOT + u;
      if (
        this.#logLength === 0 &&
        (this.#frontBytes + cost <= this.heapBytes || this.#front.length === 0)
      ) {
        this.#front.push(b.toString('latin1', at, at + u));
        this.#frontBytes += cost;
      } else {
        const chunk = this.#room(HEAD + u);
        const w = this.#writeAt;
        chunk[w] = LATIN1;
        chunk.writeUInt32LE(u, w + 1);
        b.copy(chunk, w + HEAD, at, at + u);
        this.#writeAt = w + HEAD + u;
        this.#logLength++;
      }
      at += u;
    }
  }

  /** Back to the front of the queue (an item handed back). */
  unshift(item: unknown): void {
    this.#front.unshift(item);
    this.#frontBytes += heapCost(item);
  }

  /**
   * Whether the next item is one of broker-item.ts's one-byte item strings (in the front, or a
   * LATIN1 record of the log): a batch starting with it is taken as bytes (broker-batch.ts).
   */
  firstIsBytes(): boolean {
    if (this.#front.length > 0) {
      const x = this.#front.peek();
      return typeof x === 'string' && x.charCodeAt(0) === 0xff;
    }
    if (this.#logLength === 0) return false;
    this.#toOldest();
    return (this.#chunks.peek() as Buffer)[this.#readAt] === LATIN1;
  }

  /**
   * Takes the next item into `w`, as bytes, when it is a one-byte item string or a number (see
   * broker-batch.ts); false, taking nothing, for any other item or none. A log record is copied
   * out of its chunk as it is: the log is read here directly, not through the front (its items
   * never become strings), so a queue whose items are taken this way keeps using the log while
   * it holds any: each item then costs a copy in and a copy out, and no string.
   */
  shiftEncoded(w: {
    latin1(s: string): void;
    latin1Bytes(b: Buffer, from: number, n: number): void;
    number(x: number): void;
  }): boolean {
    if (this.#front.length > 0) {
      const x = this.#front.peek();
      if (typeof x === 'string') {
        if (x.charCodeAt(0) !== 0xff) return false;
        w.latin1(x);
      } else if (typeof x === 'number') w.number(x);
      else return false;
      this.#front.shift();
      this.#frontBytes -= heapCost(x);
      return true;
    }
    if (this.#logLength === 0) return false;
    this.#toOldest();
    const chunk = this.#chunks.peek() as Buffer;
    const at = this.#readAt;
    const tag = chunk[at];
    const n = chunk.readUInt32LE(at + 1);
    if (tag === LATIN1) w.latin1Bytes(chunk, at + HEAD, n);
    else if (tag === NUMBER) w.number(chunk.readDoubleLE(at + HEAD));
    else return false;
    this.#readAt = at + HEAD + n;
    if (--this.#logLength === 0) {
      this.#drop();
      this.#readAt = this.#writeAt = 0;
    }
    return true;
  }

  shift(): unknown {
    if (this.#front.length === 0) {
      if (this.#logLength === 0) return undefined;
      this.#refill();
    }
    const item = this.#front.shift();
    this.#frontBytes -= heapCost(item);
    return item;
  }

  clear(): void {
    this.#front.clear();
    this.#frontBytes = 0;
    this.#chunks.clear();
    this.#ends.clear();
    this.#aside.clear();
    this.#last = null;
    this.#readAt = this.#writeAt = this.#logLength = 0;
  }

  /**
   * The items that are neither strings nor numbers (those that can carry Pipe ends), in no
   * particular order, without reading the log back.
   */
  *objects(): IterableIterator<unknown> {
    for (const x of this.#front) if (typeof x !== 'string' && typeof x !== 'number') yield x;
    yield* this.#aside;
  }

  /** Every item, oldest first (the log's read back without being taken). */
  *[Symbol.iterator](): IterableIterator<unknown> {
    yield* this.#front;
    let at = this.#readAt;
    const ends = [...this.#ends, this.#writeAt];
    const aside = this.#aside[Symbol.iterator]();
    let i = 0;
    for (const chunk of this.#chunks) {
      const end = ends[i++] as number;
      while (at < end) {
        const item = read(chunk, at, aside);
        at = readEnd;
        yield item;
      }
      at = 0;
    }
  }

  #append(item: unknown): void {
    let tag: number;
    let n: number;
    if (typeof item === 'string') {
      if (item.charCodeAt(0) === 0xff) {
        tag = LATIN1;
        n = item.length;
      } else {
        tag = UTF16;
        n = item.length * 2;
      }
    } else if (typeof item === 'number') {
      tag = NUMBER;
      n = 8;
    } else {
      tag = ASIDE;
      n = 0;
      this.#aside.push(item);
    }
    const chunk = this.#room(HEAD + n);
    let at = this.#writeAt;
    chunk[at] = tag;
    chunk.writeUInt32LE(n, at + 1);
    at += HEAD;
    if (tag === LATIN1) chunk.write(item as string, at, n, 'latin1');
    else if (tag === UTF16) chunk.write(item as string, at, n, 'utf16le');
    else if (tag === NUMBER) chunk.writeDoubleLE(item as number, at);
    this.#writeAt = at + n;
  }

  /** The last chunk, with `n` bytes free at #writeAt (a new chunk if it has not). */
  #room(n: number): Buffer {
    const last = this.#last;
    if (last !== null && last.length - this.#writeAt >= n) return last;
    if (last !== null) this.#ends.push(this.#writeAt);
    let chunk: Buffer;
    if (n <= this.chunkSize && this.#spare !== null) {
      chunk = this.#spare;
      this.#spare = null;
    } else if (n <= this.chunkSize && this.#shares() && spareChunks.length > 0) {
      chunk = spareChunks.pop() as Buffer;
    } else chunk = Buffer.allocUnsafeSlow(Math.max(n, this.chunkSize));
    this.#chunks.push(chunk);
    this.#last = chunk;
    this.#writeAt = 0;
    if (last === null) this.#readAt = 0;
    return chunk;
  }

  /**
   * The emptied front takes the log's oldest items, up to the heap budget (at least one). Each
   * item is decoded once either way, and a backlog that has shrunk under the budget leaves the
   * log: new items then go to the front again, without the log's copies.
   */
  #refill(): void {
    const front = this.#front;
    do {
      const cost = this.#nextCost();
      if (front.length > 0 && this.#frontBytes + cost > this.heapBytes) return;
      this.#logLength--;
      front.push(this.#take());
      this.#frontBytes += cost;
    } while (this.#logLength > 0);
  }

  /** `heapCost` of the log's oldest item, from its record (the first chunk read to its end left). */
  #nextCost(): number {
    this.#toOldest();
    const chunk = this.#chunks.peek() as Buffer;
    const tag = chunk[this.#readAt];
    if (tag === LATIN1) return SLOT + chunk.readUInt32LE(this.#readAt + 1);
    if (tag === UTF16) return SLOT + chunk.readUInt32LE(this.#readAt + 1) / 2;
    if (tag === NUMBER) return SLOT;
    return heapCost(this.#aside.peek());
  }

  /** Moves the read position to the log's oldest record (the first chunk read to its end left). */
  #toOldest(): void {
    if (this.#chunks.length > 1 && this.#readAt >= (this.#ends.peek() as number)) this.#drop();
  }

  /** The oldest record of the log, taken (after `#nextCost`, which moves to its chunk). */
  #take(): unknown {
    const chunk = this.#chunks.peek() as Buffer;
    const item = read(chunk, this.#readAt, this.#aside);
    this.#readAt = readEnd;
    if (this.#logLength === 0) {
      // Emptied: its last chunk is kept for the next backlog.
      this.#drop();
      this.#readAt = this.#writeAt = 0;
    }
    return item;
  }

  /** This log's chunks are of the size the shared spare list holds (`spareChunks`). */
  #shares(): boolean {
    return this.chunkSize === CHUNK;
  }

  /** The first chunk, read to its end, leaves the log. */
  #drop(): void {
    const chunk = this.#chunks.shift() as Buffer;
    if (this.#chunks.length > 0) this.#ends.shift();
    else this.#last = null;
    if (chunk.length === this.chunkSize) {
      if (this.#spare === null) this.#spare = chunk;
      else if (this.#shares() && spareChunks.length < SPARE_CHUNKS) spareChunks.push(chunk);
    }
    this.#readAt = 0;
  }
}

/** Where the record after the one `read` read last starts. */
let readEnd = 0;

/** The record at `at` of `chunk` (and `readEnd`); an ASIDE item from `aside`. */
function read(chunk: Buffer, at: number, aside: Deque<unknown> | Iterator<unknown>): unknown {
  const tag = chunk[at];
  const n = chunk.readUInt32LE(at + 1);
  const from = at + HEAD;
  let item: unknown;
  if (tag === LATIN1) item = chunk.toString('latin1', from, from + n);
  else if (tag === UTF16) item = chunk.toString('utf16le', from, from + n);
  else if (tag === NUMBER) item = chunk.readDoubleLE(from);
  else item = aside instanceof Deque ? aside.shift() : aside.next().value;
  readEnd = from + n;
  return item;
}
