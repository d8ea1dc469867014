/**
 * A multiprocessing `Array`'s items in memory the processes share: a file of its own in /dev/shm
 * (named after the lock slab's, lock-slab.ts), mapped MAP_SHARED by native/shm/shm.cc in every
 * thread that uses the Array, and by the broker, which serves the threads that cannot map it.
 * Python's `multiprocessing.Array` is a ctypes array in shared memory for the same reason: an
 * item read is a load, not a message.
 *
 * Layout (bytes; the file is HEADER_BYTES + length × item size, zero-filled when made):
 *
 *   | bytes      | field  | written by                                            | read by       |
 *   | ---------- | ------ | ----------------------------------------------------- | ------------- |
 *   | 0 … 3      | guard  | a writer taking it (CAS 0 → its session number) and   | writers       |
 *   |            |        | giving it back (store 0); the broker freeing the guard |               |
 *   |            |        | of a session that ended                               |               |
 *   | 4 … 7      | seq    | the guard's holder: +1 before it writes, +1 after     | every reader  |
 *   | 8 … 11     | want   | a reader that failed its optimistic reads (CAS 0 →    | writers, the  |
 *   |            |        | its session number), until it has read under the guard; | broker      |
 *   |            |        | the broker freeing that of a session that ended        |               |
 *   | 12 … 63    | unused |                                                       |               |
 *   | 64 …       | items  | the guard's holder; the creator before the handle     | every reader  |
 *   |            |        | exists anywhere else                                  |               |
 *
 * Items are in the type code's own width and the machine's byte order (`getObj()` is a typed
 * array over them): int8/16/32 for b B h H i I, int64 for l L q Q, float32 f, float64 d.
 *
 * Invariants:
 *   - Every write — an item, an add, a slice — holds the guard, and brackets its stores with two
 *     increments of seq: seq is odd exactly while a write is under way. So writes never
 *     interleave, and a reader that saw the same even seq before and after its copy read a state
 *     that existed between two writes (a seqlock): an item, or a whole slice, is read as of one
 *     instant, as the broker served them when it held every Array.
 *   - A reader first reads optimistically and writes nothing. A seqlock starves a long read
 *     under a stream of short writes (a million-item slice while another process sets items
 *     in a loop never saw one quiet copy), so after READ_TRIES failed copies the reader
 *     announces itself in `want` and reads under the guard; a writer does not take the guard
 *     while another session is in `want`. So a read ends after at most one more write.
 *   - The guard and `want` name a session (lock-slab.ts numbers), taken only once the broker
 *     knows that number (`fastSlab()`), so that the broker can free them for a thread or process
 *     that ends holding them (`freeHeldBy`): a write may be half done, as a Python process
 *     killed inside `arr[:] = …` leaves it, but nobody waits for ever.
 *   - The guard is held only while items are copied in or out, never across a call into user code
 *     or a wait: a writer or reader that finds a write under way spins (sleeping a little between
 *     reads after the first few), for at most the time of one copy.
 *   - `getObj()` bypasses all of this, as Python's `get_obj()` does: plain reads and writes of the
 *     memory, item-atomic only for aligned 8/16/32-bit types through `Atomics`.
 */
import { ctorOf, type Typed } from '../../threading/typecodes.js';
import { coercer } from './typecodes.js';

export const HEADER_BYTES = 64;
const GUARD = 0;
const SEQ = 1;
const WANT = 2;
/** Optimistic copies a reader tries before it reads under the guard (see `want`). */
const READ_TRIES = 3;
/** The broker's name in the guard: no session has it (lock-slab.ts's HANDOFF, a held word's max). */
const BROKER_GUARD = 0x3fffffff;
/** Reads of a busy guard or odd seq before the spinner starts sleeping between reads. */
const SPINS = 64;
/** How long a spinner sleeps between reads once it sleeps (ms). */
const NAP_MS = 0.02;
const napCell = new Int32Array(new SharedArrayBuffer(4));

