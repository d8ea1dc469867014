/**
 * The broker's side of a multiprocessing `Lock`/`RLock`: its word, holder task and count, in the
 * lock slab when the lock has a slot there (lock-slab.ts has the layout and who writes what),
 * else in four integers of the broker's own — the same code either way, so a lock without a
 * slot (no addon, the slab full) behaves as one with a slot whose every acquire comes here.
 *
 * The broker changes a word only by compare-and-swap from the value it read, because a thread
 * may take a free lock (0 → its number) or release one without waiters (its number → 0) at any
 * moment from its own process. A release that comes here hands the lock over through HANDOFF:
 * no thread can take a word that is not 0, so the waiters are tried in FIFO order before anyone
 * else, and `settle` frees it if none of them can take it.
 */
import {
  numberEnded,
  numberOf,
  type Session,
  sessionNumbered,
  type Waiter,
} from './broker-conn.js';
import { reentered, type WalkLock } from './broker-deadlock.js';
import { brokerWordIndex, HANDOFF, HOLDER, WAITERS } from './lock-slab.js';

export class BrokerLock implements WalkLock {
  readonly k = 'lock';
  readonly waiters: Waiter[] = [];
  readonly #a: Int32Array;
  readonly #i: number;

  /** `slab`: the broker's mapping of the slab (null: none; the word is kept here). */
  constructor(
    readonly id: string,
    readonly recursive: boolean,
    slab: Int32Array | null,
    slot: unknown,
  ) {
    const i = brokerWordIndex(slab, slot);
    if (slab !== null && i >= 0) {
      this.#a = slab;
      this.#i = i;
    } else {
      this.#a = new Int32Array(4);
      this.#i = 0;
    }
  }

  #holder(): number {
    return Atomics.load(this.#a, this.#i) & HOLDER;
  }

  /** Whether some session holds it (a handover in progress counts). */
  locked(): boolean {
    return this.#holder() !== 0;
  }

  /** The session holding it, null when free (or handed over right now). */
  get session(): Session | null {
    const h = this.#holder();
    return h === 0 || h === HANDOFF ? null : (sessionNumbered(h) ?? null);
  }

  /**
   * Whether its holder is a session that has ended: one that took it in the slab and died before
   * the broker heard of the lock (its 'create' came later from another process), so that the
   * end of that session did not free it.
   */
  holderEnded(): boolean {
    const h = this.#holder();
    return h !== 0 && h !== HANDOFF && numberEnded(h);
  }

  heldBy(s: Session): boolean {
    return s.number !== 0 && this.#holder() === s.number;
  }

  /** The holder's asyncio task, as its client numbers them (0: none, or not written yet). */
  get holderTask(): number {
    return Atomics.load(this.#a, this.#i + 1);
  }

  /** Its holder's depth (an RLock's re-entries; 1 for a held Lock). */
  get count(): number {
    return Atomics.load(this.#a, this.#i + 2);
  }

  set count(n: number) {
    Atomics.store(this.#a, this.#i + 2, n);
  }

  /** Takes it for `s` (its task `task`) if it is free, or re-enters it for the RLock's holder. */
  take(s: Session, task: number): boolean {
    const me = numberOf(s);
    for (;;) {
      const w = Atomics.load(this.#a, this.#i);
      const h = w & HOLDER;
      if (h === 0 || h === HANDOFF) {
        if (Atomics.compareExchange(this.#a, this.#i, w, me | (w & WAITERS)) !== w) continue;
        Atomics.store(this.#a, this.#i + 1, task);
        Atomics.store(this.#a, this.#i + 2, 1);
        return true;
      }
      if (this.recursive && h === me) {
        // Re-entered by another task: which one holds it is no longer known (broker-deadlock.ts).
        Atomics.store(this.#a, this.#i + 1, reentered(Atomics.load(this.#a, this.#i + 1), task));
        Atomics.add(this.#a, this.#i + 2, 1);
        return true;
      }
      return false;
    }
  }

  /**
   * Gives up one hold of `s` (null: every hold of the session that held it, which ended;
   * `holders`: the task word after it, as its client sent it) and,
   * when it was the last, leaves the word at HANDOFF for the waiters: the caller pumps them and
   * then calls `settle`. Returns an error message, or null.
   */
  release(s: Session | null, holders?: unknown): string | null {
    const h = this.#holder();
    if (h === 0 || h === HANDOFF) return 'Cannot release an un-acquired lock';
    if (s !== null && this.recursive) {
      if (h !== s.number) return 'Cannot release an RLock owned by another thread or process';
      // Atomic: the holder's thread may be re-entering it in the slab meanwhile (its releases
      // on their way here were not its last holds when it sent them).
      if (Atomics.sub(this.#a, this.#i + 2, 1) > 1) {
        // Not its last hold: the task word its client sent, the tasks holding the rest (it
        // counts those whose acquires are on their way here too).
        if (Number.isInteger(holders) && (holders as number) === ((holders as number) | 0)) {
          Atomics.store(this.#a, this.#i + 1, holders as number);
        }
        return null;
      }
    }
    Atomics.store(this.#a, this.#i + 1, 0);
    Atomics.store(this.#a, this.#i + 2, 0);
    for (;;) {
      const w = Atomics.load(this.#a, this.#i);
      const now = w & HOLDER;
      if (now === 0 || now === HANDOFF) return 'Cannot release an un-acquired lock';
      if (Atomics.compareExchange(this.#a, this.#i, w, HANDOFF | (w & WAITERS)) === w) return null;
    }
  }

  /**
   * Makes the word tell the truth about the waiters after the broker changed them: WAITERS set
   * while any is parked, so that the holder's release comes here, and cleared otherwise; a
   * handover nobody took frees the lock. Returns true when the lock is free while waiters are
   * parked (its holder released it before WAITERS was set): the caller pumps them and calls
   * again.
   */
  settle(): boolean {
    for (;;) {
      const w = Atomics.load(this.#a, this.#i);
      const h = w & HOLDER;
      if (h === HANDOFF) {
        if (Atomics.compareExchange(this.#a, this.#i, w, 0) === w) return this.waiters.length > 0;
        continue;
      }
      if (h === 0) return this.waiters.length > 0;
      const want = this.waiters.length > 0 ? w | WAITERS : w & ~WAITERS;
      if (want === w || Atomics.compareExchange(this.#a, this.#i, w, want) === w) return false;
    }
  }
}
