import { currentTaskSignal } from '../internal/context.js';
import { broker } from '../internal/process/broker-client.js';
import { setWord } from '../internal/process/broker-event.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import { knownBeforeWake, sentToBroker, useSlab } from '../internal/process/data-route.js';
import {
  EVENT_FLAG,
  EVENT_GEN,
  readySlab,
  WAITERS,
  wordIndex,
} from '../internal/process/lock-slab.js';
import { shipQueued, shipQueuedNow } from '../internal/process/unshipped.js';
import type { WaitOptions } from '../internal/wait-options.js';
import { slotForNew } from './lock.js';
import {
  checkSignal,
  checkTimeout,
  registerKind,
  type SharedInit,
  SharedObject,
} from './shared-object.js';

/**
 * Python's `multiprocessing.Event` across processes.
 *
 * **How:** its flag lives in memory shared by the processes of the tree (the lock slab,
 * src/internal/process/lock-slab.ts), as Python's does, so `isSet`, `clear`, a `set` nobody
 * waits for and a `wait` on a set flag are an atomic instruction in the calling thread. A wait
 * on a clear flag is parked at the broker, which marks the flag's word while any waiter is
 * parked, so that the `set` that finds the mark tells it (broker-event.ts). Every waiter parked
 * when `set` happens returns true, even if `clear` follows at once. Without the shm addon (or
 * with WEFT_LOCK_SLAB=0) every call goes to the broker; `set` and `clear` are then not waited
 * for, and `isSet` sees this thread's earlier ones.
 */
export class Event extends SharedObject {
  /** Int32 index of the word in the slab, -1 when it has no slot. */
  readonly #word: number;

  constructor(init?: SharedInit) {
    super('event', { slot: init === undefined ? slotForNew() : -1 }, init);
    const k = this._params.slot;
    this.#word = typeof k === 'number' && k >= 0 ? wordIndex(k) : -1;
  }
  protected _kind(): string {
    return 'mp:Event';
  }

  /**
   * The slab when this event's word is there and this thread uses it now (data-route.ts: its
   * earlier calls that went to the broker are done there). `sync`: it may block for that.
   */
  #slab(sync: boolean): Int32Array | null {
    return this.#word >= 0 && useSlab(sync) ? readySlab() : null;
  }

  /** A call the broker makes for this thread (an async one: counted for the move to the slab). */
  #post(op: 'set' | 'clear'): void {
    if (this.#word >= 0) sentToBroker();
    broker().post(op, this._id, []);
  }

  set(): void {
    const a = this.#slab(false);
    if (a === null) {
      this.#post('set');
      return;
    }
    const i = this.#word;
    for (;;) {
      const w = Atomics.load(a, i);
      if ((w & EVENT_FLAG) !== 0) return;
      // Waiters to tell: the broker must know this thread before the compare-and-swap.
      if ((w & WAITERS) !== 0 && knownBeforeWake()) continue;
      const now = setWord(w);
      if (Atomics.compareExchange(a, i, w, now) !== w) continue;
      // Waiters parked: the broker wakes those parked before this set, whatever comes next.
      if ((w & WAITERS) !== 0) this.#tell(now & EVENT_GEN);
      return;
    }
  }

  /**
   * Tells the broker of a set made in the slab over WAITERS: FLAG is set for every reader
   * already, and the waiters must not wait for this thread to yield. 'set' is an AT_ONCE post,
   * which the client writes within the call, or ships through the sync client while its
   * connection is not made yet (broker-client.ts, `post`).
   */
  #tell(gen: number): void {
    broker().post('set', this._id, [gen]);
  }

  clear(): void {
    const a = this.#slab(false);
    if (a === null) this.#post('clear');
    else Atomics.and(a, this.#word, ~EVENT_FLAG);
  }

  /**
   * Whether the flag is set — a snapshot: another process may change it the next instant. A
   * loop polling it still sends what this thread queued for the broker, about a millisecond in
   * (unshipped.ts), as Python's feeder thread sends it meanwhile.
   */
  isSet(): boolean {
    const a = this.#slab(true);
    if (a !== null) {
      shipQueued();
      return (Atomics.load(a, this.#word) & EVENT_FLAG) !== 0;
    }
    return brokerSync().request('isSet', this._id, []) as boolean;
  }

  /**
   * Resolves true once set, false if `timeout` ms pass first.
   *
   * **Cancellation:** an aborted `signal` (by default, inside a `weft/asyncio` task, the task's)
   * rejects the wait with its reason and withdraws it from the broker.
   */
  async wait(options: WaitOptions = {}): Promise<boolean> {
    const timeout = checkTimeout('Event.wait', options.timeout);
    const signal = checkSignal('Event.wait', options.signal) ?? currentTaskSignal();
    if (signal?.aborted) throw signal.reason;
    const a = this.#slab(false);
    if (a !== null && (Atomics.load(a, this.#word) & EVENT_FLAG) !== 0) return true;
    if (a === null && this.#word >= 0) sentToBroker();
    return (await broker().request('wait', this._id, [timeout], signal)) as boolean;
  }

  /**
   * Blocking twin of `wait`: parks this thread until the flag is set (true) or `timeout` ms
   * pass (false).
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server.
   */
  waitSync(options: { timeout?: number | null } = {}): boolean {
    const timeout = checkTimeout('Event.waitSync', options.timeout);
    const a = this.#slab(true);
    if (a !== null && (Atomics.load(a, this.#word) & EVENT_FLAG) !== 0) {
      // It stood for a blocking round trip, which carried what this thread queued.
      shipQueuedNow();
      return true;
    }
    return brokerSync().request('wait', this._id, [timeout]) as boolean;
  }

  /** @internal */
  static _revive(init: SharedInit): Event {
    return new Event(init);
  }
}

registerKind('mp:Event', (s) => Event._revive(s), import.meta.url);
