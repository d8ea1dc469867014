/**
 * The engine of every weft/queue class: items as bytes in one SharedArrayBuffer, so that any
 * thread holding the queue puts and gets without a message per item.
 *
 *   producers ──putSync/put──▶ [PLOCK] encode ▶ bytes ▶ TAIL, PUTS++ ──notify if GET_WAITERS──┐
 *                                                                                             ▼
 *   consumers ◀──getSync/get── [CLOCK] read at HEAD ▶ HEAD, GETS++ ◀─────────── park on PUTS ─┘
 *             ▲                            └──notify if PUT_WAITERS──▶ producers park on GETS
 *             └── decode (v8 items, outside the mutex: a reviver may throw, the item is taken)
 *
 * Two stores share the header, the waiting and the counting (CPython's `_put`/`_get` hooks):
 * - FIFO (`Queue`, `SimpleQueue`, `JoinableQueue`): a byte ring of records (item-codec.ts).
 *   Producers serialise among themselves on PLOCK and consumers on CLOCK, so one producer and
 *   one consumer never contend for a lock; they meet only through TAIL/HEAD and the counters.
 * - LIFO and priority: an index of entries (a stack, or a binary heap on (priority, arrival))
 *   and the items' payloads, in one arena that is compacted when it runs out of room. One lock
 *   (PLOCK) for both sides.
 *
 * Header (Int32 words; one 64-byte line per writer side, against false sharing)
 * | idx   | name         | writer             | readers    | meaning                                     |
 * |  0    | PLOCK        | producers          | producers  | mutex: 0 free, else holder tid | PARKED     |
 * |  1    | TAIL         | producers          | producers  | ring: bytes ever written (wraps at 2^32)    |
 * |  2    | PUTS         | producers          | any        | items ever put; getters park on it          |
 * |  3    | ARENA_TOP    | lock holder        | lock holder| arena: first free payload byte              |
 * |  4    | NENTRIES     | lock holder        | lock holder| arena: entries in the index                 |
 * |  5    | SEQ          | lock holder        | lock holder| arena: arrival counter (priority ties: FIFO)|
 * |  6    | DEAD         | lock holder        | lock holder| arena: bytes of consumed payloads below TOP |
 * | 16    | CLOCK        | consumers          | consumers  | mutex of the ring's consumers (as PLOCK)    |
 * | 17    | HEAD         | consumers          | producers  | ring: bytes ever consumed                   |
 * | 18    | GETS         | consumers          | any        | items ever got; putters park on it          |
 * | 19    | DONE         | taskDone           | join       | tasks ever marked done; joiners park on it  |
 * | 32    | GET_WAITERS  | getters (add)      | producers  | getters parked or about to park             |
 * | 33    | PUT_WAITERS  | putters (add)      | consumers  | putters parked or about to park             |
 * | 34    | JOIN_WAITERS | joiners (add)      | taskDone   | joiners parked or about to park             |
 * | 35    | LOCK_PARKED  | —                  | —          | (reserved)                                  |
 * | 36    | ASYNC_GETTERS| async getters (add)| producers  | the async ones among GET_WAITERS (wakeSome) |
 * | 37    | ASYNC_PUTTERS| async putters (add)| consumers  | the async ones among PUT_WAITERS (wakeSome) |
 * | 38    | ROOM_WANTED  | putters 1, gets 0  | consumers  | too few free bytes for a putter: wake all   |
 * | 48    | KIND         | creator            | any        | 0 FIFO, 1 LIFO, 2 priority, 3 simple, 4 joinable |
 * | 49    | CAPACITY     | creator            | any        | bytes of the data area                      |
 * | 50    | SHUTDOWN     | shutdown           | any        | 0 open, 1 shut down, 2 shut down immediately|
 * | 51    | BROKEN       | any (cas, once)    | any        | 0, or the tid that died holding a mutex     |
 * | 52–53 | MAXSIZE      | creator            | any        | Float64: maxsize as given, 0 unbounded      |
 * PLOCK and CLOCK hold their holder's tid (the thread table's, src/internal/shm/world.ts; below
 * 2^30) and PARKED, bit 30, once a waiter may be parked: taking a free mutex is one CAS and
 * giving it back one exchange, as with Drepper's 0/1/2, and a waiter can tell whose death would
 * keep it waiting for ever. BROKEN is read off the uncontended paths only (see below).
 * MAXSIZE is a Float64 so that every thread sees any integer maxsize exactly (an Int32 turned
 * 2^32 + 5 into 5). Its write is plain (Atomics has no Float64): the buffer reaches other
 * threads only through a message, which orders it before any of their reads.
 *
 * Data area (CAPACITY bytes after the 64 header words)
 * - Ring: records at TAIL/HEAD modulo CAPACITY, a power of two.
 * - Arena: payloads grow up from 0 to ARENA_TOP; the index grows down from CAPACITY, entry i
 *   at CAPACITY − (i + 1) · 24, so an item costs its payload plus 24 bytes of maxbytes and no
 *   count limit hides beside the byte limit. Entry i: f64 priority, i32 seq, i32 payload
 *   offset, i32 payload length, i32 tag (the stack's top, or the heap's root, is entry
 *   NENTRIES − 1, or entry 0).
 *
 * Invariants: PUTS − GETS (32-bit wrapping) is the number of items stored, and a record is
 * complete before PUTS counts it (its bytes are written before the seq-cst add that publishes
 * it). TAIL − HEAD ≤ CAPACITY. The largest ring record (header and payload) is half the ring, so
 * a wrap can always fit. ARENA_TOP ≤ CAPACITY − NENTRIES · 24. No queue holds 2^30 items (each
 * takes at least 4 bytes of at most 2^30), so a larger maxsize bounds nothing and the 32-bit
 * count compares stay exact.
 * Every count-changing step happens before the waiter counter is read (wait.ts's handshake).
 * Shutdown changes no futex word, so queue waits park in slices of SHUTDOWN_POLL_MS. A put reads
 * SHUTDOWN under PLOCK, and shutdown() takes PLOCK once after raising it: no put stores an item
 * after shutdown() has returned.
 *
 * A thread that dies holding PLOCK or CLOCK (a worker killed by `terminate()`, a forced
 * cancellation, `process.exit()` mid-copy) never gives it back, and may have left a record or an
 * index half-written: Python's multiprocessing warns that such a queue "is likely to become
 * corrupted" and its other users hang. Here the mutex waiters park in slices of
 * DEAD_HOLDER_RECHECK_MS and, between them, ask the thread table whether the holder has ended; the queue waiters
 * (items, room, join) ask the same of a mutex word they see unchanged for a slice. The first to
 * find a dead holder sets BROKEN, once, takes a ring's other mutex for good in the dead thread's
 * name, and wakes every word: from then on every call throws OwnerDiedError, in every thread
 * (a put or get that would touch the queue finds its mutex held, and lockContended reads
 * BROKEN; an empty get, qsize, taskDone, join and shutdown read it), so that the uncontended
 * put and get read nothing more than before. Calls that need neither the dead thread's mutex
 * nor a wait may still succeed until someone finds out (a FIFO get of a complete item while a
 * producer died): they touch nothing the dead thread could have left half-done. Nothing is
 * repaired, and the dead thread's mutex is not taken over even when it had stored nothing yet:
 * where it stopped is unknowable without a store per operation. Only threads in the
 * table are watched (weft's Threads, pools and executors): the holder of a bare worker_threads
 * Worker that never joined it cannot be told dead, and its waiters wait as before.
 *
 * Fairness: none among producers or among consumers. qsize/empty/full are snapshots.
 */