/** The typed array over an Array's items (weft/threading's typed arrays, by the same codes). */
export type ItemView = Typed;

/** Bytes of one item of `typecode` (a code the coercer knows). */
export function itemBytes(typecode: string): number {
  return ctorOf('Array', typecode).BYTES_PER_ELEMENT;
}

/** The file's size for `length` items of `typecode`. */
export function storeBytes(typecode: string, length: number): number {
  return HEADER_BYTES + length * itemBytes(typecode);
}

/**
 * Python's `a[i:j] = values` on a fixed-length Array: `values` must hold as many items as the
 * slice. @throws RangeError (Python's ValueError) otherwise.
 */
export function checkSliceSize(held: number, received: number): void {
  if (received !== held)
    throw new RangeError(
      `Can only assign a sequence of the same size to an Array slice: the slice holds ${held} items, received ${received}`,
    );
}

/** What a read's optimistic copies return when none came out whole. */
const RETRY: unique symbol = Symbol('retry');

function nap(): void {
  Atomics.wait(napCell, 0, 0, NAP_MS);
}

export class ArrayStore {
  /**
   * @internal For tests: called after each optimistic copy of a read, before its check (a test
   * makes a write land there every time, deterministically).
   */
  static _afterCopy: (() => void) | null = null;
  readonly length: number;
  readonly #head: Int32Array;
  readonly #items: ItemView;
  /** 64-bit codes: items are BigInts in the view, numbers outside. */
  readonly #big: boolean;
  readonly #coerce: (v: number) => number;
  readonly #typecode: string;

  /**
   * How long (ms) the broker waits for the guard, for a thread that cannot map the file (see
   * `brokerWrite`): its holder is copying items in or out (a millisecond a few MiB), unless it
   * ended in the middle and the broker has not read its end yet (it cannot read it while it
   * waits), or it is stopped (SIGSTOP, a debugger). Every client of the tree waits meanwhile, so
   * the wait is short (100 ms, and 1 ms more a MiB of items); past it the broker reads or writes
   * without the guard rather than hang the tree.
   */
  readonly brokerPatience: number;

  /** The store of `length` items of `typecode` in `buffer` (the Array's mapped file). */
  constructor(buffer: ArrayBufferLike, typecode: string, length: number) {
    this.length = length;
    this.brokerPatience = 100 + (length * itemBytes(typecode)) / (1 << 20);
    this.#typecode = typecode;
    this.#head = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#items = new (ctorOf('Array', typecode))(buffer, HEADER_BYTES, length);
    this.#big = this.#items instanceof BigInt64Array || this.#items instanceof BigUint64Array;
    this.#coerce = coercer(typecode);
  }

  /**
   * Writes the first `items` (checked numbers) of a store just made, before its Array's handle
   * exists anywhere else: nobody can read them yet, so no guard.
   */
  fillNew(items: readonly number[]): void {
    for (let i = 0; i < items.length; i++) this.#put(i, items[i] as number);
  }

  /** The items as a typed array over the shared memory itself (`getObj()`). */
  view(): ItemView {
    return this.#items;
  }

  /**
   * Item `k` (in range: the caller checked), as of one instant. `me()` gives the session the read
   * goes under the guard as, if it must (see `want`).
   */
  get(k: number, me: () => number): number {
    const v = this.#read(() => this.#items[k] as number | bigint, me);
    return typeof v === 'bigint' ? Number(v) : v;
  }

  /** Items `start` to `end` (clamped by the caller), as of one instant (see `get`). */
  slice(start: number, end: number, me: () => number): number[] {
    return this.#read(() => this.#copy(start, end), me);
  }

