import { currentContext } from '../internal/context.js';
import {
  type DeadlockEdge,
  DeadlockError,
  describeCycle,
  describeValue,
  notAFunction,
} from '../internal/errors.js';
import { releaser } from '../internal/releaser.js';
import { type ParsedAcquire, parseAcquire, type WaitOptions } from '../internal/wait-options.js';
import {
  type CallWaits,
  tieInnerWait,
  Waiter,
  WaiterList,
  type WaitingTask,
} from '../internal/waiter.js';
import { RuntimeError } from './errors.js';

export interface AcquireOptions extends WaitOptions {
  /** `false`: take the lock only if it is free now; resolves false otherwise. */
  blocking?: boolean;
}

export interface LockOptions {
  /** Shown in deadlock reports; defaults to `Lock-N`. */
  name?: string;
  /** Detect wait-for cycles on this lock (default: the module setting, on unless switched off). */
  deadlockDetection?: boolean;
}

/** `Waiter.state` of a wait woken and not yet resumed. */
const SCHEDULED = 1;

let detectByDefault = true;
let lockCounter = 0;
const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);

/**
 * Switches deadlock detection on or off for locks created afterwards (weft's own; default on).
 * A detecting lock records its holder on every acquire (one call into the context addon where
 * it is built); a contended acquire walks the chain of holders, one step per lock in the chain.
 */
export function setDeadlockDetection(enabled: boolean): void {
  if (typeof enabled !== 'boolean') {
    throw new TypeError(
      `setDeadlockDetection expects a boolean: received ${describeValue(enabled)}`,
    );
  }
  detectByDefault = enabled;
}

/**
 * An asyncio Lock: mutual exclusion between tasks.
 *
 * Waiters are served in FIFO order, and a release hands the lock straight to the first waiter,
 * so a task arriving later cannot barge in ahead of it. Not owned in Python's sense: any task
 * may release it (as `asyncio.Lock`); weft records the holder for deadlock detection.
 *
 * **Deadlocks (weft's own):** a task that would wait for a lock it holds, or for a lock whose
 * holder is (transitively) waiting for a lock this task holds, gets a `DeadlockError` naming
 * the cycle instead of hanging.
 *
 * **Cancellation:** a cancelled or aborted `acquire` leaves no waiter once its task has run;
 * until then it keeps its place in the queue, as in CPython (a release that finds it first
 * wakes nobody, and it wakes the next waiter when it runs). If the lock had already been handed
 * to the cancelled task, it passes to the next waiter then (no lost wake-up).
 *
 * @example
 * const lock = new Lock();
 * await lock.run(async () => { balance += 1; });
 * // or
 * { using _ = await lock.hold(); balance += 1; }
 */
export class Lock {
  /** @internal */ _locked = false;
  /** @internal */ _holder: WaitingTask | null = null;
  /** @internal */ readonly _detect: boolean;
  private readonly waiters = new WaiterList();
  /**
   * The waiter `release` last handed the lock to, until the next hand-over (see `spare`). Or a
   * cancelled waiter still first in the queue when the lock was released (see `_handOn`): then
   * nobody was handed it, and this one, when it resumes, wakes the first waiter.
   */
  private granted: Waiter<boolean> | null = null;
  /**
   * A finished waiter of this lock that nothing else reaches any more (`Waiter.reusable`), for
   * the next contended acquire to reuse: a lock passed back and forth between tasks then makes
   * no new waiter per hand-over. It is the one handed the lock before the last: by the next
   * hand-over the task it woke has resumed (the one handed it last has not, usually).
   */
  private spare: Waiter<boolean> | null = null;
  readonly name: string;