import { add, cas, exchange, load, notify, parkSync, store } from '../internal/atomics.js';
import { TimeoutError } from '../internal/errors.js';
import {
  AGAIN,
  type Attempt,
  type Parkable,
  waitAsync,
  waitSync,
  wakeSome,
} from '../internal/shm/wait.js';
import {
  DEAD_HOLDER_RECHECK_MS,
  selfTid,
  sharedThreadName,
  threadEnded,
} from '../internal/shm/world.js';
import { Empty, Full, ItemTooLargeError, OwnerDiedError, ShutDown } from './errors.js';
import {
  align4,
  copySerialized,
  decodeSerialized,
  dropSerialized,
  exactSize,
  HEADER_BYTES,
  headerLen,
  headerTag,
  MAX_PAYLOAD,
  type Measured,
  measure,
  readHeader,
  readPayload,
  T_V8,
  WRAP,
  writeHeader,
  writePayload,
  writeWrap,
} from './item-codec.js';

const PLOCK = 0;
const TAIL = 1;
const PUTS = 2;
const ARENA_TOP = 3;
const NENTRIES = 4;
const SEQ = 5;
const DEAD = 6;
const CLOCK = 16;
const HEAD = 17;
const GETS = 18;
const DONE = 19;
const GET_WAITERS = 32;
const PUT_WAITERS = 33;
const JOIN_WAITERS = 34;
const ASYNC_GETTERS = 36;
const ASYNC_PUTTERS = 37;
const ROOM_WANTED = 38;
const KIND = 48;
const CAPACITY = 49;
const SHUTDOWN = 50;
const BROKEN = 51;
/** Float64 index of MAXSIZE (header words 52–53). */
const MAXSIZE_F64 = 26;
const HEADER_WORDS = 64;

