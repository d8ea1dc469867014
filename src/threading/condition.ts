/**
 * Layout (Int32Array over 32 bytes):
 * | idx | name    | writer                  | readers  | meaning                                  |
 * |  0  | SEQ     | notifiers (add)         | waiters  | bumped by every notify (the futex word)  |
 * |  1  | PARKED  | waiters (add)           | notify   | waiters parked or about to park on SEQ   |
 * |  2  | UNGRANTED | waiters (add, cas), notify (cas) | notify | waiters with no token granted yet |
 * |  3  | TOKENS  | notify (add), waiters   | waiters  | wake-ups granted and not yet taken       |
 * |  4  | GRANTS  | notify (add)            | waiters  | tokens ever granted (wraps; only compared) |
 * | 5–7 | reserved|                         |          |                                          |
 *
 * Algorithm: a waiter registers (UNGRANTED++) while it still holds the lock, noting GRANTS then,
 * releases the lock, and waits for a token; `notify(n)` (called with the lock held, so every
 * registered waiter is counted, and no waiter registers meanwhile) moves min(n, UNGRANTED)
 * waiters from UNGRANTED to TOKENS (the CAS on UNGRANTED first, then GRANTS, then TOKENS),
 * bumps SEQ and wakes the parked waiters, which race for the tokens. Each waiting waiter is one
 * unit of UNGRANTED, of TOKENS, or of a grant in flight; taking a token leaves UNGRANTED alone.
 *
 * A waiter may take a token only once GRANTS has moved since it registered: a token granted
 * before it came was granted to a waiter already there. (Without that rule a thread that had
 * just notified, got the lock back first and waited again took the token of the thread it had
 * notified, which then slept for ever: two threads taking turns hung after a turn or two.) So
 * the tokens never outnumber the waiters that may take them (E): a grant makes every waiter there
 * one that may, and a waiter that may not is still a unit of UNGRANTED.
 *
 * A waiter that times out takes a token if it may and one is there (it reports itself notified,
 * so no notification is lost), else its unit back from UNGRANTED; if that is 0, a grant is in
 * flight (a notifier between its steps) and it waits for that token. (A waiter count REG with
 * TOKENS ≤ REG, as before, let a notify racing a waiter's exit grant a token nobody was waiting
 * for: a later wait returned true with no notify at all.) Order among the woken is not FIFO
 * (Python's is); no waiter starves a notify, since the tokens are counted.
 *
 * A waiter whose thread ends while its async wait is pending (the thread returned with the wait
 * unsettled, or called process.exit) would stay counted in UNGRANTED for ever, and a later notify
 * would store a token for a thread that is gone: the next wait would return true at once. Each
 * thread keeps its pending async waits per handle (`pending`), and the owner-death machinery
 * (owner-death.ts) withdraws them as the thread ends, as a timed-out waiter does; the withdrawn
 * wait never settles, so it cannot take a token or the lock afterwards. A worker killed without
 * running its exit handlers (`terminate()`) withdraws nothing (see docs/threading.md).
 *
 * Re-acquiring the lock after the wait is robust: when the holder died holding it, the waiter
 * takes it all the same and then throws OwnerDiedError with the lock held (a robust mutex's
 * EOWNERDEAD), so the caller's `run`/`hold` releases what it holds. The one outcome that leaves
 * the lock not held is a DeadlockError of the re-acquire itself (lock-core.ts: the re-acquire is
 * an untimed wait, and its walk, or a re-walk, found that the holder waits for a lock this thread
 * holds): taking the lock is then impossible, it is the hang. The condition counts such errors
 * (`lostHolds`), and its own `run`/`runSync` then release only what this thread still holds.
 */
import { add, cas, load, notify, parkSync, sub } from '../internal/atomics.js';
import { currentContext } from '../internal/context.js';
import { describeValue, notAFunction } from '../internal/errors.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import { AGAIN, type Attempt, type Parkable, waitAsync, waitSync } from '../internal/shm/wait.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { OwnerDiedError, RuntimeError } from './errors.js';
import { LockBase } from './lock-base.js';
import { type Recoverable, track } from './owner-death.js';
import { inspectCustom } from './repr.js';
import { RLock } from './rlock.js';

