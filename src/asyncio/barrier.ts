import { BrokenBarrierError, describeValue } from '../internal/errors.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { CallWaits, tieCall } from '../internal/waiter.js';
import { Condition } from './condition.js';
import { Lock } from './lock.js';

export interface BarrierOptions {
  /** Called by the last task to arrive, before the others are released (threading's
   * semantics). If it throws, the barrier breaks and that task raises the error. */
  action?: () => unknown | PromiseLike<unknown>;
  /** Default timeout (ms) of `wait()`; a wait that times out breaks the barrier. `null` (Python's
   * `None`) or `Infinity`: no default timeout. */
  timeout?: number | null;
}

const FILLING = 0;
const DRAINING = 1;
const RESETTING = 2;
const BROKEN = 3;

/**
 * An asyncio Barrier: `parties` tasks wait until all of them have called `wait()`, then all
 * proceed; it then fills again for the next round.
 *
 * The state machine is CPython's (filling → draining → filling, resetting, broken): tasks that
 * arrive while the previous round drains wait for it to finish, so rounds never mix. `wait()`
 * resolves to the arrival index (0 … parties-1).
 *
 * **Cancellation:** a task cancelled while waiting leaves the barrier, as in CPython (the count
 * goes down; the others keep waiting). `abort()` or a timeout breaks it: every waiter raises
 * `BrokenBarrierError`, and so does every later `wait()` until `reset()`.
 */
export class Barrier {
  private readonly lock = new Lock({ name: 'Barrier.lock', deadlockDetection: false });
  private readonly cond = new Condition(this.lock);
  private state = FILLING;
  private count = 0;
  readonly parties: number;
  private readonly action: (() => unknown) | null;
  private readonly timeout: number | null;

  constructor(parties: number, options: BarrierOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Barrier options must be an object: received ${describeValue(options)}`);
    }
    if (typeof parties !== 'number' || !Number.isInteger(parties)) {
      throw new TypeError(`Barrier parties must be an integer: received ${describeValue(parties)}`);
    }
    if (parties < 1) throw new RangeError(`Barrier parties must be > 0: received ${parties}`);
    if (options.action !== undefined && typeof options.action !== 'function') {
      throw new TypeError(
        `Barrier action must be a function: received ${describeValue(options.action)}`,
      );
    }
    if (
      options.timeout !== undefined &&
      options.timeout !== null &&
      (typeof options.timeout !== 'number' || Number.isNaN(options.timeout))
    ) {
      throw new TypeError(
        `Barrier timeout must be a number of milliseconds: received ${describeValue(options.timeout)}`,
      );
    }
    this.parties = parties;
    this.action = options.action ?? null;
    this.timeout = options.timeout ?? null;
  }

  /**
   * Waits for all parties; resolves to this task's arrival index.
   *
   * An aborted `signal` rejects the wait with its reason and the task leaves the barrier, as a
   * cancelled task does (the others keep waiting).
   * @throws BrokenBarrierError if the barrier is or becomes broken (abort, reset, timeout).
   */
  wait(options: WaitOptions = {}): Promise<number> {
    const call = new CallWaits();
    return tieCall(this.waitIn(options, call), call);
  }

  /**
   * `wait`, its waits (the lock, the previous round's draining, the others' arrival) recorded in
   * `call`, so that a combinator given its promise takes the call over (waiter.ts, `CallWaits`).
   * That needs the call's first wait to be made before `wait()` returns: a free lock is taken and
   * a predicate that holds is passed without an `await`, as CPython's `async with` on a free
   * lock and its `wait_for` of a true predicate do not suspend.
   */
  private async waitIn(options: WaitOptions, call: CallWaits): Promise<number> {
    // Validated before entering, so bad input cannot leave the barrier half-entered. Every
    // waiting call takes a signal (API.md); it reaches the lock and both condition waits.
    const parsed = parseWait('Barrier.wait', options);
    // Only an absent timeout (or null, Python's None) falls back to the barrier's default, as in
    // threading; `Infinity` waits for ever even when the barrier has a default timeout.
    const timeout =
      options?.timeout === undefined || options.timeout === null ? this.timeout : parsed.timeout;
    const signal = parsed.signal;
    signal?.throwIfAborted();
    const sig = signal === null ? {} : { signal };
    const lock = this.lock;
    // Free now (`_locked`, not `locked()`: that is false during a hand-over too, when the lock
    // is not free to take).
    if (!lock._locked) void lock._acquireIn(undefined, call);
    else {
      await lock._acquireIn(signal === null ? undefined : sig, call);
      call.raiseLate(() => lock.release());
    }
    try {
      // Block while the previous round drains or a reset completes.
      if (this.state === DRAINING || this.state === RESETTING)
        await this.cond._waitForIn(
          () => this.state !== DRAINING && this.state !== RESETTING,
          sig,
          call,
        );
      if (this.state === BROKEN) throw new BrokenBarrierError('Barrier aborted');
      const index = this.count;
      this.count++;
      try {
        if (index + 1 === this.parties) {
          if (this.action !== null) {
            try {
              await this.action();
            } catch (e) {
              this.breakBarrier();
              throw e;
            }
            // A cancel of a taken-over call while the action ran (it had no wait to end) breaks
            // the barrier as a cancel delivered inside the action would.
            call.raiseLate(() => this.breakBarrier());
          }
          this.state = DRAINING;
          this.cond.notifyAll();
        } else {
          const ok = await this.cond._waitForIn(
            () => this.state !== FILLING,
            timeout === null ? sig : { timeout, ...sig },
            call,
          );
          if (!ok) {
            this.breakBarrier();
            throw new BrokenBarrierError(`Barrier timed out after ${timeout} ms`);
          }
          if (this.state === BROKEN || this.state === RESETTING)
            throw new BrokenBarrierError('Barrier aborted or reset while waiting');
        }
        return index;
      } finally {
        this.count--;
        // The last task out ends the draining (or the reset) and lets the next round in.
        if (this.count === 0) {
          if (this.state === RESETTING || this.state === DRAINING) this.state = FILLING;
          this.cond.notifyAll();
        }
      }
    } finally {
      lock.release();
    }
  }

  /** Returns the barrier to its empty state; tasks waiting in it raise BrokenBarrierError. */
  async reset(): Promise<void> {
    await this.cond.run(() => {
      if (this.count > 0) this.state = RESETTING;
      else this.state = FILLING;
      this.cond.notifyAll();
    });
  }

  /** Breaks the barrier: current and future waiters raise BrokenBarrierError until `reset()`. */
  async abort(): Promise<void> {
    await this.cond.run(() => this.breakBarrier());
  }

  private breakBarrier(): void {
    this.state = BROKEN;
    this.cond.notifyAll();
  }

  /** Tasks waiting for the barrier to fill (a snapshot). */
  get nWaiting(): number {
    return this.state === FILLING ? this.count : 0;
  }

  get broken(): boolean {
    return this.state === BROKEN;
  }
}