export const KIND_FIFO = 0;
export const KIND_LIFO = 1;
export const KIND_PRIORITY = 2;
export const KIND_SIMPLE = 3;
export const KIND_JOINABLE = 4;

/** Trade-off: how late a waiter parked at the moment of a shutdown may notice it. */
const SHUTDOWN_POLL_MS = 50;
/** Trade-off: spins on the queue's internal mutex before parking (it guards one copy). */
const MUTEX_SPIN = 200;
/** A mutex word's waiter bit; the low 30 bits are the holder's tid. */
const PARKED = 0x40000000;
const HOLDER = PARKED - 1;
/** Bytes per arena entry: f64 priority, then i32 seq, offset, length, tag. */
const ENTRY_BYTES = 24;
const ENTRY_WORDS = ENTRY_BYTES >> 2;
/** A maxsize above this is never reached (see the invariants): it is enforced as unbounded. */
const COUNT_LIMIT_MAX = 2 ** 30;

export const DEFAULT_MAXBYTES = 1 << 20;

function lockMutex(a: Int32Array, i: number): void {
  if (cas(a, i, 0, selfTid) !== 0) lockContended(a, i);
}

function lockContended(a: Int32Array, i: number): void {
  for (let k = 0; k < MUTEX_SPIN; k++) {
    if (load(a, i) === 0 && cas(a, i, 0, selfTid) === 0) return;
  }
  for (;;) {
    throwIfBroken(a);
    const w = load(a, i);
    // Drepper's mutex: PARKED marks "someone may be parked", so the unlocker knows to notify;
    // one taken here keeps it, for the waiters that may still be parked.
    if (w === 0) {
      if (cas(a, i, 0, selfTid | PARKED) === 0) return;
      continue;
    }
    if ((w & PARKED) === 0 && cas(a, i, w, w | PARKED) !== w) continue;
    if (parkSync(a, i, w | PARKED, DEAD_HOLDER_RECHECK_MS) === 'timed-out')
      checkHolder(a, i, w & HOLDER);
  }
}

function unlockMutex(a: Int32Array, i: number): void {
  if ((exchange(a, i, 0) & PARKED) !== 0) notify(a, i, 1);
}

/**
 * Breaks the queue if `tid` still holds mutex `i` and has ended. A dead thread releases nothing,
 * and Node never gives its tid again, so a word naming it now names it for good.
 */
/** FIFO kinds keep their items in a byte ring guarded by two mutexes (see the layout table). */
function isRingKind(kind: number): boolean {
  return kind !== KIND_LIFO && kind !== KIND_PRIORITY;
}

function checkHolder(a: Int32Array, i: number, tid: number): void {
  if (tid === 0 || (load(a, i) & HOLDER) !== tid || !threadEnded(tid)) return;
  // The first finder's tid stays: every thread then reports the same death.
  if (cas(a, BROKEN, 0, tid) === 0) {
    if (isRingKind(load(a, KIND))) shutForGood(a, i === PLOCK ? CLOCK : PLOCK, tid);
  }
  // Every parked waiter wakes, and its next attempt throws.
  for (const w of [PLOCK, CLOCK, PUTS, GETS, DONE]) notify(a, w);
  throw brokenError(a);
}

/**
 * Takes a ring's other mutex in the dead thread's name, never to give it back: from then on
 * every put and every get with an item to take finds its mutex held and throws in
 * lockContended, and the uncontended paths need no look at BROKEN. A live holder is one copy
 * away from its release; the other side cannot go on for long either (no room comes, or no item).
 */
function shutForGood(a: Int32Array, j: number, dead: number): void {
  for (let k = 0; ; k++) {
    const w = cas(a, j, 0, dead | PARKED);
    if (w === 0) return;
    // Held by a dead thread as well: shut already.
    if (parkSync(a, j, w, 1) === 'timed-out' && k >= 100 && threadEnded(w & HOLDER)) return;
  }
}

/** OwnerDiedError once the queue is broken (see `checkHolder`). */
function throwIfBroken(a: Int32Array): void {
  if (load(a, BROKEN) !== 0) throw brokenError(a);
}

