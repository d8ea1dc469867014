import { currentTaskSignal } from '../internal/context.js';
import { checkReleaseCount, describeValue } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import { holding, holdingSync } from './hold.js';
import type { AcquireOptions } from './lock.js';
import {
  checkSignal,
  checkTimeout,
  registerKind,
  type SharedInit,
  SharedObject,
} from './shared-object.js';

/**
 * Python's `multiprocessing.Semaphore` across processes. Permits held by a process that dies
 * come back to the semaphore.
 */
export class Semaphore extends SharedObject {
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
    super('sem', { value, bound: bounded ? value : null }, init);
  }

  protected _kind(): string {
    return 'mp:Semaphore';
  }

  async acquire(options: AcquireOptions = {}): Promise<boolean> {
    const block = options.blocking ?? true;
    const timeout = checkTimeout('Semaphore.acquire', options.timeout);
    const signal = checkSignal('Semaphore.acquire', options.signal) ?? currentTaskSignal();
    return (await broker().request('semAcquire', this._id, [block, timeout], signal, (late) => {
      if (late === true) broker().post('semRelease', this._id, [1]);
    })) as boolean;
  }

  /**
   * Blocking twin of `acquire`: parks this thread until a permit is taken (true), or returns
   * false with `blocking: false` or when `timeout` ms pass.
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server. A `signal` counts only if already aborted.
   */
  acquireSync(options: AcquireOptions = {}): boolean {
    const block = options.blocking ?? true;
    const timeout = checkTimeout(`${this.constructor.name}.acquireSync`, options.timeout);
    const signal = checkSignal(`${this.constructor.name}.acquireSync`, options.signal);
    if (signal?.aborted) throw signal.reason;
    return brokerSync().request('semAcquire', this._id, [block, timeout]) as boolean;
  }

  /** Returns `n` permits. */
  release(n = 1): void {
    checkReleaseCount(n);
    broker().post('semRelease', this._id, [n]);
  }

  /** The current value — a snapshot (Python's `get_value()`). */
  getValue(): number {
    return brokerSync().request('semValue', this._id, []) as number;
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
