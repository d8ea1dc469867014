/**
 * The engine of `Lock` and `RLock`: a lock word holding its owner's tid, in a cell of the world
 * (src/internal/shm/world.ts) so that any thread can see who holds it for deadlock detection.
 *
 * Cell words (see the world's layout table): STATE (0 free, owner tid, OWNER_DIED or ORPHANED), COUNT
 * (RLock depth, touched only by the owner), WAITERS (parked or about to park).
 *
 * Fast path: one compare-and-swap to acquire, one to release, and a load of WAITERS to decide
 * whether to notify. Contended path: spin, then park on STATE (src/internal/shm/wait.ts); before
 * the first untimed park the thread walks the wait-for graph (thread → lock → holder → the lock
 * that holder waits for → …): a walk that comes back to this thread would never end, and rejects
 * with `DeadlockError`. Timed waits end by themselves and are neither recorded nor reported. When
 * both threads of a cycle start waiting at the same moment, both may get the error (each sees the
 * other's record): a missed cycle of parked threads is impossible, two reports are possible.
 *
 * What a wait records, and what a walk passes through. Every untimed wait records the cell it
 * waits for in its thread's slot (WAITING_FOR: cell + 1 for a blocking wait, −(cell + 1) for an
 * async one). A thread blocked in a sync wait is parked: nothing else in it can release what it
 * holds. A thread that waits asynchronously is not blocked: its event loop runs its other tasks,
 * timers and callbacks, any of which may release a lock it holds. So a blocking waiter's walk
 * stops at a thread that waits asynchronously, and waits (task X of the main thread holds L2 and
 * releases it from a timer, task Y awaits L1, a worker holding L1 calls L2.acquireSync(): the
 * worker used to get a DeadlockError). An async waiter's walk passes through every kind, and it is
 * told when the walk comes back to its own thread: the cycle of waiters that a lock-ordering bug
 * in async worker code makes (each thread awaiting the other's lock) is reported, as before, to
 * code that can catch it without having parked its thread; the price is a possible report where
 * other code of a thread on the cycle would have released (pass a timeout to opt out). A
 * blocking waiter is told only of cycles of blocked threads, which are certain.
 *
 * Which task holds a lock, inside its thread: a thread is not one waiter when it waits
 * asynchronously. `asyncHolders` records the asyncio task (context) that took each lock held by
 * this thread with an async acquire made in a task. A Lock acquired again asynchronously by that
 * very task is a deadlock, reported; by any other code of the thread it waits, outside the walk
 * (the holder may release it). An RLock re-enters for the thread in blocking code (as Python's:
 * the thread is parked otherwise, so only its own nested code can ask), and in async code only for
 * the asyncio task that took it: any other async acquire by its thread waits for the release, as
 * for a Lock. Two async functions of one thread that both entered it would each be "inside" at
 * once, and a Condition.wait in one would release the other's hold (the Condition then ended
 * with the lock held for good). Async code outside any asyncio task cannot be told apart from
 * other such code, so there the thread is the owner, as in Python: it re-enters an RLock its
 * thread took outside any task (a thread target's nested `await rlock.run(…)` is the RLock
 * lesson itself, and it hung when only tasks could re-enter); concurrent users of one RLock in
 * one thread must be asyncio tasks to exclude each other.
 *
 * A thread that ends (owner-death.ts): an RLock it holds is marked OWNER_DIED (no other thread
 * may release it); a Lock is marked OWNER_DIED only when the thread ended abnormally (it threw,
 * exited with a non-zero code, or was killed). A thread that returns normally leaves a Lock held,
 * as in Python, where a Lock has no owner: marked ORPHANED, any thread may release it.
 */