const SEQ = 0;
const PARKED = 1;
const UNGRANTED = 2;
const TOKENS = 3;
const GRANTS = 4;
/** Bytes of a Condition's words (the layout above, with room for three more). */
const WORDS_BYTES = 32;

/** One async wait of this thread, counted in UNGRANTED (or granted) until it settles. */
interface PendingWait {
  /** False once the wait settled or was withdrawn because its thread ended. */
  live: boolean;
  /** GRANTS when it registered. */
  since: number;
}

const NEVER = new Promise<never>(() => {});

/** Trade-off: spins of a leaving waiter on a grant in flight before it sleeps on SEQ instead. */
const GIVE_UP_SPIN = 100;
/**
 * How long a leaving waiter waits for the token of a grant in flight (a notifier descheduled
 * between its two steps takes far less) before it takes the counters for broken and leaves.
 */
const GRANT_PATIENCE_MS = 1000;

/**
 * Python's `threading.Condition` across threads: `wait()` releases the lock, waits for a
 * `notify`, and re-acquires the lock before it returns (unless the re-acquire is told of a
 * deadlock: see `wait`). The lock is an `RLock` unless one is given.
 *
 * **Cancellation:** an aborted `wait` re-acquires the lock, then rejects with the reason.
 *
 * @example
 * const cond = new Condition();
 * await cond.run(async () => { while (!ready.value) await cond.wait(); });
 */
export class Condition implements Recoverable {
  /** @internal */ readonly _a: Int32Array;
  readonly lock: LockBase;
  private pending: Set<PendingWait> | undefined;
  /** DeadlockErrors of this thread's re-acquires so far (each left the lock not held). */
  private lostHolds = 0;

  constructor(lock?: LockBase) {
    if (lock !== undefined && !(lock instanceof LockBase)) {
      throw new TypeError(
        `Condition lock must be a threading Lock or RLock: received ${describeValue(lock)}`,
      );
    }
    this.lock = lock ?? new RLock();
    this._a = new Int32Array(new SharedArrayBuffer(WORDS_BYTES));
    track(this);
  }

