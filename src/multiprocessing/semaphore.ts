import { currentTaskSignal } from '../internal/context.js';
import { checkReleaseCount, describeValue, notAFunction } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { OVER_BOUND, OVER_COUNT } from '../internal/process/broker-sem.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import { knownBeforeWake } from '../internal/process/data-route.js';
import {
  mappedSlab,
  readySlab,
  SEM_COUNT,
  SPIN,
  WAITERS,
  wordIndex,
} from '../internal/process/lock-slab.js';
import { shipQueued } from '../internal/process/unshipped.js';
import { holding, holdingSync } from './hold.js';
import { type AcquireOptions, slotForNew } from './lock.js';
import {
  checkSignal,
  checkTimeout,
  registerKind,
  type SharedInit,
  SharedObject,
} from './shared-object.js';

/**
 * Semaphore releases this thread sent to the broker: `sent` of them, the first `seen` known to
 * be done there (a reply to a semaphore request this thread sent after them came back: the
 * broker runs a thread's messages in order, a blocking request after those sent before it,
 * broker-sync.ts). Until they are, the slab's count may not show them yet, so the answers that
 * read it (`getValue`, a non-blocking acquire's false) ask the broker instead, whose reply comes
 * after them. Two numbers for the thread, not a record per semaphore that would stay for ever:
 * a read of another semaphore while one is on its way costs a round trip too, and catches up.
 */
let sent = 0;
let seen = 0;
/**
 * Permits this thread posted for semaphores kept in the slab before it saw the broker have the
 * slab, and not yet known to be done there (a bound on what those posts may still add, not a
 * count of what they did): `caughtUp` drops them once `seen` passes `earlyUpTo`, the number of
 * the last of them. Until then they may not show in the count yet; after, any that reached the
 * slab are in it, and a broker without the slab has no room to run out of. Kept for ever
 * instead, a thread that keeps posting (one whose broker never has the slab) would one day find
 * no room left and wait for the broker at every release after.
 */
let postedEarly = 0;
let earlyUpTo = 0;

/** A reply came to a request sent after `before` releases: those are done at the broker. */
function caughtUp(before: number): void {
  if (seen < before) seen = before;
  if (seen >= earlyUpTo) postedEarly = 0;
}

const TRUE = Promise.resolve(true);

/**
 * A new semaphore's slot in the lock slab with `value` written in it (before its handle exists
 * anywhere else), or -1: the broker alone serves it.
 */
function slotWith(value: number): number {
  const slot = slotForNew();
  if (slot < 0) return -1;
  Atomics.store(mappedSlab() as Int32Array, wordIndex(slot), value);
  return slot;
}

/**
 * Python's `multiprocessing.Semaphore` across processes. Permits taken by a process that dies
 * are not given back (a semaphore has no owner; Python's are not either).
 *
 * **How:** its count lives in memory shared by the processes of the tree (the lock slab,
 * src/internal/process/lock-slab.ts), so taking a permit while there is one and giving permits
 * back while nobody waits are an atomic instruction in the calling thread, as with Python's
 * POSIX semaphore. An acquire that finds none watches the count for a moment, then waits at the
 * broker, which serves the waiters in FIFO order: while any waits, acquires go through it, and
 * a release adds its permits in the slab and tells it (a BoundedSemaphore's asks it to). Without
 * the shm addon (or with WEFT_LOCK_SLAB=0) every call is a broker round trip.
 */
export class Semaphore extends SharedObject {
  /** Int32 index of the count in the slab, -1 when it has no slot. */
  readonly #word: number;
  /** A BoundedSemaphore's bound (its initial value), else null. */
  readonly #bound: number | null;
  /**
   * Permits taken through this handle and not given back through it: while it has some, this
   * thread's own code may be what a spin for a permit would wait on (`#take`).
   */
  #mine = 0;

  constructor(value = 1, init?: SharedInit) {
    if (
      init === undefined &&
      (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    ) {
      throw new RangeError(
        `Semaphore value must be an integer >= 0: received ${describeValue(value)}`,
      );
    }
    const bounded = (new.target as unknown as { _bounded?: boolean })._bounded === true;
    // A count past the slab word's room stays in the broker, as large as it grows.
    const slot = init === undefined && value <= SEM_COUNT ? slotWith(value) : -1;
    super('sem', { value, bound: bounded ? value : null, slot }, init);
    const k = this._params.slot;
    this.#word = typeof k === 'number' && k >= 0 ? wordIndex(k) : -1;
    const bound = this._params.bound;
    this.#bound = typeof bound === 'number' ? bound : null;
  }

  protected _kind(): string {
    return 'mp:Semaphore';
  }

  /** The slab when this semaphore's count is there and the broker serves it from there too. */
  #slab(): Int32Array | null {
    return this.#word >= 0 ? readySlab() : null;
  }