import { cas, load, notify, store } from '../internal/atomics.js';
import { currentContext } from '../internal/context.js';
import { type DeadlockEdge, DeadlockError, describeCycle } from '../internal/errors.js';
import {
  AGAIN,
  type Attempt,
  type Parkable,
  waitAsync,
  waitSync,
  wakeSome,
} from '../internal/shm/wait.js';
import {
  allocCell,
  C_ASYNC_WAITERS,
  C_COUNT,
  C_STATE,
  C_WAITERS,
  CELL_WORDS,
  cellName,
  cellOffset,
  freeCell,
  markOwnerDied,
  ORPHANED,
  OWNER_DIED,
  ownSlot,
  selfTid,
  T_WAITING_FOR,
  threadName,
  worldBuffer,
  worldWords,
} from '../internal/shm/world.js';
import { OwnerDiedError, RuntimeError } from './errors.js';
import { type Recoverable, track } from './owner-death.js';

/** Bound on the wait-for walk: a chain longer than any real cycle of threads. */
const MAX_WALK = 1024;

/**
 * The asyncio task (context) that acquired each Lock or RLock held by this thread, when an async
 * acquire made in a task took it; keyed by the lock's STATE word (its world offset, or its own
 * buffer). Every acquire that takes the lock (not an RLock's re-entry) by this thread sets or
 * clears the entry and every release that frees it clears it, so an entry is current whenever
 * STATE reads this thread's tid; entries of locks another thread released are overwritten or
 * cleared when this thread next takes them.
 */
const asyncHolders = new Map<number | ArrayBufferLike, object>();

/**
 * How a lock crosses to another thread. A cell is an index into the world, so the world's buffer
 * travels with it: the memory the index names, and what a child process's channel refuses (as it
 * refuses every other threading primitive's buffer) instead of letting through an index into
 * memory the child does not have.
 */
export type LockState = { cell: number; world: SharedArrayBuffer } | { sab: SharedArrayBuffer };

/** Whether a lock's cell was ever handed to another thread (then it is never freed). */
interface CellToken {
  cell: number;
  escaped: boolean;
}
const cells = new FinalizationRegistry<CellToken>((t) => {
  if (!t.escaped) freeCell(t.cell);
});

export class LockCore implements Recoverable {
  readonly a: Int32Array;
  readonly st: number;
  readonly cell: number;

  constructor(
    readonly kind: 'Lock' | 'RLock',
    state?: LockState,
  ) {
    let cell =
      state === undefined ? allocCell(kind === 'Lock' ? 1 : 2) : 'cell' in state ? state.cell : -1;
    if (state !== undefined && 'sab' in state) {
      this.a = new Int32Array(state.sab);
      this.st = 0;
    } else if (cell >= 0) {
      // Every thread of a process has the same world; a view of it is kept per thread.
      this.a =
        state === undefined || state.world === worldBuffer()
          ? worldWords()
          : new Int32Array(state.world);
      this.st = cellOffset(cell);
    } else {
      // Out of world cells: private memory, outside deadlock detection.
      cell = -1;
      this.a = new Int32Array(new SharedArrayBuffer(CELL_WORDS * 4));
      this.st = 0;
    }
    this.cell = cell;
    if (state === undefined && cell >= 0) {
      this.token = { cell, escaped: false };
      cells.register(this, this.token);
    }
    track(this);
  }

  private readonly token: CellToken | null = null;

  /** The state another thread needs; from now on the cell is shared for good. */
  state(): LockState {
    if (this.token) this.token.escaped = true;
    return this.cell >= 0
      ? { cell: this.cell, world: this.a.buffer as SharedArrayBuffer }
      : { sab: this.a.buffer as SharedArrayBuffer };
  }

  get label(): string {
    return this.cell >= 0 ? cellName(this.cell) : `${this.kind} (untracked)`;
  }

  /** The holder's tid, 0 when free or when no thread holds it (OWNER_DIED, ORPHANED). */
  owner(): number {
    return noThread(load(this.a, this.st));
  }

  private get key(): number | ArrayBufferLike {
    return this.cell >= 0 ? this.st : this.a.buffer;
  }

  /** Records who in this thread took the lock: the current task for an async acquire, else none. */
  noteAcquired(task: object | null): void {
    if (task !== null) asyncHolders.set(this.key, task);
    else if (asyncHolders.size > 0) asyncHolders.delete(this.key);
  }

  /**
   * Whether an async acquire made by `task` re-enters this RLock when its thread holds it: the
   * task that took it, or, outside any task, code of a thread that took it outside any task.
   */
  private reentersAsync(task: object | null): boolean {
    if (this.kind !== 'RLock') return false;
    const holder = asyncHolders.get(this.key);
    return task !== null ? holder === task : holder === undefined;
  }