  constructor(options: LockOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Lock options must be an object: received ${describeValue(options)}`);
    }
    const name = options.name;
    if (name !== undefined && typeof name !== 'string') {
      throw new TypeError(`Lock name must be a string: received ${describeValue(name)}`);
    }
    this.name = name ?? `Lock-${++lockCounter}`;
    this._detect = options.deadlockDetection ?? detectByDefault;
    // A cancelled waiter keeps its place until its task runs, as in CPython (see `_handOn`).
    this.waiters.keepsCancelled = true;
  }

  /**
   * True if the lock is held (a snapshot). Between a `release()` that handed the lock to a
   * waiter and that waiter's resuming, false, as CPython's `locked()` is then (a newcomer still
   * queues behind the waiter, there as here). False too after a `release()` that woke nobody
   * because its first waiter was cancelled and had not resumed (see `_handOn`).
   */
  locked(): boolean {
    const g = this.granted;
    return this._locked && (g === null || g.state !== SCHEDULED);
  }

  /**
   * Acquires the lock; resolves true. With `blocking: false` resolves false at once if the lock
   * is held; with `timeout` (ms) resolves false when it expires.
   * @throws DeadlockError when the wait would close a wait-for cycle.
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    if (options !== undefined) return this.acquireSlow(options);
    if (!this._locked) {
      this._locked = true;
      this._holder = this.holderNow();
      return TRUE;
    }
    if (this.takeVacant()) return TRUE;
    // Contended, no options: nothing to parse, no timer, no signal.
    let w = this.spare;
    if (w !== null) {
      this.spare = null;
      w.reuse(currentContext() as WaitingTask | null, revokeGrant);
    } else {
      w = new Waiter<boolean>(this);
      w.onRevoke = revokeGrant;
    }
    if (this._detect && w.task !== null) {
      const cycle = this.findCycle(w.task);
      if (cycle !== null) return Promise.reject(deadlock(cycle));
    }
    this.waiters.push(w);
    return w.block();
  }

  /**
   * @internal An acquire that never reports a deadlock (Condition.wait's re-acquire), as one
   * more wait of `call`.
   */
  _acquireUnchecked(call: CallWaits): Promise<boolean> {
    if (!this._locked) return this.acquire();
    if (this.takeVacant()) return TRUE;
    const w = new Waiter<boolean>(this);
    w.onRevoke = revokeGrant;
    this.waiters.push(w);
    call.add(w);
    return w.block();
  }

  /**
   * @internal `acquire(options)` as one more wait of `call`, for a primitive built on this lock
   * whose waiting call a combinator may take over (Barrier.wait). A free lock is taken at once.
   */
  _acquireIn(options: AcquireOptions | undefined, call: CallWaits): Promise<boolean> {
    return this.acquireSlow(options, call);
  }

  private acquireSlow(
    options: AcquireOptions | undefined,
    call: CallWaits | null = null,
  ): Promise<boolean> {
    let parsed: ParsedAcquire;
    // A waiting call reports bad options by rejecting, as an async function would: the same
    // answer whether it is awaited at once or handed to a combinator first.
    try {
      parsed = parseAcquire('Lock.acquire', options);
    } catch (e) {
      return Promise.reject(e);
    }
    const { timeout, signal, blocking } = parsed;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this._locked || this.takeVacant()) {
      this._locked = true;
      this._holder = this.holderNow();
      return TRUE;
    }
    if (!blocking || timeout === 0) return FALSE;
    const w = new Waiter<boolean>(this);
    // A wait with a timeout ends by itself: only a wait that could last for ever is a deadlock.
    if (this._detect && w.task !== null && timeout === null) {
      const cycle = this.findCycle(w.task);
      if (cycle !== null) return Promise.reject(deadlock(cycle));
    }
    w.onRevoke = revokeGrant;
    this.waiters.push(w);
    if (timeout !== null) w.setTimeout(timeout, (x) => x.withdraw(true, false));
    if (signal !== null) w.setSignal(signal);
    call?.add(w);
    return w.block();
  }

  /**
   * Releases the lock, handing it to the first waiter if there is one.
   * @throws RuntimeError when the lock is not held.
   */
  release(): void {
    // During a hand-over (`locked()` false) the lock is the woken waiter's, not the caller's:
    // a second release is refused, as CPython's, whose `_locked` is false until that waiter runs.
    if (!this.locked())
      throw new RuntimeError('Cannot release lock: it is not held', 'ERR_WEFT_LOCK_NOT_HELD');
    this._handOn();
  }

  /**
   * @internal Frees the lock, or hands it to the first waiter. Also where a woken waiter that
   * was cancelled gives the lock back (`revokeGrant`), while its hand-over is still under way.
   *
   * A waiter cancelled in the queue keeps its place there until its task runs (CPython's
   * cancelled future stays in `_waiters` until its `finally`). If it is first, nobody is woken:
   * the lock is free (`locked()` false, a second `release()` refused) but a newcomer still
   * queues unless every waiter left is cancelled (`takeVacant`), and the cancelled waiter,
   * when it resumes, wakes the next (`revokeGrant`), as CPython's does in its `except` clause.
   * It stands in `granted` meanwhile, with no holder. No wake-up is lost: a cancelled wait
   * always resumes.
   */
  _handOn(): void {
    const w = this.waiters.head;
    if (w === null) {
      this._locked = false;
      this._holder = null;
      this.granted = null;
      return;
    }
    const g = this.granted;
    if (g?.reusable()) {
      g.task = null; // holds no task while spare
      this.spare = g;
    }
    this.granted = w;
    if (w.state === SCHEDULED) {
      this._holder = null;
      return;
    }
    this.waiters.remove(w);
    this._holder = w.task;
    w.wake(true);
  }

  /**
   * @internal `w`, cancelled while queued, resumes: it leaves the queue, and if a release found
   * it first (it stands in `granted`), it wakes the next waiter now.
   */
  _leaveQueue(w: Waiter<boolean>): void {
    this.waiters.remove(w);
    if (this.granted === w) this._handOn();
  }

  /**
   * Takes the lock for a newcomer while a release's wake-up waits on a cancelled first waiter
   * (see `_handOn`), if no waiter left is pending: CPython's acquire takes a lock that is not
   * held and whose waiters are all cancelled. False otherwise (held, handed over, or a waiter
   * is due first).
   */
  private takeVacant(): boolean {
    const g = this.granted;
    if (g === null || g.list === null) return false; // not a cancelled waiter still queued
    for (let w = this.waiters.head; w !== null; w = w.next) if (w.pending) return false;
    this.granted = null;
    this._holder = this.holderNow();
    return true;
  }

  /** Holds the lock around `fn` (Python's `async with lock:`); returns what `fn` returns. */
  run<R>(fn: () => R | PromiseLike<R>, options?: AcquireOptions): Promise<Awaited<R>> {
    // Refused before the lock is taken, by rejecting, as an async function would.
    if (typeof fn !== 'function') return Promise.reject(notAFunction(fn, 'Lock.run'));
    if (options === undefined && !this._locked) {
      // Free lock: take it and call fn now, as `async with` on a free lock does not suspend;
      // only an fn that returns a promise costs an await.
      this._locked = true;
      this._holder = this.holderNow();
      let r: R | PromiseLike<R>;
      try {
        r = fn();
      } catch (e) {
        this.release();
        return Promise.reject(e);
      }
      if (
        r === null ||
        (typeof r !== 'object' && typeof r !== 'function') ||
        typeof (r as PromiseLike<R>).then !== 'function'
      ) {
        this.release();
        return Promise.resolve(r as Awaited<R>);
      }
      return this.releaseAfter(r as PromiseLike<R>);
    }
    return this.runSlow(fn, options);
  }

  private async releaseAfter<R>(p: PromiseLike<R>): Promise<Awaited<R>> {
    try {
      return await p;
    } finally {
      this.release();
    }
  }

  private async runSlow<R>(
    fn: () => R | PromiseLike<R>,
    options: AcquireOptions | undefined,
  ): Promise<Awaited<R>> {
    if (!(await this.acquire(options))) throw timedOut(this);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Acquires the lock and returns a handle whose disposal releases it: `using _ = await lock.hold()`. */
  hold(options?: AcquireOptions): Promise<Disposable & AsyncDisposable> {
    if (options === undefined && !this._locked) {
      void this.acquire(); // free: taken at once
      return Promise.resolve(releaser(() => this.release()));
    }
    // Its wait is `acquire`'s: tied to this promise, for a combinator given it (waiter.ts).
    return tieInnerWait((call) => holdWaited(this, options, call, timedOut));
  }

  describe(): string {
    return `Lock '${this.name}'`;
  }

  /**
   * The task taking the lock now, as its holder. Only deadlock detection reads holders, and a
   * chain of holders never runs through a lock that does not detect, so such a lock records
   * none (reading the current task is a call into the context addon).
   *
   * Read at the acquire, not later: a contender comes only once the holder has suspended, and
   * a task that resumes from an await of a promise weft did not make runs with no weft code
   * seeing the switch, so no later moment is known to be the holder's. A record put off to the
   * holder's next weft wait would then take locks acquired by other tasks for its own.
   */
  private holderNow(): WaitingTask | null {
    return this._detect ? (currentContext() as WaitingTask | null) : null;
  }

  /** The wait-for cycle that `task` waiting here would close, or null. */
  private findCycle(task: WaitingTask): DeadlockEdge[] | null {
    const first = this._holder;
    if (first === null) return null;
    // This runs on every contended acquire and a cycle is the rare case: walk the chain of
    // holders first with nothing allocated. A chain longer than SHORT_CHAIN may loop without
    // `task` in it, so it is walked again with the holders remembered.
    let h: WaitingTask = first;
    for (let steps = 0; h !== task; steps++) {
      if (steps === SHORT_CHAIN) return this.findCycleLong(task);
      const target = lockNeeded(h);
      if (target === null) return null;
      const next: WaitingTask | null = target._holder;
      if (next === null) return null;
      h = next;
    }
    return this.findCycleLong(task);
  }

  /** `findCycle`, remembering the holders seen (chains are short, so an array beats a Set). */
  private findCycleLong(task: WaitingTask): DeadlockEdge[] | null {
    const first = this._holder as WaitingTask;
    const holders: WaitingTask[] = [first];
    const locks: Lock[] = [this];
    for (let h: WaitingTask = first; h !== task; ) {
      const target = lockNeeded(h);
      if (target === null) return null;
      const next: WaitingTask | null = target._holder;
      if (next === null || (next !== task && holders.includes(next))) return null;
      holders.push(next);
      locks.push(target);
      h = next;
    }
    const edges: DeadlockEdge[] = [];
    let waiter: WaitingTask = task;
    for (let i = 0; i < locks.length; i++) {
      const holder = holders[i] as WaitingTask;
      edges.push({
        waiter: waiter.describe(),
        resource: (locks[i] as Lock).describe(),
        holder: holder.describe(),
      });
      waiter = holder;
    }
    return edges;
  }
}

/** Holders walked by `findCycle` before it starts remembering them. */
const SHORT_CHAIN = 16;

/** The detecting Lock that task `h` cannot go on without, or null (it needs none, or we cannot tell). */
function lockNeeded(h: WaitingTask): Lock | null {
  const w = h._blocker;
  if (!(w instanceof Waiter)) return null;
  // A task waiting on a Lock needs that lock (unless it was just handed it); one waiting in
  // Condition.wait — even one already notified — needs the condition's lock back before it
  // can return.
  if (w.state === 2) return null;
  const owner = w.owner;
  if (owner instanceof Lock) return w.state === 0 && owner._detect ? owner : null;
  const target = (owner as { _relockTarget?: unknown } | null)?._relockTarget;
  return target instanceof Lock && target._detect ? target : null;
}

/**
 * A waiter was cancelled before it resumed, and resumes now. Handed the lock already: the lock
 * goes to the next one. Still queued: it leaves the queue (see `Lock._handOn`).
 */
function revokeGrant(w: Waiter<boolean>): void {
  const lock = w.owner as Lock;
  if (w.list === null) lock._handOn();
  else lock._leaveQueue(w);
}

function deadlock(cycle: DeadlockEdge[]): DeadlockError {
  const msg =
    cycle.length === 1
      ? `Deadlock: ${cycle[0]!.waiter} tried to acquire ${cycle[0]!.resource}, which it already holds (asyncio locks are not reentrant)`
      : `Deadlock: ${describeCycle(cycle)}`;
  return new DeadlockError(msg, cycle);
}

/** What `run` and `hold` throw when their `timeout` runs out first. */
function timedOut(lock: Lock): RuntimeError {
  return new RuntimeError(
    `Could not acquire ${lock.describe()} before the timeout`,
    'ERR_WEFT_LOCK_TIMEOUT',
  );
}

/**
 * @internal The rest of `hold()` once its quick path (free, no options) does not apply, for Lock
 * and Semaphore alike: acquires (as one more wait of `call`, see `tieInnerWait`), or throws
 * `timedOut(primitive)` when `timeout` runs out first.
 */
export async function holdWaited<
  P extends { acquire(o?: AcquireOptions): Promise<boolean>; release(): void },
>(
  primitive: P,
  options: AcquireOptions | undefined,
  call: CallWaits,
  timedOut: (primitive: P) => Error,
): Promise<Disposable & AsyncDisposable> {
  if (!(await primitive.acquire(options))) throw timedOut(primitive);
  // Cancelled after the wait was granted and resumed, before going on (a combinator took the
  // call over): the hold is given back, as CPython's acquire gives back a wake-up it will not use.
  call.raiseLate(() => primitive.release());
  return releaser(() => primitive.release());
}
