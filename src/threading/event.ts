/**
 * | idx | name    | writer         | readers | meaning                                          |
 * |  0  | FLAG    | set/clear (cas)| any     | transitions so far; odd = set (the futex word)   |
 * |  1  | WAITERS | waiters (add)  | set     | threads/tasks parked or about to                 |
 *
 * FLAG counts every raise and every lowering (wrapping at 2^32, which keeps the parity), so it
 * only grows: a waiter remembers the value it started with and returns true once the word is
 * odd *or has moved*. That is Python's semantics for a pulse: a `set()` followed at once by
 * `clear()` still wakes every thread that was waiting (CPython's waiters are notified by the
 * set and return true), where a plain 0/1 flag would put them back to sleep. It also keeps the
 * wait engine's rule (park only on a value that cannot come back) without a `blocks` test.
 */
import { cas, load, notify } from '../internal/atomics.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import { AGAIN, type Parkable, waitAsync, waitSync } from '../internal/shm/wait.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { inspectCustom } from './repr.js';

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

  /** Python's repr: `<weft.threading.Event: set>` — a snapshot. */
  toString(): string {
    return `<weft.threading.Event: ${this.isSet() ? 'set' : 'unset'}>`;
  }

  /** util.inspect shows the repr, not the shared words. */
  [inspectCustom](): string {
    return this.toString();
  }

  /** Whether the flag is raised — a snapshot. */
  isSet(): boolean {
    return (load(this._a, FLAG) & 1) === 1;
  }

  /** Raises the flag and wakes every waiter. */
  set(): void {
    const a = this._a;
    for (let w = load(a, FLAG); (w & 1) === 0; w = load(a, FLAG)) {
      if (cas(a, FLAG, w, (w + 1) | 0) === w) {
        // After the raise: a waiter counts itself before re-reading FLAG.
        if (load(a, WAITERS) > 0) notify(a, FLAG);
        return;
      }
    }
  }

  clear(): void {
    const a = this._a;
    for (let w = load(a, FLAG); (w & 1) === 1; w = load(a, FLAG)) {
      if (cas(a, FLAG, w, (w + 1) | 0) === w) return;
    }
  }

  private parkable(start: number): Parkable<boolean> {
    const a = this._a;
    return {
      a,
      i: FLAG,
      w: WAITERS,
      // Set now, or set (and maybe cleared again) since the wait began.
      attempt: () => {
        const w = load(a, FLAG);
        return (w & 1) === 1 || w !== start ? true : AGAIN;
      },
      timedOut: () => false,
    };
  }

  /**
   * Resolves true once the flag is raised, false if `timeout` (ms) passes first.
   * **Cancellation:** an aborted `signal` rejects with its reason and leaves no waiter.
   */
  wait(options?: WaitOptions): Promise<boolean> {
    const start = load(this._a, FLAG);
    if (options === undefined && (start & 1) === 1) return TRUE;
    try {
      const { timeout, signal } = parseWait('Event.wait', options);
      return waitAsync(this.parkable(start), timeout, signal);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Blocking twin of `wait`. **Blocking:** parks the thread; not on a server's main thread. */
  waitSync(options?: WaitOptions): boolean {
    const start = load(this._a, FLAG);
    const { timeout, signal } = parseWait('Event.waitSync', options);
    return waitSync(this.parkable(start), timeout, signal);
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
