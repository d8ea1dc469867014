import { currentTaskSignal } from '../internal/context.js';
import { describeValue, notAFunction } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import type { WaitOptions } from '../internal/wait-options.js';
import { RuntimeError } from './errors.js';
import { Lock } from './lock.js';
import { RLock } from './rlock.js';
import {
  checkSignal,
  checkTimeout,
  registerKind,
  type SharedInit,
  SharedObject,
} from './shared-object.js';

/**
 * Python's `multiprocessing.Condition` across processes. The broker holds the lock too, so
 * `wait` releases it and re-acquires it there, atomically with the notification.
 *
 * **Cancellation:** an aborted `signal` withdraws a `wait` from the broker, which re-acquires
 * the lock for it (waiting for it if another holds it, as Python's wait does when cancelled);
 * the wait then rejects with the reason, the lock held. A notification that picked it in the
 * same instant goes to the next waiter, as in Python's asyncio: none is lost.
 */
export class Condition extends SharedObject {
  readonly lock: Lock;

  constructor(lock?: Lock | null, init?: SharedInit & { lock: Lock }) {
    const l = init?.lock ?? lock ?? new RLock();
    if (!(l instanceof Lock))
      throw new TypeError(
        `Condition expects a multiprocessing Lock or RLock: received ${describeValue(l)}`,
      );
    super('cond', { lock: l._id, lockObj: l }, init);
    this.lock = l;
  }
  protected _kind(): string {
    return 'mp:Condition';
  }
  acquire(options?: Parameters<Lock['acquire']>[0]): Promise<boolean> {
    return this.lock.acquire(options);
  }
  /** Blocking twin of `acquire` (the lock's `acquireSync`). **Blocking:** never a server's main thread. */
  acquireSync(options?: Parameters<Lock['acquireSync']>[0]): boolean {
    return this.lock.acquireSync(options);
  }
  release(): void {
    this.lock.release();
  }
  /**
   * Releases the lock, waits for a notify (or `timeout`), re-acquires; resolves false on
   * timeout. Without a `signal`, inside a `weft/asyncio` task it takes the task's.
   * @throws RuntimeError when this thread does not hold the lock.
   */
  async wait(options: WaitOptions = {}): Promise<boolean> {
    const timeout = checkTimeout('Condition.wait', options.timeout);
    const signal = checkSignal('Condition.wait', options.signal) ?? currentTaskSignal();
    return this.#wait(timeout, signal);
  }

  #wait(timeout: number | null, signal: AbortSignal | null): Promise<boolean> {
    // The broker releases the lock for the wait and holds it again before it answers, however
    // the wait ends; meanwhile this thread does not hold it (Lock._putDown).
    const held = this.lock._putDown();
    const wait = broker().requestSettled(
      'condWait',
      this._id,
      [broker().owner, timeout],
      signal,
      (late) => {
        // Notified (and the lock re-acquired) before the withdrawal reached the broker: the
        // notification goes on to the next waiter. This process holds the lock again, so it may.
        if (late === true) broker().post('notify', this._id, [1]);
      },
    ) as Promise<boolean>;
    return wait.finally(() => this.lock._holdAgain(held));
  }
  /**
   * Blocking twin of `wait`: releases the lock, parks this thread until notified or `timeout`
   * ms pass, and re-acquires the lock; returns false on timeout.
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server.
   * @throws RuntimeError when this thread does not hold the lock.
   */
  waitSync(options: { timeout?: number | null } = {}): boolean {
    const timeout = checkTimeout('Condition.waitSync', options.timeout);
    const held = this.lock._putDown();
    try {
      return brokerSync().request('condWait', this._id, [broker().owner, timeout]) as boolean;
    } finally {
      this.lock._holdAgain(held);
    }
  }
  /** Blocking twin of `waitFor`: `waitSync` until `predicate()` is truthy or `timeout` passes. */
  waitForSync<R>(predicate: () => R, options: { timeout?: number | null } = {}): R {
    const timeout = checkTimeout('Condition.waitForSync', options.timeout);
    const end = timeout === null ? null : performance.now() + timeout;
    let r = predicate();
    while (!r) {
      const left = end === null ? null : end - performance.now();
      if (left !== null && left <= 0) break;
      this.waitSync({ timeout: left });
      r = predicate();
    }
    return r;
  }
  /**
   * `wait` until `predicate()` (checked with the lock held, first before any wait) is truthy or
   * `timeout` passes; resolves to its last value. An aborted `signal` rejects as `wait` does, at
   * once if it is aborted already.
   */
  async waitFor<R>(predicate: () => R, options: WaitOptions = {}): Promise<Awaited<R>> {
    if (typeof predicate !== 'function') throw notAFunction(predicate, 'Condition.waitFor');
    const timeout = checkTimeout('Condition.waitFor', options.timeout);
    const signal = checkSignal('Condition.waitFor', options.signal) ?? currentTaskSignal();
    if (signal?.aborted) throw signal.reason;
    const end = timeout === null ? null : performance.now() + timeout;
    let r = await predicate();
    while (!r) {
      const left = end === null ? null : end - performance.now();
      if (left !== null && left <= 0) break;
      await this.#wait(left, signal);
      r = await predicate();
    }
    return r;
  }
  /** Wakes up to `n` waiters. @throws RuntimeError when this process does not hold the lock. */
  notify(n = 1): void {
    this.#checkHeld('notify');
    broker().post('notify', this._id, [n]);
  }
  /** Wakes every waiter. @throws RuntimeError when this process does not hold the lock. */
  notifyAll(): void {
    this.#checkHeld('notifyAll');
    broker().post('notify', this._id, [Number.MAX_SAFE_INTEGER]);
  }
  // A notify without the lock races the waiter's predicate check and loses wake-ups; Python
  // refuses it, and weft's notify is not waited for, so only this process can refuse it.
  #checkHeld(what: string): void {
    if (!this.lock._heldHere()) {
      throw new RuntimeError(
        `Cannot ${what} on un-acquired lock: acquire the Condition's lock first, e.g. await cond.run(() => cond.${what}())`,
        'ERR_WEFT_NOT_HELD',
      );
    }
  }
  async run<R>(fn: () => R | Promise<R>): Promise<R> {
    if (typeof fn !== 'function') throw notAFunction(fn, 'Condition.run');
    return this.lock.run(fn);
  }
  /** `run` for synchronous code on a thread that may block. */
  runSync<R>(fn: () => R): R {
    if (typeof fn !== 'function') throw notAFunction(fn, 'Condition.runSync');
    return this.lock.runSync(fn);
  }
  /** @internal */
  static _revive(init: SharedInit): Condition {
    return new Condition(null, { ...init, lock: init.params.lockObj as Lock });
  }
}

registerKind('mp:Condition', (s) => Condition._revive(s), import.meta.url);
