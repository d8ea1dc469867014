import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { Waiter, WaiterList } from '../internal/waiter.js';

const TRUE = Promise.resolve(true);

/**
 * An asyncio Event: a flag that tasks can wait to become true.
 *
 * `set()` wakes every waiter, in the order they started waiting; each resumes in turn on the
 * ready queue. `wait()` resolves true at once while the flag is set.
 *
 * **Cancellation:** a cancelled or aborted `wait` leaves no waiter. With `timeout` (ms) `wait`
 * resolves false when it expires (threading's semantics; asyncio has no timeout of its own).
 */
export class Event {
  private flag = false;
  private readonly waiters = new WaiterList();

  isSet(): boolean {
    return this.flag;
  }

  set(): void {
    if (this.flag) return;
    this.flag = true;
    for (let w = this.waiters.shift(); w !== null; w = this.waiters.shift()) w.wake(true);
  }

  clear(): void {
    this.flag = false;
  }

  wait(options?: WaitOptions): Promise<boolean> {
    if (this.flag && options === undefined) return TRUE;
    // Options are checked, and an already aborted signal refuses the wait, even when the flag
    // is set: the same answer as Lock.acquire, Semaphore.acquire and Queue.get/put give.
    let timeout: number | null;
    let signal: AbortSignal | null;
    // Bad options reject, as in Lock.acquire.
    try {
      ({ timeout, signal } = parseWait('Event.wait', options));
    } catch (e) {
      return Promise.reject(e);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.flag) return TRUE;
    if (timeout === 0) return Promise.resolve(false);
    const w = new Waiter<boolean>(this);
    this.waiters.push(w);
    if (timeout !== null) w.setTimeout(timeout, (x) => x.withdraw(true, false));
    if (signal !== null) w.setSignal(signal);
    return w.block();
  }

  describe(): string {
    return 'an Event';
  }
}