  /**
   * One attempt; `reenter`: an RLock held by this thread is entered again (see the notes).
   * Records `task` as the holder when it takes the lock. Throws OwnerDiedError once after a
   * holder died. (Defaults: a plain take, as a test's stand-in calls it.)
   */
  attempt(reenter = false, task: object | null = null): Attempt<true> {
    const s = cas(this.a, this.st, 0, selfTid);
    if (s === 0) {
      this.noteAcquired(task);
      return true;
    }
    if (s === selfTid && reenter) {
      this.a[this.st + C_COUNT] = this.a[this.st + C_COUNT]! + 1;
      return true;
    }
    if (s === OWNER_DIED && cas(this.a, this.st, OWNER_DIED, 0) === OWNER_DIED) {
      // Wake the others: the lock is free again and one of them may take it.
      notify(this.a, this.st);
      throw new OwnerDiedError(
        `Cannot acquire ${this.kind}: the thread holding it ended without releasing it; the ${this.kind} is free again`,
      );
    }
    return AGAIN;
  }

  /**
   * Condition's re-acquire: like `attempt`, but it takes a lock whose holder died instead of
   * freeing it, and answers true for that (a robust mutex's EOWNERDEAD comes with the mutex
   * held), false for an ordinary take. It never re-enters: the waiter gave up every level it held
   * before it waited, so a hold of its own thread now is another task's, which it must wait out
   * (taking a level of it, then setting the depth, overwrote that task's count).
   */
  private attemptRobust(task: object | null): Attempt<boolean> {
    const s = cas(this.a, this.st, 0, selfTid);
    if (s === 0) {
      this.noteAcquired(task);
      return false;
    }
    // markOwnerDied reset COUNT before it published OWNER_DIED: we start from depth 0.
    if (s === OWNER_DIED && cas(this.a, this.st, OWNER_DIED, selfTid) === OWNER_DIED) {
      this.noteAcquired(task);
      return true;
    }
    return AGAIN;
  }

  /**
   * `detect`: walk the wait-for graph before parking (an untimed wait). `sync`: the wait parks the
   * thread, and so is recorded for the others' walks. `reenter`: our own tid lets an attempt
   * through (an RLock's re-entry).
   */
  private parkable<T>(
    detect: boolean,
    sync: boolean,
    reenter: boolean,
    attempt: () => Attempt<T>,
  ): Parkable<T> {
    return {
      a: this.a,
      i: this.st,
      w: this.st + C_WAITERS,
      aw: this.st + C_ASYNC_WAITERS,
      attempt,
      // 0 and OWNER_DIED let an attempt through, and so does our own tid for a re-entry; any
      // other value (a tid, ORPHANED) is released by a store that notifies.
      blocks: reenter
        ? (v) => v !== 0 && v !== OWNER_DIED && v !== selfTid
        : (v) => v !== 0 && v !== OWNER_DIED,
      timedOut: () => false as T,
      beforePark: detect ? () => this.enterWait(sync) : undefined,
      afterWait: detect ? () => this.leaveWait(sync) : undefined,
    };
  }

  private selfDeadlock(): DeadlockError {
    return new DeadlockError(
      `${threadLabel(selfTid)} would wait for ever for ${this.label}, which it holds itself (a Lock is not reentrant: use an RLock)`,
      [{ waiter: threadLabel(selfTid), resource: this.label, holder: threadLabel(selfTid) }],
    );
  }

  /** The non-blocking attempt of the blocking API: an RLock re-enters for its thread. */
  tryAcquireSync(): boolean {
    return this.attempt(this.kind === 'RLock', null) === true;
  }

  /** The non-blocking attempt of the async API: an RLock re-enters for its task only. */
  tryAcquireAsync(): boolean {
    const task = currentContext();
    return this.attempt(this.reentersAsync(task), task) === true;
  }