function brokenError(a: Int32Array): OwnerDiedError {
  const tid = load(a, BROKEN);
  const name = sharedThreadName(tid);
  return new OwnerDiedError(
    `The queue is unusable: thread ${name === null ? tid : `'${name}' (${tid})`} ended in the middle of a put or get on it (killed holding the queue's internal lock), so its contents may be inconsistent; make a new queue`,
  );
}

const FULL = 1;
const NO_ROOM = 2;

export interface CoreConfig {
  kind: number;
  maxsize: number;
  maxbytes: number;
}

export class QueueCore {
  readonly sab: SharedArrayBuffer;
  readonly a: Int32Array;
  readonly buf: Buffer;
  readonly dv: DataView;
  readonly f64: Float64Array;
  readonly kind: number;
  /** As given (any integer ≥ 0); may be beyond an Int32. */
  readonly maxsize: number;
  /** The count bound the put paths enforce: maxsize, or 0 when it cannot be reached. Always
   * a small integer, so the hot path compares Int32s. */
  private readonly countLimit: number;
  readonly cap: number;
  private readonly dataOff: number;
  /** Arena: byte offset just past entry 0 (the index grows down from here). */
  private readonly indexEnd: number;
  /** Largest payload that can ever fit. */
  private readonly maxItem: number;
  /** Lower bounds of HEAD, GETS and PUTS last read by this thread: each saves reading a cache
   * line the other side writes, and a stale one only makes a check conservative (re-read then). */
  private headSeen = 0;
  private getsSeen = 0;
  private putsSeen = 0;
  /** TAIL after this thread's last ring put, GETS after its last ring get. While they are still
   * the shared values, no other producer (consumer) moved since, so the cached bounds above are
   * within one queue's worth of the truth. Otherwise other threads may have moved 2^31 items
   * past them, and the 32-bit differences below would wrap ("room" in a full ring, an item in
   * an empty one): they are read again. */
  private tailOwn = 0;
  private getsOwn = 0;
  keyOf: ((item: unknown) => number) | null = null;

  constructor(config: CoreConfig | SharedArrayBuffer) {
    if (config instanceof SharedArrayBuffer) {
      this.sab = config;
      this.a = new Int32Array(config);
      this.f64 = new Float64Array(config);
      this.kind = load(this.a, KIND);
      this.maxsize = this.f64[MAXSIZE_F64]!;
      this.cap = load(this.a, CAPACITY);
    } else {
      this.kind = config.kind;
      this.maxsize = config.maxsize;
      const ring = config.kind !== KIND_LIFO && config.kind !== KIND_PRIORITY;
      // The ring's positions are counters masked by CAPACITY − 1: a power of two.
      this.cap = ring ? 2 ** Math.ceil(Math.log2(config.maxbytes)) : align8(config.maxbytes);
      this.sab = new SharedArrayBuffer(HEADER_WORDS * 4 + this.cap);
      this.a = new Int32Array(this.sab);
      this.f64 = new Float64Array(this.sab);
      store(this.a, KIND, this.kind);
      this.f64[MAXSIZE_F64] = this.maxsize;
      store(this.a, CAPACITY, this.cap);
    }
    this.countLimit = this.maxsize <= COUNT_LIMIT_MAX ? this.maxsize : 0;
    this.dataOff = HEADER_WORDS * 4;
    this.indexEnd = this.dataOff + this.cap;
    this.buf = Buffer.from(this.sab);
    this.dv = new DataView(this.sab);
    // A ring record (header and payload) takes at most half the ring (see the invariants); an
    // arena item leaves room for its index entry (whose Int32 length holds any arena's bytes).
    this.maxItem = this.isRing() ? (this.cap >> 1) - HEADER_BYTES : this.cap - ENTRY_BYTES;
    if (this.isRing() && this.maxItem > MAX_PAYLOAD) {
      throw new RangeError(`weft queue: capacity ${this.cap} outgrows the record header`);
    }
  }

  isRing(): boolean {
    return isRingKind(this.kind);
  }

  qsize(): number {
    this.checkBroken();
    return (load(this.a, PUTS) - load(this.a, GETS)) | 0;
  }

  checkBroken(): void {
    throwIfBroken(this.a);
  }

  isShutdown(): boolean {
    return load(this.a, SHUTDOWN) !== 0;
  }

  // ── put ─────────────────────────────────────────────────────────────────────────────────

