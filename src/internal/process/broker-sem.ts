/**
 * The broker's side of a multiprocessing `Semaphore`/`BoundedSemaphore`: its count and WAITERS
 * bit, in the lock slab when the semaphore has a slot there (lock-slab.ts has the slot's layout
 * and who writes what), else in a number of the broker's own (no client reads it, so it needs
 * no WAITERS and has no 30-bit limit) — the same methods either way, so a semaphore without a
 * slot (no addon, WEFT_LOCK_SLAB=0, the slab full, a count past the slot's room) behaves as one
 * with a slot whose every acquire and release comes here.
 *
 * Clients take a permit (count → count − 1) in the slab while WAITERS is clear and give permits
 * back (count → count + n) there at any time, from their own processes, so the broker changes
 * the word only by compare-and-swap from the value it read. With WAITERS set an acquire comes
 * here instead, and a client that gave permits back tells the broker with a release of 0: the
 * parked waiters are then served in FIFO order (an acquire arriving first serves them before
 * itself: broker.ts) and no permit is taken past them. A user's release refused here (past the
 * bound or the word's room) comes from a client that waits for the answer, so none is dropped
 * unseen: the clients check both in the slab, and send a release of a count kept there only
 * when they cannot reach it (or a BoundedSemaphore's, with waiters), waiting for the answer
 * (semaphore.ts). A permit granted to an acquire that gave up before the grant reached it is
 * given back here, as its withdrawal arrives (broker.ts, 'cancel'), without an answer: only
 * releases beyond the acquires can make it one too many.
 */
import type { Waiter } from './broker-conn.js';
import { brokerWordIndex, SEM_COUNT, WAITERS } from './lock-slab.js';

/** Why a release is refused, as Python's ValueError says it. */
export const OVER_BOUND = 'Semaphore released too many times';
/**
 * Why a release that would take a count kept in the slab past its word's room is refused
 * (Python's OverflowError past SEM_VALUE_MAX).
 */
export const OVER_COUNT = `Semaphore value would exceed ${SEM_COUNT}, the most a semaphore kept in shared memory counts: release fewer permits, or create it with a value above ${SEM_COUNT} (the broker keeps such a count, without this limit)`;

export class BrokerSem {
  readonly k = 'sem';
  readonly waiters: Waiter[] = [];
  /** The slab and the word's index there; null without a slot. */
  readonly #a: Int32Array | null = null;
  readonly #i: number = 0;
  /** The count without a slot: a plain number, as large as the client asks. */
  #own = 0;

  /**
   * `slab`: the broker's mapping of the slab (null: none). With a slot, the creator wrote the
   * first count there before the semaphore reached anyone, and clients may have changed it
   * since: `value` is only for a semaphore without one.
   */
  constructor(
    readonly bound: number | null,
    value: number,
    slab: Int32Array | null,
    slot: unknown,
  ) {
    const i = brokerWordIndex(slab, slot);
    if (slab !== null && i >= 0) {
      this.#a = slab;
      this.#i = i;
    } else this.#own = value;
  }

  /** The count of permits (Python's `get_value()`). */
  get value(): number {
    return this.#a === null ? this.#own : Atomics.load(this.#a, this.#i) & SEM_COUNT;
  }

  /** Takes a permit if there is one (for a waiter, in its FIFO turn). */
  take(): boolean {
    const a = this.#a;
    if (a === null) {
      if (this.#own === 0) return false;
      this.#own--;
      return true;
    }
    for (;;) {
      const w = Atomics.load(a, this.#i);
      if ((w & SEM_COUNT) === 0) return false;
      if (Atomics.compareExchange(a, this.#i, w, w - 1) === w) return true;
    }
  }

  /**
   * Adds `n` permits (0: a client added them in the slab); the caller then serves the waiters
   * (`settle`). Returns why it cannot
   * (over a BoundedSemaphore's bound, or past the slab word's room), or null.
   */
  release(n: number): string | null {
    const a = this.#a;
    for (;;) {
      const w = a === null ? this.#own : Atomics.load(a, this.#i);
      const c = a === null ? w : w & SEM_COUNT;
      if (this.bound !== null && c + n > this.bound) return OVER_BOUND;
      if (a === null) {
        this.#own = c + n;
        return null;
      }
      if (c + n > SEM_COUNT) return OVER_COUNT;
      if (Atomics.compareExchange(a, this.#i, w, w + n) === w) return null;
    }
  }

  /**
   * Makes WAITERS tell the truth after the waiters changed (set while any is parked, so that
   * releases come here; cleared otherwise), and serves them with `pump` while permits are left:
   * a client may have released in the slab between a waiter's failed try and WAITERS being set.
   */
  settle(pump: (list: Waiter[]) => void): void {
    const a = this.#a;
    for (;;) {
      const parked = this.waiters.length > 0;
      if (a !== null) {
        const w = Atomics.load(a, this.#i);
        const want = parked ? w | WAITERS : w & ~WAITERS;
        if (want !== w && Atomics.compareExchange(a, this.#i, w, want) !== w) continue;
      }
      if (!parked || this.value === 0) return;
      const before = this.waiters.length;
      pump(this.waiters);
      // Nobody could take a permit (they are all gone or answered): nothing more to do.
      if (this.waiters.length === before) return;
    }
  }
}