  acquireSync(timeout: number | null, signal: AbortSignal | null): boolean {
    const detect = timeout === null;
    // The whole thread parks: nothing in it can release a Lock it holds.
    if (detect && this.kind === 'Lock' && load(this.a, this.st) === selfTid) {
      throw this.selfDeadlock();
    }
    const reenter = this.kind === 'RLock';
    return waitSync(
      this.parkable(detect, true, reenter, () => this.attempt(reenter, null)),
      timeout,
      signal,
    );
  }

  async acquireAsync(timeout: number | null, signal: AbortSignal | null): Promise<boolean> {
    let detect = timeout === null;
    const task = currentContext();
    const reenter = this.reentersAsync(task);
    if (detect && !reenter && load(this.a, this.st) === selfTid) {
      // Held by this thread: a deadlock only if by this very task (see the notes above); any
      // other task of the thread may release it, and the walk would stop at this thread at once.
      if (this.kind === 'Lock' && task !== null && asyncHolders.get(this.key) === task) {
        throw this.selfDeadlock();
      }
      detect = false;
    }
    return waitAsync(
      this.parkable(detect, false, reenter, () => this.attempt(reenter, task)),
      timeout,
      signal,
    );
  }

  /** Condition's untimed re-acquire; true when the previous holder died (the lock is ours). */
  reacquireSync(): boolean {
    return waitSync(
      this.parkable(true, true, false, () => this.attemptRobust(null)),
      null,
      null,
    );
  }

  async reacquireAsync(): Promise<boolean> {
    const task = currentContext();
    return waitAsync(
      this.parkable(true, false, false, () => this.attemptRobust(task)),
      null,
      null,
    );
  }

  release(): void {
    const s = load(this.a, this.st);
    if (this.kind === 'RLock') {
      if (s !== selfTid) {
        throw new RuntimeError(
          s === 0 || s === OWNER_DIED
            ? 'Cannot release RLock: it is not held'
            : `Cannot release RLock: it is held by ${threadLabel(s)}, not by ${threadLabel(selfTid)}`,
          'ERR_WEFT_LOCK_NOT_HELD',
        );
      }
      const depth = this.a[this.st + C_COUNT]!;
      if (depth > 0) {
        this.a[this.st + C_COUNT] = depth - 1;
        return;
      }
      if (asyncHolders.size > 0) asyncHolders.delete(this.key);
      store(this.a, this.st, 0);
    } else {
      // Python lets any thread release a Lock (ORPHANED included: its holder ended normally);
      // the CAS keeps a racing second release an error.
      if (s === 0 || s === OWNER_DIED || cas(this.a, this.st, s, 0) !== s) {
        throw new RuntimeError('Cannot release Lock: it is not held', 'ERR_WEFT_LOCK_NOT_HELD');
      }
      if (asyncHolders.size > 0) asyncHolders.delete(this.key);
    }
    // Read after the release: a waiter counts itself before it re-reads STATE (see wait.ts).
    if (load(this.a, this.st + C_WAITERS) > 0)
      wakeSome(this.a, this.st, this.st + C_ASYNC_WAITERS, 1);
  }

  /**
   * This thread is ending. `abnormal`: it threw, exited with a non-zero code, or is being torn
   * down; then what it holds is marked OWNER_DIED for the next acquirer. A normal end leaves a
   * Lock held, ORPHANED (Python: a Lock has no owner, and another thread may be meant to release
   * it); an RLock, which no other thread may release, is marked OWNER_DIED either way.
   */
  recoverFromDeath(abnormal: boolean): void {
    if (this.kind === 'Lock' && !abnormal) {
      // No waiter to wake: the lock stays held. A CAS: only if this thread holds it.
      cas(this.a, this.st, selfTid, ORPHANED);
      return;
    }
    markOwnerDied(this.a, this.st, selfTid);
  }

  /** What this wait publishes in the thread's WAITING_FOR: the cell + 1, negated for an async one. */
  private record(sync: boolean): number {
    return sync ? this.cell + 1 : -(this.cell + 1);
  }