  /** Measures and checks an item before any waiting (errors here are the caller's, not the queue's). */
  prepare(item: unknown, what: string): Measured {
    const key = this.keyOf ? this.keyOf(item) : 0;
    const m = measure(item, what);
    m.key = key;
    if (m.size > this.maxItem) {
      // A string's size may be a bound: measure it exactly before refusing.
      if (exactSize(m) > this.maxItem) {
        const need = this.maxbytesFor(m.size);
        throw new ItemTooLargeError(
          `${what}: the item takes ${m.size} bytes, more than this queue can ever hold (${this.maxItem}); ${
            need <= 2 ** 30
              ? `create the queue with maxbytes: ${need} or more (now ${this.cap})`
              : 'no queue can hold it (maxbytes is at most 2^30): send a smaller item, or share its data in a SharedArrayBuffer'
          }`,
        );
      }
    }
    return m;
  }

  /** The smallest maxbytes whose queue of this kind holds an item of `size` bytes. */
  private maxbytesFor(size: number): number {
    // A ring rounds maxbytes up to a power of two and takes at most half of it, less a header;
    // an arena item also takes one index entry.
    return Math.max(
      64,
      this.isRing() ? 2 ** Math.ceil(Math.log2(2 * (size + HEADER_BYTES))) : size + ENTRY_BYTES,
    );
  }

  /** One put attempt; true when stored. Throws ShutDown. */
  tryPut(m: Measured): boolean {
    const a = this.a;
    lockMutex(a, PLOCK);
    let r: number;
    try {
      // Under PLOCK, which shutdown() takes once after raising SHUTDOWN: a put either ends
      // before the shutdown returns (and an immediate one drains its item) or throws, as under
      // Python's mutex. Checked before the lock, a put in flight stored its item after an
      // immediate shutdown had drained the queue, and a get then returned it.
      if (load(a, SHUTDOWN) !== 0) throw new ShutDown('Cannot put: the queue is shut down');
      r = this.isRing() ? this.ringPut(m) : this.arenaPut(m);
    } finally {
      unlockMutex(a, PLOCK);
    }
    if (r !== 0) {
      // A get wakes one putter, which may be this one, whose item still does not fit where a
      // smaller one would: ask the next get to wake them all. Set before this putter parks, so
      // a get that misses the flag moved GETS after the park's value was read (wait.ts).
      if (r === NO_ROOM && load(a, ROOM_WANTED) === 0) store(a, ROOM_WANTED, 1);
      return false;
    }
    // After PUTS moved (inside the store): a getter counts itself before re-reading PUTS. One
    // more per async getter: its thread may be blocked elsewhere and unable to take the item.
    if (load(a, GET_WAITERS) > 0) wakeSome(a, PUTS, ASYNC_GETTERS, 1);
    return true;
  }

  private ringPut(m: Measured): number {
    const a = this.a;
    let tail = load(a, TAIL);
    if (tail !== this.tailOwn) {
      this.getsSeen = load(a, GETS);
      this.headSeen = load(a, HEAD);
    }
    const limit = this.countLimit;
    if (limit > 0) {
      const puts = load(a, PUTS);
      if (((puts - this.getsSeen) | 0) >= limit) {
        this.getsSeen = load(a, GETS);
        if (((puts - this.getsSeen) | 0) >= limit) return FULL;
      }
    }
    let pos = tail & (this.cap - 1);
    let pad = this.ringRoom(tail, pos, HEADER_BYTES + align4(m.size));
    // A string's bound may refuse room, or wrap early, where its real length would not: the
    // exact length (a pass over the string) only then, so "full" means full for the real bytes.
    if (pad !== 0 && m.bound) pad = this.ringRoom(tail, pos, HEADER_BYTES + align4(exactSize(m)));
    if (pad < 0) return NO_ROOM;
    const base = this.dataOff;
    if (pad > 0) {
      writeWrap(this.dv, base + pos);
      tail = (tail + pad) | 0;
      pos = 0;
    }
    const len = writePayload(this.buf, this.dv, base + pos + HEADER_BYTES, m);
    writeHeader(this.dv, base + pos, m.tag, len);
    this.tailOwn = (tail + HEADER_BYTES + align4(len)) | 0;
    store(a, TAIL, this.tailOwn);
    // Publishes the record: its bytes were written before this seq-cst add.
    add(a, PUTS, 1);
    return 0;
  }