  #copy(start: number, end: number): number[] {
    const items = this.#items;
    const n = Math.max(end - start, 0);
    const out = new Array<number>(n);
    if (this.#big) {
      for (let i = 0; i < n; i++) out[i] = Number(items[start + i] as bigint);
    } else {
      for (let i = 0; i < n; i++) out[i] = items[start + i] as number;
    }
    return out;
  }

  /**
   * `copy()` as of one instant: optimistically, between two equal even loads of seq; after
   * READ_TRIES copies that a write overlapped, under the guard, announced in `want` first.
   */
  #read<T>(copy: () => T, me: () => number): T {
    const out = this.#optimistic(copy, Number.POSITIVE_INFINITY);
    if (out !== RETRY) return out;
    const head = this.#head;
    const who = me();
    for (let n = 0; Atomics.compareExchange(head, WANT, 0, who) !== 0; n++) if (n >= SPINS) nap();
    try {
      this.#enter(who);
      try {
        return copy();
      } finally {
        // A read changes nothing: seq stays as it is.
        Atomics.store(head, GUARD, 0);
      }
    } finally {
      Atomics.store(head, WANT, 0);
    }
  }

  /** Stores `v` (checked by the caller) as item `k`, holding the guard as session `me`. */
  set(k: number, v: number, me: number): void {
    this.#begin(me);
    try {
      this.#put(k, v);
    } finally {
      // Nothing here throws on checked input; if it ever did, a guard left held would stop
      // every writer of the tree.
      this.#leave();
    }
  }

  /**
   * Adds `n` to item `k` as one write; returns the new item. Integers wrap as C's do, `n` first
   * (as the Value cell adds: value-cell.ts); 64-bit codes add exactly.
   */
  add(k: number, n: number, me: number): number {
    this.#begin(me);
    try {
      return this.putAdd(k, n);
    } finally {
      this.#leave();
    }
  }

  /** Stores `values` (checked by the caller) from item `start` on, as one write. */
  setSlice(start: number, values: readonly number[], me: number): void {
    this.#begin(me);
    try {
      for (let i = 0; i < values.length; i++) this.#put(start + i, values[i] as number);
    } finally {
      this.#leave();
    }
  }

  /**
   * Frees the guard if session `number` holds it (it ended: lock-slab.ts), ending its write;
   * returns whether it did. The broker's, as it frees that session's locks.
   */
  freeHeldBy(number: number): boolean {
    const head = this.#head;
    Atomics.compareExchange(head, WANT, number, 0);
    if (Atomics.load(head, GUARD) !== number) return false;
    // The write cut short is ended first, while the guard still names the session that ended:
    // nobody else writes seq meanwhile. Freed first, a waiting writer could take the guard and
    // add its own 1 in between (readers would then see its write half done, or this +1 would
    // undo it and leave seq odd for good, every reader spinning).
    const s = Atomics.load(head, SEQ);
    if ((s & 1) === 1) Atomics.store(head, SEQ, s + 1);
    return Atomics.compareExchange(head, GUARD, number, 0) === number;
  }

  /**
   * The broker's own write (for a thread that cannot map the file): `write()` (`put`, `putAdd`)
   * under the guard taken as BROKER_GUARD. When the guard stays held for `brokerPatience` ms it
   * writes without it (its holder may be a session whose end the broker has not read yet: the
   * broker must not spin waiting for what only it can do). `ended(n)` says whether session `n`
   * is known to be gone, in which case what it holds is freed first.
   */
  brokerWrite<T>(write: () => T, ended: (n: number) => boolean): T {
    const guarded = this.#brokerTake(ended, this.brokerPatience);
    if (guarded) Atomics.add(this.#head, SEQ, 1);
    try {
      return write();
    } finally {
      if (guarded) this.#leave();
    }
  }

  /**
   * The broker's read for a thread that cannot map the file: `get` and `slice`, with the guard
   * taken within `brokerPatience` as `brokerWrite` takes it; past it, the copy is read as it is.
   */
  brokerGet(k: number, ended: (n: number) => boolean): number {
    const v = this.#brokerRead(() => this.#items[k] as number | bigint, ended);
    return typeof v === 'bigint' ? Number(v) : v;
  }

  brokerSlice(start: number, end: number, ended: (n: number) => boolean): number[] {
    return this.#brokerRead(() => this.#copy(start, end), ended);
  }

  #brokerRead<T>(copy: () => T, ended: (n: number) => boolean): T {
    const until = performance.now() + this.brokerPatience;
    const out = this.#optimistic(copy, until);
    if (out !== RETRY) return out;
    if (!this.#brokerTake(ended, Math.max(until - performance.now(), 0))) return copy();
    try {
      return copy();
    } finally {
      Atomics.store(this.#head, GUARD, 0);
    }
  }

  /**
   * `copy()` between two equal even loads of seq, tried READ_TRIES times (and, while a write is
   * under way, until `until` in `performance.now()` ms); RETRY when no copy came out whole.
   */
  #optimistic<T>(copy: () => T, until: number): T | typeof RETRY {
    const head = this.#head;
    for (let tries = 0, spins = 0; tries < READ_TRIES; ) {
      const s = Atomics.load(head, SEQ);
      if ((s & 1) === 0) {
        const out = copy();
        ArrayStore._afterCopy?.();
        if (Atomics.load(head, SEQ) === s) return out;
        tries++;
      } else if (++spins >= SPINS) {
        if (performance.now() > until) break;
        nap();
      }
    }
    return RETRY;
  }

  /** The guard for the broker, waiting at most `patience` ms (see `brokerWrite`). */
  #brokerTake(ended: (n: number) => boolean, patience: number): boolean {
    const head = this.#head;
    const until = performance.now() + patience;
    for (let spins = 0; ; spins++) {
      const w = Atomics.load(head, WANT);
      if (w !== 0 && ended(w)) Atomics.compareExchange(head, WANT, w, 0);
      const g = w !== 0 && !ended(w) ? -1 : Atomics.compareExchange(head, GUARD, 0, BROKER_GUARD);
      if (g === 0) return true;
      if (g > 0 && ended(g)) this.freeHeldBy(g);
      else if (spins >= SPINS) {
        if (performance.now() > until) return false;
        nap();
      }
    }
  }

  /** Writes item `k`, inside `brokerWrite`. */
  put(k: number, v: number): void {
    this.#put(k, v);
  }

  /** `add`'s read-modify-write, inside `add` or `brokerWrite`. */
  putAdd(k: number, n: number): number {
    const items = this.#items;
    if (this.#big) {
      const big = items as BigInt64Array;
      big[k] = (big[k] as bigint) + BigInt.asIntN(64, BigInt(n));
      return Number(big[k] as bigint);
    }
    if (this.#typecode === 'f' || this.#typecode === 'd') {
      items[k] = (items[k] as number) + n;
      return items[k] as number;
    }
    const next = this.#coerce((items[k] as number) + this.#coerce(n));
    items[k] = next;
    return next;
  }

  #put(k: number, v: number): void {
    if (this.#big) (this.#items as BigInt64Array)[k] = BigInt(v);
    else this.#items[k] = v;
  }

  /** Takes the guard as `me` (a writer, or a reader that announced itself in `want`). */
  #enter(me: number): void {
    const head = this.#head;
    for (let spins = 0; ; spins++) {
      // A reader waiting in `want` goes first (its reads kept meeting writes).
      const w = Atomics.load(head, WANT);
      if ((w === 0 || w === me) && Atomics.compareExchange(head, GUARD, 0, me) === 0) return;
      if (spins >= SPINS) nap();
    }
  }

  /** Starts a write: the guard, then seq odd. */
  #begin(me: number): void {
    this.#enter(me);
    Atomics.add(this.#head, SEQ, 1);
  }

  #leave(): void {
    Atomics.add(this.#head, SEQ, 1);
    Atomics.store(this.#head, GUARD, 0);
  }
}