  /** `sync`: a blocking wait (see the notes for what each kind of walk passes through). */
  private enterWait(sync: boolean): void {
    if (this.cell < 0) return;
    const w = worldWords();
    // A thread weft did not start (a plain Worker) has no slot: slotOf gives its home slot,
    // which may be another thread's, and writing there would make that thread look blocked.
    // Such a thread walks (it can still close a cycle itself) but records nothing.
    const own = ownSlot(selfTid);
    const mine = own < 0 ? -1 : own + T_WAITING_FOR;
    // Published before the walk: a thread closing the cycle at the same moment sees it (Dekker).
    if (mine >= 0) store(w, mine, this.record(sync));
    const edges: DeadlockEdge[] = [];
    let cell = this.cell;
    let holder = ownerOfCell(w, cell);
    let waiter = selfTid;
    for (let step = 0; step < MAX_WALK && holder !== 0; step++) {
      edges.push({
        waiter: threadLabel(waiter),
        resource: cellLabel(cell, this),
        holder: threadLabel(holder),
      });
      if (holder === selfTid) {
        // An async waiter's lock held by its own thread: another task of it may release it.
        if (step === 0 && !sync) return;
        if (mine >= 0) store(w, mine, 0);
        throw new DeadlockError(`Deadlock: ${describeCycle(edges)}`, edges);
      }
      const slot = ownSlot(holder);
      if (slot < 0) return;
      const next = load(w, slot + T_WAITING_FOR);
      if (next === 0) return;
      // A thread waiting asynchronously is not blocked: not a link of a blocking wait's cycle.
      if (next < 0 && sync) return;
      waiter = holder;
      cell = (next < 0 ? -next : next) - 1;
      holder = ownerOfCell(w, cell);
    }
  }

  private leaveWait(sync: boolean): void {
    if (this.cell < 0) return;
    const w = worldWords();
    const own = ownSlot(selfTid);
    if (own < 0) return;
    // Only our own record: another async wait of this thread may have replaced it.
    cas(w, own + T_WAITING_FOR, this.record(sync), 0);
  }

  /** Python's repr, a snapshot: `<locked weft.threading.RLock object RLock-2 owner=3 count=1>`. */
  describe(): string {
    const owner = this.owner();
    const state = this.locked() ? 'locked' : 'unlocked';
    const base = `<${state} weft.threading.${this.kind} object ${this.label}`;
    if (this.kind === 'Lock') return `${base}>`;
    // COUNT is written by the owner alone: from another thread a snapshot that may be stale.
    const count = owner === 0 ? 0 : this.a[this.st + C_COUNT]! + 1;
    return `${base} owner=${owner} count=${count}>`;
  }

  /** Snapshot: the lock may change hands right after. */
  locked(): boolean {
    const s = load(this.a, this.st);
    return s !== 0 && s !== OWNER_DIED;
  }

  isOwned(): boolean {
    return load(this.a, this.st) === selfTid;
  }

  /**
   * Whether this thread holds it for an asyncio task other than `task` (an async acquire made in
   * that task): the thread owns it, but code of `task` (or outside any task) does not.
   */
  heldByOtherTask(task: object | null): boolean {
    if (asyncHolders.size === 0) return false;
    const holder = asyncHolders.get(this.key);
    return holder !== undefined && holder !== task;
  }

  /** For Condition: give the lock up entirely, remembering the depth. */
  releaseAll(): number {
    const depth = this.kind === 'RLock' ? this.a[this.st + C_COUNT]! : 0;
    if (this.kind === 'RLock') this.a[this.st + C_COUNT] = 0;
    this.release();
    return depth;
  }

  restoreDepth(depth: number): void {
    if (this.kind === 'RLock') this.a[this.st + C_COUNT] = depth;
  }
}

/** A STATE word's holder thread: 0 when free or held by no thread (OWNER_DIED, ORPHANED). */
function noThread(s: number): number {
  return s === OWNER_DIED || s === ORPHANED ? 0 : s;
}

function ownerOfCell(w: Int32Array, cell: number): number {
  return noThread(load(w, cellOffset(cell) + C_STATE));
}

function cellLabel(cell: number, self: LockCore): string {
  return cell === self.cell ? self.label : cellName(cell);
}

export function threadLabel(tid: number): string {
  return `thread '${threadName(tid)}'`;
}