  /** The padding before a record of `need` bytes at `pos` (0: none, the cap − pos before a
   * wrap), or −1 when there is no room for it. */
  private ringRoom(tail: number, pos: number, need: number): number {
    const cap = this.cap;
    const pad = pos + need > cap ? cap - pos : 0;
    // The cached head is a lower bound of the real one: if it shows room, there is room.
    if (((tail - this.headSeen) >>> 0) + pad + need > cap) {
      this.headSeen = load(this.a, HEAD);
      if (((tail - this.headSeen) >>> 0) + pad + need > cap) return -1;
    }
    return pad;
  }

  // ── get ─────────────────────────────────────────────────────────────────────────────────

  /**
   * The item the last successful get took: its value, or, for a serialised one, its bytes,
   * which `take()` decodes once the record is consumed and the mutex released (see
   * item-codec.ts, `decodeSerialized`: a reviver that throws must not leave the item first in
   * the queue).
   */
  private readonly box = { value: undefined as unknown, bytes: null as Buffer | null };

  /** Fills `box` from a record being consumed (under its mutex). */
  private readInto(off: number, tag: number, len: number): void {
    if (tag === T_V8) this.box.bytes = copySerialized(this.buf, off, len);
    else this.box.value = readPayload(this.buf, this.dv, off, tag, len);
  }

  /**
   * One get attempt: true when it took an item (read it with `take()`), false when empty.
   * Throws ShutDown.
   */
  tryGet(): boolean {
    const a = this.a;
    const gets = load(a, GETS);
    if (((this.putsSeen - gets) | 0) <= 0) {
      this.putsSeen = load(a, PUTS);
      if (((this.putsSeen - gets) | 0) <= 0) {
        // Before SHUTDOWN: a broken queue may also be shut down. (A get with an item to take
        // needs a mutex, and a broken queue's are held for good: lockContended throws.)
        throwIfBroken(a);
        if (load(a, SHUTDOWN) !== 0)
          throw new ShutDown('Cannot get: the queue is shut down and empty');
        return false;
      }
    }
    const lock = this.isRing() ? CLOCK : PLOCK;
    lockMutex(a, lock);
    let got: boolean;
    try {
      got = this.isRing() ? this.ringGet() : this.arenaGet();
    } finally {
      unlockMutex(a, lock);
    }
    if (!got) return false;
    // After GETS moved: a putter counts itself before re-reading GETS (and wakeSome: see tryPut).
    if (load(a, PUT_WAITERS) > 0) {
      if (load(a, ROOM_WANTED) !== 0 && exchange(a, ROOM_WANTED, 0) !== 0) notify(a, GETS);
      else wakeSome(a, GETS, ASYNC_PUTTERS, 1);
    }
    return true;
  }

  /**
   * The item the last successful `tryGet` took. Throws what reviving a serialised item throws:
   * the item is consumed all the same (it counts as got, and for `join` as a task to mark done).
   */
  take(): unknown {
    const bytes = this.box.bytes;
    if (bytes !== null) {
      this.box.bytes = null;
      return decodeSerialized(bytes);
    }
    const v = this.box.value;
    this.box.value = undefined;
    return v;
  }

  private ringGet(): boolean {
    const a = this.a;
    const gets = load(a, GETS);
    // Another consumer may have taken the item seen before the lock: check again under it.
    if (gets !== this.getsOwn || ((this.putsSeen - gets) | 0) <= 0) {
      this.putsSeen = load(a, PUTS);
      this.getsOwn = gets;
      if (((this.putsSeen - gets) | 0) <= 0) return false;
    }
    const cap = this.cap;
    const base = this.dataOff;
    let head = load(a, HEAD);
    let pos = head & (cap - 1);
    let header = readHeader(this.dv, base + pos);
    if (header === WRAP) {
      head = (head + cap - pos) | 0;
      pos = 0;
      header = readHeader(this.dv, base);
    }
    const len = headerLen(header);
    this.readInto(base + pos + HEADER_BYTES, headerTag(header), len);
    // Bytes are free for producers only after they were read.
    store(a, HEAD, (head + HEADER_BYTES + align4(len)) | 0);
    this.getsOwn = (add(a, GETS, 1) + 1) | 0;
    return true;
  }

  // ── arena (LIFO / priority) ─────────────────────────────────────────────────────────────

  /** Byte offset of index entry `i` (the index grows down from the end of the arena). */
  private entryByte(i: number): number {
    return this.indexEnd - (i + 1) * ENTRY_BYTES;
  }

  private entryI32(i: number): number {
    return (this.entryByte(i) + 8) >> 2;
  }

  private entryKey(i: number): number {
    return this.f64[this.entryByte(i) >> 3]!;
  }