  acquire(options?: Parameters<LockBase['acquire']>[0]): Promise<boolean> {
    return this.lock.acquire(options);
  }
  acquireSync(options?: Parameters<LockBase['acquireSync']>[0]): boolean {
    return this.lock.acquireSync(options);
  }
  release(): void {
    this.lock.release();
  }
  /**
   * Holds the lock around `fn`, as the lock's `run`; after a DeadlockError of a `wait`'s
   * re-acquire (which leaves the lock not held), whether `fn` let it out or caught it, the
   * release is made only if this thread still holds the level `run` took (another thread, or
   * another task of this one, may hold the lock by then).
   */
  async run<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
    if (typeof fn !== 'function') throw notAFunction(fn, 'Condition.run');
    await this.lock.acquire();
    const task = currentContext();
    const depth = this.lock._core.depth();
    const lost = this.lostHolds;
    try {
      return await fn();
    } finally {
      if (this.stillHolds(lost, task, depth)) this.release();
    }
  }
  runSync<R>(fn: () => R): R {
    if (typeof fn !== 'function') throw notAFunction(fn, 'Condition.runSync');
    this.lock.acquireSync();
    const depth = this.lock._core.depth();
    const lost = this.lostHolds;
    try {
      return fn();
    } finally {
      if (this.stillHolds(lost, null, depth)) this.release();
    }
  }

  /**
   * Whether `run` still holds the level it took (by `task`, at `depth`): yes unless a re-acquire
   * of this condition lost the lock since (`lost`: the count then) and this thread's hold of that
   * level is gone. A `fn` that released the lock itself is still told by the release.
   */
  private stillHolds(lost: number, task: object | null, depth: number): boolean {
    return this.lostHolds === lost || this.lock._core.holdsLevel(task, depth);
  }

  hold(): Promise<Disposable & AsyncDisposable> {
    return this.lock.hold();
  }
  holdSync(): Disposable & AsyncDisposable {
    return this.lock.holdSync();
  }

  private checkOwned(what: string): void {
    if (!this.lock._core.isOwned()) {
      throw new RuntimeError(
        `Cannot ${what}: the condition's lock is not held by this thread`,
        'ERR_WEFT_LOCK_NOT_HELD',
      );
    }
  }

  /**
   * A wait also needs the hold to be the caller's: held by an asyncio task of this thread other
   * than the caller's (or the caller is outside any task), the wait would release that task's
   * hold, whose own release then failed with "it is not held". (`notify` changes no hold and
   * stays a per-thread check, as in Python: a callback of the holding task may notify.)
   */
  private checkWaiter(): void {
    this.checkOwned('wait on a condition');
    if (this.lock._core.heldByOtherTask(currentContext())) {
      throw new RuntimeError(
        "Cannot wait on a condition: the condition's lock is held by an asyncio task of this thread that is not the caller's",
        'ERR_WEFT_LOCK_NOT_HELD',
      );
    }
  }

  /** Registers a waiter (the lock held): its unit, and GRANTS as it came. */
  private register(): number {
    add(this._a, UNGRANTED, 1);
    return load(this._a, GRANTS);
  }

  /** A waiter registered at `since` takes a token: only one granted since it came (see E). */
  private take(since: number): Attempt<true> {
    const a = this._a;
    if (load(a, GRANTS) === since) return AGAIN;
    for (let t = load(a, TOKENS); t > 0; t = load(a, TOKENS)) {
      if (cas(a, TOKENS, t, t - 1) === t) return true;
    }
    return AGAIN;
  }

  /**
   * A waiter leaves without a notify of its own (timeout, abort, its thread ending): takes its
   * unit back from UNGRANTED (false), or, when a notify has granted it already, the token that
   * grant adds (true), so that the token wakes nobody later.
   */
  private giveUp(since: number): boolean {
    const a = this._a;
    let deadline = 0;
    for (let k = 0; ; k++) {
      // A token this waiter may take is taken (it was notified as it left), before its unit:
      // taking a unit instead could take the one of a waiter that came later, which may not take
      // the token, and which no notify would then find.
      if (load(a, GRANTS) !== since) {
        const t = load(a, TOKENS);
        if (t > 0) {
          if (cas(a, TOKENS, t, t - 1) === t) return true;
          continue;
        }
      }
      const u = load(a, UNGRANTED);
      if (u > 0) {
        if (cas(a, UNGRANTED, u, u - 1) === u) return false;
        continue;
      }
      // A notifier is between its two steps (UNGRANTED taken, TOKENS not yet added): a few
      // instructions, unless its thread was descheduled right there. Spin a little, then sleep
      // on SEQ, which it bumps after adding the tokens, instead of burning a core.
      if (k < GIVE_UP_SPIN) continue;
      const now = performance.now();
      if (deadline === 0) deadline = now + GRANT_PATIENCE_MS;
      else if (now >= deadline) {
        // The grant never came: the counters lost a unit (a notifier killed between its two
        // steps). Leaving as timed out beats waiting for ever in a loop.
        return false;
      }
      // Counted in PARKED before SEQ is read, so the notifier's wake-up cannot be missed.
      add(a, PARKED, 1);
      const seen = load(a, SEQ);
      if ((load(a, GRANTS) === since || load(a, TOKENS) === 0) && load(a, UNGRANTED) === 0) {
        parkSync(a, SEQ, seen, deadline - now);
      }
      sub(a, PARKED, 1);
    }
  }

  private parkable(w: PendingWait | null, since: number): Parkable<boolean> {
    return {
      a: this._a,
      i: SEQ,
      w: PARKED,
      // A withdrawn wait leaves the loop without touching the counters (wait() then hangs).
      attempt: () => (w === null || w.live ? this.take(since) : false),
      timedOut: () => (w === null || w.live ? this.giveUp(since) : false),
    };
  }

  /**
   * @internal The calling thread is ending, however it ends: its pending waits stop counting as
   * waiters.
   */
  recoverFromDeath(): void {
    if (this.pending === undefined) return;
    for (const w of this.pending) {
      w.live = false;
      // A token granted to it is spent with it: that notify found it waiting.
      this.giveUp(w.since);
    }
    this.pending.clear();
  }

  private async reacquire(depth: number, failure: unknown): Promise<void> {
    let died: boolean;
    try {
      died = await this.lock._core.reacquireAsync();
    } catch (err) {
      // A DeadlockError: the holder waits for a lock this thread holds, so the lock cannot be
      // taken again (that is the hang). The one outcome with the lock NOT held: a caller's
      // `finally { cond.release() }` would throw over it (see docs/threading.md, Condition).
      this.lostHolds++;
      throw err;
    }
    this.lock._core.restoreDepth(depth);
    if (died) throw ownerDied(failure);
  }

  /**
   * Releases the lock, waits until notified (true) or until `timeout` passes (false), and
   * re-acquires the lock before it settles, whatever the outcome — but one: a deadlock found by
   * the re-acquire.
   * @throws RuntimeError when the calling thread does not hold the lock.
   * @throws OwnerDiedError (with the lock held again) when a thread ended holding the lock.
   * @throws DeadlockError with the lock NOT held, when the lock's holder waits for a lock this
   *   thread holds (the re-acquire would never end). `run` gives it back without a release; after
   *   a plain `acquire`, release only when the wait did not throw it.
   */
  async wait(options?: WaitOptions): Promise<boolean> {
    const { timeout, signal } = parseWait('Condition.wait', options);
    this.checkWaiter();
    if (signal?.aborted) throw signal.reason;
    const w: PendingWait = { live: true, since: this.register() };
    (this.pending ??= new Set()).add(w);
    const depth = this.lock._core.releaseAll();
    let failure: unknown = null;
    let notified = false;
    try {
      notified = await waitAsync(this.parkable(w, w.since), timeout, signal);
    } catch (err) {
      failure = err;
      // A notification that reached us as we left counts: report it rather than lose it.
      if (w.live && this.giveUp(w.since)) {
        failure = null;
        notified = true;
      }
    }
    // Withdrawn as the thread ended: its unit is gone, and taking the lock now would leave it
    // held by a thread whose recovery has already run.
    if (!w.live) return NEVER;
    w.live = false;
    this.pending.delete(w);
    await this.reacquire(depth, failure);
    if (failure !== null) throw failure;
    return notified;
  }

  /** Blocking twin of `wait`. **Blocking:** parks the thread; not on a server's main thread. */
  waitSync(options?: WaitOptions): boolean {
    const { timeout, signal } = parseWait('Condition.waitSync', options);
    this.checkWaiter();
    if (signal?.aborted) throw signal.reason;
    const since = this.register();
    const depth = this.lock._core.releaseAll();
    let failure: unknown = null;
    let notified = false;
    try {
      notified = waitSync(this.parkable(null, since), timeout, null);
    } catch (err) {
      failure = err;
    }
    let died: boolean;
    try {
      died = this.lock._core.reacquireSync();
    } catch (err) {
      // As in `reacquire`: a DeadlockError, thrown with the lock not held.
      this.lostHolds++;
      throw err;
    }
    this.lock._core.restoreDepth(depth);
    if (died) throw ownerDied(failure);
    if (failure !== null) throw failure;
    return notified;
  }

  /**
   * Waits until `predicate()` is truthy (checked under the lock, first before any wait);
   * resolves to its last value, falsy if `timeout` ran out. As Python's `wait_for`, a falsy
   * predicate waits at least once, even with a timeout of 0 (the predicate is then checked again).
   */
  async waitFor<T>(predicate: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    if (typeof predicate !== 'function') throw notAFunction(predicate, 'Condition.waitFor');
    const { timeout, signal } = parseWait('Condition.waitFor', options);
    const clock = waitForClock(timeout);
    let result = await predicate();
    while (!result) {
      const left = clock();
      if (left === OVER) break;
      await this.wait({ timeout: left, ...(signal ? { signal } : {}) });
      result = await predicate();
    }
    return result;
  }

  waitForSync<T>(predicate: () => T, options?: WaitOptions): T {
    const { timeout, signal } = parseWait('Condition.waitForSync', options);
    const clock = waitForClock(timeout);
    let result = predicate();
    while (!result) {
      const left = clock();
      if (left === OVER) break;
      // An aborted signal counts, as for waitSync (a parked thread cannot see a later abort).
      this.waitSync({ timeout: left, ...(signal ? { signal } : {}) });
      result = predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` waiters (default 1): an integer >= 0, or Infinity (`notifyAll`). Call it
   * holding the lock.
   * @throws TypeError when `n` is not a number; RangeError when it is not such a count.
   * @throws RuntimeError when the calling thread does not hold the lock.
   */
  notify(n = 1): void {
    // Python's notify(n) counts waiters down one by one: n is a count. A fraction would be
    // stored truncated in the Int32 counters (notify(0.5) took a waiter's unit and granted no
    // token; that waiter was then lost and its timed wait spun for ever).
    if (typeof n !== 'number') {
      throw new TypeError(`Condition.notify(n): n must be a number: received ${describeValue(n)}`);
    }
    if (!(n >= 0) || (!Number.isInteger(n) && n !== Number.POSITIVE_INFINITY)) {
      throw new RangeError(
        `Condition.notify(n): n must be an integer >= 0 (or Infinity, as notifyAll): received ${n}`,
      );
    }
    this.checkOwned('notify on a condition');
    const a = this._a;
    let want: number;
    for (;;) {
      const u = load(a, UNGRANTED);
      want = Math.min(n, u);
      if (want <= 0) return;
      if (cas(a, UNGRANTED, u, u - want) === u) break;
    }
    add(a, GRANTS, want);
    add(a, TOKENS, want);
    add(a, SEQ, 1);
    // Tokens and SEQ first: a waiter counts itself in PARKED before re-reading SEQ.
    if (load(a, PARKED) > 0) notify(a, SEQ);
  }

  notifyAll(): void {
    this.notify(Number.POSITIVE_INFINITY);
  }

  /** Python's repr: `<weft.threading.Condition(<unlocked … RLock-1 …>, 0)>`, 0 waiters — a snapshot. */
  toString(): string {
    return `<weft.threading.Condition(${this.lock}, ${load(this._a, UNGRANTED)})>`;
  }

  /** util.inspect shows the repr, not the shared words. */
  [inspectCustom](): string {
    return this.toString();
  }

  /** @internal */
  [kShared](): SharedState {
    return { kind: 'threading.Condition', state: { sab: this._a.buffer, lock: this.lock } };
  }
}

function ownerDied(failure: unknown): OwnerDiedError {
  return new OwnerDiedError(
    "Condition.wait: a thread ended holding the condition's lock; this thread holds the lock again",
    failure === null ? undefined : { cause: failure },
  );
}

registerSharedKind(
  'threading.Condition',
  (s) => {
    const c = Object.create(Condition.prototype) as Condition;
    (c as { _a: Int32Array })._a = new Int32Array(s.sab as SharedArrayBuffer);
    (c as { lock: LockBase }).lock = s.lock as LockBase;
    track(c);
    return c;
  },
  import.meta.url,
);

/** What `waitForClock`'s clock answers once the time is spent. */
const OVER = -1;

/**
 * Python's `wait_for` clock: each call gives the timeout of the next wait (null: none), or OVER.
 * The deadline starts at the first wait, and that wait is made even with a timeout of 0, so a
 * caller without the lock is told and the lock is let go once.
 */
function waitForClock(timeout: number | null): () => number | null {
  let deadline: number | null = null;
  return () => {
    if (timeout === null) return null;
    if (deadline === null) {
      deadline = performance.now() + timeout;
      return timeout;
    }
    const left = deadline - performance.now();
    return left <= 0 ? OVER : left;
  };
}
