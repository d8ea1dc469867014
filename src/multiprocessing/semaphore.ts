import { currentTaskSignal } from '../internal/context.js';
import { checkReleaseCount, describeValue } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { OVER_BOUND, OVER_COUNT } from '../internal/process/broker-sem.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import {
  mappedSlab,
  readySlab,
  SEM_COUNT,
  WAITERS,
  wordIndex,
} from '../internal/process/lock-slab.js';
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
 * Releases this thread sent to the broker, by semaphore id (not by handle: several handles share
 * an id): `sent` of them, the first `seen` known to be done there (a reply to a request sent
 * after them came back). Until they are, the slab's count may not show them yet, so the answers
 * that read it (`getValue`, a non-blocking acquire's false) ask the broker instead, whose reply
 * comes after them.
 */
interface Sent {
  sent: number;
  seen: number;
}
const sentById = new Map<string, Sent>();
function sentOf(id: string): Sent {
  let s = sentById.get(id);
  if (s === undefined) {
    s = { sent: 0, seen: 0 };
    sentById.set(id, s);
  }
  return s;
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
 * POSIX semaphore. An acquire that finds none waits at the broker, which serves the waiters in
 * FIFO order: while any waits, acquires and releases go through it. Without the shm addon (or
 * with WEFT_LOCK_SLAB=0) every call is a broker round trip.
 */
export class Semaphore extends SharedObject {
  /** Int32 index of the count in the slab, -1 when it has no slot. */
  readonly #word: number;
  /** A BoundedSemaphore's bound (its initial value), else null. */
  readonly #bound: number | null;
  readonly #sent: Sent;

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
    this.#sent = sentOf(this._id);
  }

  protected _kind(): string {
    return 'mp:Semaphore';
  }

  /** The slab when this semaphore's count is there and the broker serves it from there too. */
  #slab(): Int32Array | null {
    return this.#word >= 0 ? readySlab() : null;
  }

  /** Takes a permit in the slab: there is one and nobody waits at the broker for one. */
  #take(a: Int32Array): boolean {
    const i = this.#word;
    for (;;) {
      const w = Atomics.load(a, i);
      if (w === 0 || (w & WAITERS) !== 0) return false;
      if (Atomics.compareExchange(a, i, w, w - 1) === w) return true;
    }
  }

  /**
   * What the slab answers without the broker: true (a permit taken), false (none, and an acquire
   * that does not wait may say so here), or null (the broker must be asked).
   */
  #here(block: boolean, timeout: number | null): boolean | null {
    const a = this.#slab();
    if (a === null) return null;
    if (this.#take(a)) return true;
    return (!block || timeout === 0) && this.#noneHere(a) ? false : null;
  }

  /**
   * Whether "no permit" can be answered here: none in the slab, nobody waiting for one, and
   * every release this thread sent to the broker done there.
   */
  #noneHere(a: Int32Array): boolean {
    return Atomics.load(a, this.#word) === 0 && this.#sent.seen === this.#sent.sent;
  }

  /** A broker request: once answered, the releases sent before it are done there. */
  async #ask(op: string, args: unknown[], signal?: AbortSignal | null): Promise<unknown> {
    const sent = this.#sent;
    const before = sent.sent;
    const v = await broker().request(op, this._id, args, signal, (late) => {
      // Granted after the caller gave up: the permit goes back.
      if (late === true) this.#post(1);
    });
    if (sent.seen < before) sent.seen = before;
    return v;
  }

  /** As `#ask`, blocking this thread. */
  #askSync(op: string, args: unknown[]): unknown {
    const sent = this.#sent;
    const before = sent.sent;
    const v = brokerSync().request(op, this._id, args);
    if (sent.seen < before) sent.seen = before;
    return v;
  }

  /** Resolves true once a permit is taken, false when `blocking: false` or `timeout` ran out. */
  acquire(options?: AcquireOptions): Promise<boolean> {
    if (options === undefined && this.#word >= 0) {
      // The uncontended path: no options to read, one compare-and-swap.
      const a = readySlab();
      if (a !== null && !currentTaskSignal()?.aborted && this.#take(a)) return TRUE;
    }
    return this.#acquire(options ?? {});
  }

  async #acquire(options: AcquireOptions): Promise<boolean> {
    const block = options.blocking ?? true;
    const timeout = checkTimeout('Semaphore.acquire', options.timeout);
    const signal = checkSignal('Semaphore.acquire', options.signal) ?? currentTaskSignal();
    if (signal?.aborted) throw signal.reason;
    return (
      this.#here(block, timeout) ??
      ((await this.#ask('semAcquire', [block, timeout], signal)) as boolean)
    );
  }

  /**
   * Blocking twin of `acquire`: parks this thread until a permit is taken (true), or returns
   * false with `blocking: false` or when `timeout` ms pass.
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server. A `signal` counts only if already aborted.
   */
  acquireSync(options?: AcquireOptions): boolean {
    if (options === undefined && this.#word >= 0) {
      const a = readySlab();
      if (a !== null && this.#take(a)) return true;
    }
    const o = options ?? {};
    const block = o.blocking ?? true;
    const timeout = checkTimeout(`${this.constructor.name}.acquireSync`, o.timeout);
    const signal = checkSignal(`${this.constructor.name}.acquireSync`, o.signal);
    if (signal?.aborted) throw signal.reason;
    return this.#here(block, timeout) ?? (this.#askSync('semAcquire', [block, timeout]) as boolean);
  }

  /**
   * Returns `n` permits. @throws RangeError when that would take a BoundedSemaphore past its
   * initial value, or the count of one kept in the slab past 2**30 − 1.
   */
  release(n = 1): void {
    checkReleaseCount(n);
    const a = this.#slab();
    if (a !== null) {
      const i = this.#word;
      for (;;) {
        const w = Atomics.load(a, i);
        const c = w & SEM_COUNT;
        if (this.#bound !== null && c + n > this.#bound) throw new RangeError(OVER_BOUND);
        // The broker would refuse it too, and a release it is sent (a post) has no answer.
        if (c + n > SEM_COUNT) throw new RangeError(OVER_COUNT);
        // Waiters parked: the broker hands the permits to them, in FIFO order.
        if ((w & WAITERS) !== 0) break;
        if (Atomics.compareExchange(a, i, w, w + n) === w) return;
      }
    }
    this._releaseAtBroker(n);
  }

  /** @internal A release the broker does (a BoundedSemaphore's waits for its answer). */
  protected _releaseAtBroker(n: number): void {
    this.#post(n);
  }

  #post(n: number): void {
    this.#sent.sent++;
    broker().post('semRelease', this._id, [n]);
  }

  /** @internal As `_releaseAtBroker`, waiting for the broker's answer: its error is thrown. */
  protected _releaseAtBrokerSync(n: number): void {
    this.#askSync('semRelease', [n]);
  }

  /** The current value — a snapshot (Python's `get_value()`). */
  getValue(): number {
    const a = this.#slab();
    if (a !== null && this.#sent.seen === this.#sent.sent) {
      return Atomics.load(a, this.#word) & SEM_COUNT;
    }
    return this.#askSync('semValue', []) as number;
  }

  async run<R>(fn: () => R | Promise<R>): Promise<R> {
    return holding(this, fn);
  }

  /** `run` for synchronous code on a thread that may block (`acquireSync` around `fn`). */
  runSync<R>(fn: () => R): R {
    return holdingSync(this, fn);
  }

  /** @internal */
  static _revive(init: SharedInit): Semaphore {
    return new Semaphore(0, init);
  }
}

registerKind('mp:Semaphore', (s) => Semaphore._revive(s), import.meta.url);