  private less(i: number, j: number): boolean {
    const ki = this.entryKey(i);
    const kj = this.entryKey(j);
    if (ki !== kj) return ki < kj;
    // Equal priorities leave in arrival order (32-bit wrapping compare).
    return ((this.a[this.entryI32(i)]! - this.a[this.entryI32(j)]!) | 0) < 0;
  }

  /** Swaps two entries word by word (the priority's bits too: no Float64 round trip, no copy). */
  private swap(i: number, j: number): void {
    const a = this.a;
    const wi = this.entryByte(i) >> 2;
    const wj = this.entryByte(j) >> 2;
    for (let k = 0; k < ENTRY_WORDS; k++) {
      const t = a[wi + k]!;
      a[wi + k] = a[wj + k]!;
      a[wj + k] = t;
    }
  }

  private arenaPut(m: Measured): number {
    const a = this.a;
    const n = a[NENTRIES]!;
    if (this.countLimit > 0 && ((a[PUTS]! - load(a, GETS)) | 0) >= this.countLimit) return FULL;
    // Room for the payload below the index grown by this item's entry.
    const room = this.cap - (n + 1) * ENTRY_BYTES;
    let top = a[ARENA_TOP]!;
    let need = align4(m.size);
    if (top + need > room) {
      // A string's bound only: measured exactly before compacting or refusing.
      if (m.bound) need = align4(exactSize(m));
      if (top + need > room) {
        if (top - a[DEAD]! + need > room) return NO_ROOM;
        top = this.compact(n);
      }
    }
    const len = writePayload(this.buf, this.dv, this.dataOff + top, m);
    const e = this.entryI32(n);
    this.f64[this.entryByte(n) >> 3] = m.key;
    a[e] = a[SEQ]!;
    a[SEQ] = (a[SEQ]! + 1) | 0;
    a[e + 1] = top;
    a[e + 2] = len;
    a[e + 3] = m.tag;
    a[ARENA_TOP] = top + align4(len);
    a[NENTRIES] = n + 1;
    if (this.kind === KIND_PRIORITY) {
      for (let i = n; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!this.less(i, parent)) break;
        this.swap(i, parent);
        i = parent;
      }
    }
    add(a, PUTS, 1);
    return 0;
  }

  private arenaGet(): boolean {
    const a = this.a;
    const n = a[NENTRIES]!;
    if (n === 0) return false;
    const at = this.kind === KIND_PRIORITY ? 0 : n - 1;
    const e = this.entryI32(at);
    const off = a[e + 1]!;
    const len = a[e + 2]!;
    this.readInto(this.dataOff + off, a[e + 3]!, len);
    if (this.kind === KIND_PRIORITY && n > 1) {
      this.swap(0, n - 1);
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n - 1 && this.less(l, m)) m = l;
        if (r < n - 1 && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    a[NENTRIES] = n - 1;
    if (n - 1 === 0) {
      a[ARENA_TOP] = 0;
      a[DEAD] = 0;
    } else if (off + align4(len) === a[ARENA_TOP]) {
      a[ARENA_TOP] = off;
    } else {
      a[DEAD] = a[DEAD]! + align4(len);
    }
    add(a, GETS, 1);
    return true;
  }

  /** Moves live records down to the start of the arena; returns the new top. */
  private compact(n: number): number {
    const a = this.a;
    const order: number[] = [];
    for (let i = 0; i < n; i++) order.push(i);
    order.sort((x, y) => a[this.entryI32(x) + 1]! - a[this.entryI32(y) + 1]!);
    let top = 0;
    for (const i of order) {
      const e = this.entryI32(i);
      const off = a[e + 1]!;
      const size = align4(a[e + 2]!);
      if (off !== top)
        this.buf.copy(this.buf, this.dataOff + top, this.dataOff + off, this.dataOff + off + size);
      a[e + 1] = top;
      top += size;
    }
    a[ARENA_TOP] = top;
    a[DEAD] = 0;
    return top;
  }

  /** @internal Tests: takes the mutex a put ('put') or a get ('get') takes, as it does, and keeps
   * it (a thread stopped inside that operation's critical section). */
  _lockForTest(side: 'put' | 'get'): void {
    lockMutex(this.a, side === 'get' && this.isRing() ? CLOCK : PLOCK);
  }

  // ── waiting ─────────────────────────────────────────────────────────────────────────────

  /** Per mutex (PLOCK, CLOCK): the held word this thread's waiters last saw, and since when
   * (0: seen once, not timed yet). */
  private readonly heldSeen = [0, 0];
  private readonly heldSince = [0, 0];

  /**
   * After a queue waiter's failed attempt: a mutex word held unchanged for a whole slice may name
   * a dead thread, and then no put, get or taskDone would ever come to wake the waiter. The
   * table is asked only then; the clock only from a second sighting, so a spin against a live
   * holder (whose word comes and goes) seldom reads it.
   */
  private watchMutexes(): void {
    this.watch(PLOCK, 0);
    if (this.isRing()) this.watch(CLOCK, 1);
  }

  private watch(i: number, k: number): void {
    const w = load(this.a, i);
    if (w !== this.heldSeen[k]) {
      this.heldSeen[k] = w;
      this.heldSince[k] = 0;
      return;
    }
    if (w === 0) return;
    const t = performance.now();
    if (this.heldSince[k] === 0) this.heldSince[k] = t;
    else if (t - this.heldSince[k]! >= DEAD_HOLDER_RECHECK_MS) {
      this.heldSince[k] = t;
      checkHolder(this.a, i, w & HOLDER);
    }
  }

  putParkable(m: Measured): Parkable<void> {
    return {
      a: this.a,
      i: GETS,
      w: PUT_WAITERS,
      aw: ASYNC_PUTTERS,
      maxPark: SHUTDOWN_POLL_MS,
      attempt: () => {
        if (this.tryPut(m)) return undefined;
        this.watchMutexes();
        return AGAIN;
      },
      timedOut: () => {
        throw new Full('Cannot put: the queue stayed full until the timeout');
      },
    };
  }

  getParkable(): Parkable<unknown> {
    return {
      a: this.a,
      i: PUTS,
      w: GET_WAITERS,
      aw: ASYNC_GETTERS,
      maxPark: SHUTDOWN_POLL_MS,
      attempt: (): Attempt<unknown> => {
        if (this.tryGet()) return this.take();
        this.watchMutexes();
        return AGAIN;
      },
      timedOut: () => {
        throw new Empty('Cannot get: the queue stayed empty until the timeout');
      },
    };
  }

  // ── tasks and shutdown ──────────────────────────────────────────────────────────────────

  unfinished(): number {
    return (load(this.a, PUTS) - load(this.a, DONE)) | 0;
  }

  taskDone(): void {
    const a = this.a;
    this.checkBroken();
    for (;;) {
      const done = load(a, DONE);
      if (((load(a, PUTS) - done) | 0) <= 0) {
        throw new RangeError('taskDone() called more times than there were items put in the queue');
      }
      if (cas(a, DONE, done, (done + 1) | 0) === done) break;
    }
    if (load(a, JOIN_WAITERS) > 0) notify(a, DONE);
  }

  joinParkable(): Parkable<void> {
    return {
      a: this.a,
      i: DONE,
      w: JOIN_WAITERS,
      // taskDone notifies; the slices are for a mutex holder that died (watchMutexes).
      maxPark: DEAD_HOLDER_RECHECK_MS,
      attempt: () => {
        this.checkBroken();
        if (this.unfinished() <= 0) return undefined;
        this.watchMutexes();
        return AGAIN;
      },
      timedOut: () => {
        throw new TimeoutError(`Queue.join timed out with ${this.unfinished()} unfinished tasks`);
      },
    };
  }

  shutdown(immediate: boolean): void {
    const a = this.a;
    this.checkBroken();
    store(a, SHUTDOWN, immediate ? 2 : 1);
    // Waits out a put in flight (it checks SHUTDOWN under PLOCK): from here on, none stores.
    lockMutex(a, PLOCK);
    unlockMutex(a, PLOCK);
    if (immediate) {
      // Drain: the items are dropped and count as done, so join() returns.
      while (this.tryGetQuiet()) {
        add(a, DONE, 1);
      }
    }
    notify(a, PUTS);
    notify(a, GETS);
    notify(a, DONE);
  }

  /** A get for the drain: the item is dropped unrevived (a reviver that throws cannot stop it). */
  private tryGetQuiet(): boolean {
    try {
      return this.tryGet();
    } catch {
      return false;
    } finally {
      this.box.value = undefined;
      const bytes = this.box.bytes;
      this.box.bytes = null;
      if (bytes !== null) dropSerialized(bytes);
    }
  }

  waitSync<T>(p: Parkable<T>, timeout: number | null, signal: AbortSignal | null): T {
    return waitSync(p, timeout, signal);
  }

  waitAsync<T>(p: Parkable<T>, timeout: number | null, signal: AbortSignal | null): Promise<T> {
    return waitAsync(p, timeout, signal);
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
