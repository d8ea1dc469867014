import { describeValue, notAFunction } from '../internal/errors.js';
import { callSoon, reportException } from '../internal/scheduler.js';
import {
  type ParsedAcquire,
  parseAcquire,
  parseWait,
  type WaitOptions,
} from '../internal/wait-options.js';
import type { AcquireOptions, SemaphoreLinkCallback } from './semaphore.js';

const TRUE: Promise<boolean> = Promise.resolve(true);
const ONE: Promise<number> = Promise.resolve(1);

function runLink(s: DummySemaphore, link: { cb: SemaphoreLinkCallback<any>; dead: boolean }): void {
  s._runLink(link);
}

/**
 * gevent's `DummySemaphore`: a `Semaphore` with no limit, for code that takes a semaphore
 * whether or not the resource is limited. `acquire()` resolves true at once, `release()` does
 * nothing, `wait()` resolves 1, `locked()` is false and `ready()` true; the constructor's value
 * is ignored, as gevent's. Options are still checked, and an aborted `signal` still rejects (the
 * weft-wide rule).
 *
 * One difference: gevent's `rawlink` never calls back (so a `gevent.wait` on one waits for
 * ever); this one calls `cb(this)` on the ready queue, as it is always ready.
 */
export class DummySemaphore {
  /** Links queued that have not run yet (an `unlink` still stops them). */
  private readonly queued: { cb: SemaphoreLinkCallback<any>; dead: boolean }[] = [];

  // biome-ignore lint/complexity/noUselessConstructor: it takes gevent's value (and ignores it)
  constructor(_value?: number | null) {}

  /** Always false. */
  locked(): boolean {
    return false;
  }

  /** Always true. */
  ready(): boolean {
    return true;
  }

  /** Resolves true at once. */
  acquire(options?: AcquireOptions): Promise<boolean> {
    if (options === undefined) return TRUE;
    let parsed: ParsedAcquire;
    try {
      parsed = parseAcquire('DummySemaphore.acquire', options);
    } catch (e) {
      return Promise.reject(e);
    }
    if (parsed.signal?.aborted) return Promise.reject(parsed.signal.reason);
    return TRUE;
  }

  /** Does nothing. */
  release(): void {}

  /** Resolves 1 at once. */
  wait(options?: WaitOptions): Promise<number> {
    if (options === undefined) return ONE;
    try {
      const { signal } = parseWait('DummySemaphore.wait', options);
      if (signal?.aborted) return Promise.reject(signal.reason);
    } catch (e) {
      return Promise.reject(e);
    }
    return ONE;
  }

  /** Calls `cb(this)` on the ready queue. @throws TypeError for something not a function. */
  rawlink(cb: SemaphoreLinkCallback<this>): void {
    if (typeof cb !== 'function') {
      throw new TypeError(
        `DummySemaphore.rawlink expects a function: received ${describeValue(cb)}`,
      );
    }
    const link = { cb, dead: false };
    this.queued.push(link);
    callSoon(runLink, this, link);
  }

  /** Stops the first link of `cb` that has not run yet; does nothing if there is none. */
  unlink(cb: SemaphoreLinkCallback<this>): void {
    const i = this.queued.findIndex((x) => x.cb === cb);
    if (i < 0) return;
    this.queued[i]!.dead = true;
    this.queued.splice(i, 1);
  }

  /** @internal */
  _runLink(link: { cb: SemaphoreLinkCallback<any>; dead: boolean }): void {
    if (link.dead) return;
    this.queued.splice(this.queued.indexOf(link), 1);
    try {
      link.cb(this);
    } catch (e) {
      reportException('Exception in a rawlink callback of a DummySemaphore', e);
    }
  }

  /** Runs `fn` (gevent's `with sem:`). */
  async run<R>(fn: () => R | PromiseLike<R>, options?: AcquireOptions): Promise<Awaited<R>> {
    if (typeof fn !== 'function') throw notAFunction(fn, 'DummySemaphore.run');
    await this.acquire(options);
    return await fn();
  }

  /** A handle whose disposal does nothing: `using _ = await sem.hold()`. */
  async hold(options?: AcquireOptions): Promise<Disposable & AsyncDisposable> {
    await this.acquire(options);
    return { [Symbol.dispose]() {}, async [Symbol.asyncDispose]() {} };
  }

  get [Symbol.toStringTag](): string {
    return 'DummySemaphore';
  }
}