  /**
   * Takes a permit in the slab: there is one and nobody waits at the broker for one. With none
   * left and nobody parked, an acquire that may wait (`spin`) watches the count for up to SPIN
   * reads first, as a lock does (lock.ts, `spinFor`): a permit held for a short while by
   * another thread or process is back sooner than a broker round trip. Not while this handle
   * holds permits of its own (another task of this thread may be the one to give them back, and
   * it cannot run while this thread spins), and never past WAITERS (the parked are served
   * first, in FIFO order).
   */
  #take(a: Int32Array, spin: boolean): boolean {
    const i = this.#word;
    for (;;) {
      const w = Atomics.load(a, i);
      if (w === 0) return spin && this.#mine === 0 && this.#spin(a);
      if ((w & WAITERS) !== 0) return false;
      if (Atomics.compareExchange(a, i, w, w - 1) === w) {
        this.#mine++;
        return true;
      }
    }
  }

  /** `#take`'s watch of an empty count: up to SPIN reads, stopping at WAITERS. */
  #spin(a: Int32Array): boolean {
    const i = this.#word;
    for (let k = 0; k < SPIN; k++) {
      const w = Atomics.load(a, i);
      if ((w & WAITERS) !== 0) return false;
      if (w !== 0 && Atomics.compareExchange(a, i, w, w - 1) === w) {
        this.#mine++;
        return true;
      }
    }
    return false;
  }

  /**
   * What the slab answers without the broker: true (a permit taken), false (none, and an acquire
   * that does not wait may say so here), or null (the broker must be asked).
   */
  #here(block: boolean, timeout: number | null): boolean | null {
    const a = this.#slab();
    if (a === null) return null;
    const wait = block && timeout !== 0;
    if (this.#take(a, wait)) return true;
    if (wait || !this.#noneHere(a)) return null;
    // A try that fails here may be polled in a loop: what this thread queued must not wait.
    shipQueued();
    return false;
  }

  /**
   * Whether "no permit" can be answered here: none in the slab, nobody waiting for one, and
   * every release this thread sent to the broker done there.
   */
  #noneHere(a: Int32Array): boolean {
    return Atomics.load(a, this.#word) === 0 && seen === sent;
  }

  /** A broker request: once answered, the releases sent before it are done there. */
  async #ask(op: string, args: unknown[], signal?: AbortSignal | null): Promise<unknown> {
    const before = sent;
    // Granted after the caller gave up: the broker gives the permit back itself, as the
    // withdrawal reaches it (a permit in flight to a process killed meanwhile is not lost).
    const v = await broker().requestTakenBack(op, this._id, args, signal);
    caughtUp(before);
    return v;
  }

  /** As `#ask`, blocking this thread. */
  #askSync(op: string, args: unknown[]): unknown {
    const before = sent;
    const v = brokerSync().request(op, this._id, args);
    caughtUp(before);
    return v;
  }

  /** Resolves true once a permit is taken, false when `blocking: false` or `timeout` ran out. */
  acquire(options?: AcquireOptions): Promise<boolean> {
    let tried = false;
    if (options === undefined && this.#word >= 0) {
      // The uncontended path: no options to read, one compare-and-swap.
      const a = readySlab();
      if (a !== null && !currentTaskSignal()?.aborted) {
        if (this.#take(a, true)) return TRUE;
        tried = true;
      }
    }
    return this.#acquire(options ?? {}, tried);
  }

  /** `tried`: a waiting acquire tried the slab already (no options): straight to the broker. */
  async #acquire(options: AcquireOptions, tried = false): Promise<boolean> {
    const block = options.blocking ?? true;
    const timeout = checkTimeout('Semaphore.acquire', options.timeout);
    const signal = checkSignal('Semaphore.acquire', options.signal) ?? currentTaskSignal();
    if (signal?.aborted) throw signal.reason;
    const here = tried ? null : this.#here(block, timeout);
    if (here !== null) return here;
    const got = (await this.#ask('semAcquire', [block, timeout], signal)) as boolean;
    if (got) this.#mine++;
    return got;
  }

  /**
   * Blocking twin of `acquire`: parks this thread until a permit is taken (true), or returns
   * false with `blocking: false` or when `timeout` ms pass.
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server. A `signal` counts only if already aborted.
   */
  acquireSync(options?: AcquireOptions): boolean {
    let tried = false;
    if (options === undefined && this.#word >= 0) {
      const a = readySlab();
      if (a !== null) {
        if (this.#take(a, true)) return true;
        tried = true;
      }
    }
    const o = options ?? {};
    const block = o.blocking ?? true;
    const timeout = checkTimeout(`${this.constructor.name}.acquireSync`, o.timeout);
    const signal = checkSignal(`${this.constructor.name}.acquireSync`, o.signal);
    if (signal?.aborted) throw signal.reason;
    const here = tried ? null : this.#here(block, timeout);
    if (here !== null) return here;
    const got = this.#askSync('semAcquire', [block, timeout]) as boolean;
    if (got) this.#mine++;
    return got;
  }

  /**
   * Returns `n` permits. @throws RangeError when that would take a BoundedSemaphore past its
   * initial value, or the count of one kept in the slab past 2**30 − 1 (Python's
   * OverflowError; a semaphore created with a larger value is kept by the broker, unbounded).
   */
  release(n = 1): void {
    checkReleaseCount(n);
    const a = this.#slab();
    if (a === null) {
      this.#gaveBack(n);
      this._releaseAtBroker(n);
      return;
    }
    const i = this.#word;
    for (;;) {
      const w = Atomics.load(a, i);
      const c = w & SEM_COUNT;
      // Checked against the count the compare-and-swap below proves unchanged.
      if (this.#bound !== null && c + n > this.#bound) throw new RangeError(OVER_BOUND);
      if (c + n > SEM_COUNT) throw new RangeError(OVER_COUNT);
      // A BoundedSemaphore's release with waiters parked goes to the broker, which hands the
      // permits over at once: added here, they would count against the bound until it has, and
      // a second release meant for a second waiter would be refused meanwhile.
      if ((w & WAITERS) !== 0) {
        if (this.#bound !== null) break;
        // Waiters to tell: the broker must know this thread before the compare-and-swap.
        if (knownBeforeWake()) continue;
      }
      if (Atomics.compareExchange(a, i, w, w + n) !== w) continue;
      if (this.#mine !== 0) this.#gaveBack(n);
      // Waiters parked: the permits are theirs (no acquire takes one in the slab while WAITERS
      // is set); the broker, told, hands them over in FIFO order (a release of 0: broker-sem.ts).
      if ((w & WAITERS) !== 0) this.#post(0);
      return;
    }
    this.#gaveBack(n);
    this._releaseAtBroker(n);
  }

  /** `n` permits given back through this handle (a semaphore has no owner: those it took first). */
  #gaveBack(n: number): void {
    this.#mine = this.#mine > n ? this.#mine - n : 0;
  }

  /**
   * @internal A release the broker does, for a thread that cannot reach the count in the slab:
   * one kept there stops at its word's room, and the broker's refusal of a release past it
   * must reach the caller (a post has no answer), so it waits for the answer then; a count the
   * broker keeps has no such limit.
   */
  protected _releaseAtBroker(n: number): void {
    if (this.#word >= 0 && !this.#roomBeforeReady(n)) this._releaseAtBrokerSync(n);
    else this.#post(n);
  }

  /**
   * Whether a release made before the broker has the slab may go as a post (no answer): the
   * count in the slab, plus the permits this thread posted that way that may not be in it yet
   * (`postedEarly`), leaves room for `n` more, so the broker cannot refuse it. Waiting for the
   * broker's answer instead would block this thread until the broker is up — seconds for the
   * first release of a program whose broker is still starting (a review saw 2.7 s under tsx).
   */
  #roomBeforeReady(n: number): boolean {
    const m = mappedSlab();
    if (m === null) return false;
    const c = Atomics.load(m, this.#word) & SEM_COUNT;
    if (c + postedEarly + n > SEM_COUNT) return false;
    postedEarly += n;
    // The post the caller makes next.
    earlyUpTo = sent + 1;
    return true;
  }

  #post(n: number): void {
    sent++;
    broker().post('semRelease', this._id, [n]);
  }

  /**
   * @internal As `_releaseAtBroker`, waiting for the broker's answer: its refusal is thrown, a
   * RangeError (Python's ValueError for a BoundedSemaphore, OverflowError past the room).
   */
  protected _releaseAtBrokerSync(n: number): void {
    try {
      this.#askSync('semRelease', [n]);
    } catch (e) {
      if ((e as Error)?.name === 'ValueError') throw new RangeError((e as Error).message);
      throw e;
    }
  }

  /**
   * The current value — a snapshot (Python's `get_value()`). A loop polling it (or a try-acquire
   * that fails) still sends what this thread queued for the broker, about a millisecond in.
   */
  getValue(): number {
    const a = this.#slab();
    if (a !== null && seen === sent) {
      shipQueued();
      return Atomics.load(a, this.#word) & SEM_COUNT;
    }
    return this.#askSync('semValue', []) as number;
  }

  async run<R>(fn: () => R | Promise<R>): Promise<R> {
    if (typeof fn !== 'function') throw notAFunction(fn, `${this.constructor.name}.run`);
    return holding(this, fn);
  }

  /** `run` for synchronous code on a thread that may block (`acquireSync` around `fn`). */
  runSync<R>(fn: () => R): R {
    if (typeof fn !== 'function') throw notAFunction(fn, `${this.constructor.name}.runSync`);
    return holdingSync(this, fn);
  }

  /** @internal */
  static _revive(init: SharedInit): Semaphore {
    return new Semaphore(0, init);
  }
}

registerKind('mp:Semaphore', (s) => Semaphore._revive(s), import.meta.url);
