/**
 * | idx | name    | writer         | readers | meaning                              |
 * |  0  | FLAG    | set/clear      | any     | 1 set, 0 clear (the futex word)      |
 * |  1  | WAITERS | waiters (add)  | set     | threads/tasks parked or about to     |
 */
import { load, notify, store } from '../internal/atomics.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import { AGAIN, type Parkable, waitAsync, waitSync } from '../internal/shm/wait.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';

const FLAG = 0;
const WAITERS = 1;
const TRUE = Promise.resolve(true);

/**
 * Python's `threading.Event` across threads: a flag that `set()` raises and `clear()` lowers;
 * `wait()` waits until it is raised. Setting wakes every waiter.
 *
 * @example
 * const bus = new Event();
 * // passengers: await bus.wait();   driver: bus.set();
 */
export class Event {
  /** @internal */ readonly _a: Int32Array;

  constructor() {
    this._a = new Int32Array(new SharedArrayBuffer(8));
  }

  /** Whether the flag is raised — a snapshot. */
  isSet(): boolean {
    return load(this._a, FLAG) === 1;
  }

  /** Raises the flag and wakes every waiter. */
  set(): void {
    store(this._a, FLAG, 1);
    // After the store: a waiter counts itself before re-reading FLAG.
    if (load(this._a, WAITERS) > 0) notify(this._a, FLAG);
  }

  clear(): void {
    store(this._a, FLAG, 0);
  }

  private parkable(): Parkable<boolean> {
    return {
      a: this._a,
      i: FLAG,
      w: WAITERS,
      attempt: () => (load(this._a, FLAG) === 1 ? true : AGAIN),
      timedOut: () => false,
    };
  }

  /**
   * Resolves true once the flag is raised, false if `timeout` (ms) passes first.
   * **Cancellation:** an aborted `signal` rejects with its reason and leaves no waiter.
   */
  wait(options?: WaitOptions): Promise<boolean> {
    if (options === undefined && load(this._a, FLAG) === 1) return TRUE;
    try {
      const { timeout, signal } = parseWait('Event.wait', options);
      return waitAsync(this.parkable(), timeout, signal);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Blocking twin of `wait`. **Blocking:** parks the thread; not on a server's main thread. */
  waitSync(options?: WaitOptions): boolean {
    const { timeout, signal } = parseWait('Event.waitSync', options);
    return waitSync(this.parkable(), timeout, signal);
  }

  /** @internal */
  [kShared](): SharedState {
    return { kind: 'threading.Event', state: { sab: this._a.buffer } };
  }
}

registerSharedKind(
  'threading.Event',
  (s) => {
    const e = Object.create(Event.prototype) as Event;
    (e as { _a: Int32Array })._a = new Int32Array(s.sab as SharedArrayBuffer);
    return e;
  },
  import.meta.url,
);
