/**
 * The engine of `Lock` and `RLock`: a lock word holding its owner's tid, in a cell of the world
 * (src/internal/shm/world.ts) so that any thread can see who holds it for deadlock detection.
 *
 * Cell words (see the world's layout table): STATE (0 free, owner tid, OWNER_DIED or ORPHANED), COUNT
 * (RLock depth, touched only by the owner), WAITERS (parked or about to park), TASK (the id of the
 * asyncio task of the owner's thread that took it, 0 for none).
 *
 * Fast path: one compare-and-swap to acquire, one to release, and a load of WAITERS to decide
 * whether to notify; an async acquire made in a task adds one store of TASK, and its release one
 * more (a load of TASK finds it set). Contended path: spin, then park on STATE (src/internal/shm/wait.ts); before
 * the first untimed park the thread walks the wait-for graph (thread → lock → holder → the lock
 * that holder waits for → …): a walk that comes back to this thread, when the wait would surely
 * never end, rejects with `DeadlockError`. Timed waits end by themselves and are neither recorded
 * nor reported. When both threads of a cycle start waiting at the same moment, both may get the
 * error (each sees the other's record): a missed cycle is impossible (of the waits a walk sees,
 * below), two reports are possible.
 *
 * What a wait records, and what a walk passes through. Every untimed wait records the cell it
 * waits for in its thread's slot (WAITING_FOR: cell + 1 for a blocking wait, −(cell + 1) for an
 * async one), and the id of the asyncio task that waits next to it (WAIT_TASK; 0 for none). A
 * thread blocked in a sync wait is parked: nothing else in it can release what it holds. A thread
 * that waits asynchronously is not blocked: its event loop runs its other tasks, timers and
 * callbacks, any of which may release a lock it holds. Every walk follows both kinds, but through
 * a thread that waits asynchronously only through the wait of the task the lock's TASK names:
 * the recorded wait when it is that task's (0 and 0: a lock taken, and a wait made, by blocking
 * code or outside any task), else that task's entry in the thread's task-wait table (below). By a
 * lock whose task awaits no lock the walk stops, unreported, for that task may release it, and a
 * first walk asks for re-walks (that task may wait later, or be left out of a full table: see
 * below). (Without this, task A1
 * holding L2 and task A2 of the same thread awaiting L1 made "a thread holding L2 waits for L1",
 * and a task taking L1 then L2 elsewhere was told of a cycle no lock order had.) What a walk does
 * when it comes back to its own thread:
 *
 * | walker   | comes back to itself…                                   | then                     |
 * |----------|---------------------------------------------------------|--------------------------|
 * | blocking | through blocked threads only                            | DeadlockError (certain)  |
 * | blocking | through a thread that waits asynchronously              | waits; asks for re-walks |
 * | async    | through a lock its thread holds for another asyncio task| goes on through that     |
 * |          |                                                         | task's wait, as through  |
 * |          |                                                         | another thread's; if it  |
 * |          |                                                         | awaits no lock (it may   |
 * |          |                                                         | release it): waits; asks |
 * |          |                                                         | for re-walks if it passed|
 * |          |                                                         | an async one             |
 * | async    | otherwise (the lock was taken by the waiting task, by   | DeadlockError            |
 * |          | blocking code or outside any task; async threads passed)|                          |
 *
 * So the worker of "task X of the main thread holds L2 and releases it from a timer, task Y
 * awaits L1, a worker holding L1 calls L2.acquireSync()" waits for the timer, and so does Y. An
 * async waiter's report past other async waiters is not certain (other code of theirs might have
 * released): the price of telling async worker code of its lock-ordering bug (each thread
 * awaiting the other's lock) without parking a thread; pass a timeout to opt out.
 *
 * Re-walks. A cycle is closed by the wait that comes last, and only the waits on it can be told;
 * an async waiter walked once, before the last one was recorded. So a first walk that closed a
 * cycle without reporting it, and passed a thread that waits asynchronously, asks every thread's
 * untimed async lock waits to walk again (the REWALK word of the world's header; `watch` below):
 * each re-walk sees the whole cycle and decides by the table above, from its own thread. A
 * re-walk that finds it wakes its wait, which, if it must park again (the lock still held), walks
 * once more and rejects only if the cycle is still there (`recheck`: code that can release may
 * have broken it since); a re-walk asks for nothing, so no two waiters keep waking each other. The
 * request costs a contended wait one add and one notify, and each async wait one walk; a thread
 * without watched waits pays nothing; an uncontended acquire or release does not change.
 *
 * Several waits of one thread. WAITING_FOR records one wait, the latest; each untimed async wait
 * made in an asyncio task also claims an entry (its task id and record) in its thread's task-wait
 * table (TASK_WAIT_CAP entries, world.ts), so a walk that reaches the thread by a lock of task t
 * finds t's wait even when a later wait of another task is the recorded one (`findTaskWait`; a
 * scan of the table, on the contended path only). The contended path pays for it: a wait's start
 * a scan for a free entry and two stores, its end two stores; a walk through such a thread one
 * scan. A wait made outside any task gets no entry (it is "the thread": the record alone shows
 * it, as before). A wait that finds the table full has none either: walks see it only while it
 * is the recorded one, never wrongly (a walk that cannot see a task's wait stops, unreported).
 * Its own walks and re-walks still see the rest of a cycle, so a cycle is missed only while two
 * or more of its waits are left out; when an entry frees, the latest watched wait left out takes
 * it and asks for re-walks (`leaveEntry`). When the recorded wait ends, the latest of the others
 * still watched takes its place, its task id with it (`publish`: a walk never pairs a record with
 * another wait's task), and every watched wait walks again (`leaveWait`).
 *
 * Which task holds a lock, inside its thread: a thread is not one waiter when it waits
 * asynchronously. TASK records the asyncio task (context, by its id: `idOf`) that took the lock
 * with an async acquire made in a task; it is written just after the take and cleared before
 * STATE is given up, so it is current whenever STATE names a thread (a walk that reads STATE in
 * the instant between a take and its TASK store sees 0: the thread's own). A Lock acquired again
 * asynchronously by that
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
 * one thread must be asyncio tasks to exclude each other. The same for cycle reports: a lock its
 * thread took outside any task (or with blocking code) is the thread's own, so an async waiter
 * whose walk comes back to its thread through it is told (the table above), although a timer of
 * the thread might have released it; only a direct async re-acquire of it by other code of the
 * thread waits (that code may be the releaser). A timeout, or taking the locks in asyncio tasks,
 * opts out ("two thread targets, each awaiting the other's lock" stays reported, in either order).
 *
 * A thread that ends (owner-death.ts): an RLock it holds is marked OWNER_DIED (no other thread
 * may release it); a Lock is marked OWNER_DIED only when the thread ended abnormally (it threw,
 * exited with a non-zero code, or was killed). A thread that returns normally leaves a Lock held,
 * as in Python, where a Lock has no owner: marked ORPHANED, any thread may release it.
 */

import { add, cas, load, notify, store, watchAsync } from '../internal/atomics.js';
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
  C_TASK,
  C_WAITERS,
  CELL_WORDS,
  cellName,
  cellOffset,
  freeCell,
  H_REWALK,
  markOwnerDied,
  nextTaskId,
  ORPHANED,
  OWNER_DIED,
  ownSlot,
  selfTid,
  T_WAIT_TASK,
  T_WAITING_FOR,
  TASK_WAIT_CAP,
  TW_RECORD,
  TW_TASK,
  TW_WORDS,
  taskWaitsOf,
  threadName,
  worldBuffer,
  worldWords,
} from '../internal/shm/world.js';
import { OwnerDiedError, RuntimeError } from './errors.js';
import { type Recoverable, track } from './owner-death.js';

/** Bound on the wait-for walk: a chain longer than any real cycle of threads. */
const MAX_WALK = 1024;

/**
 * Each asyncio task (context) of this thread that takes or waits for a lock gets an id, given on
 * first use: what the lock's TASK word and the thread slot's WAIT_TASK word hold, so that any
 * thread can tell which task of a thread holds a lock and which one waits. 0 is no task (blocking
 * code, or code outside any task). Unique in the process (the world's counter), so a TASK word
 * read a moment late, still naming a task of the previous holder, never matches a task of the
 * next one; after 2^31 − 1 of them they start again at 1.
 */
const taskIds = new WeakMap<object, number>();

function idOf(task: object | null): number {
  if (task === null) return 0;
  let id = taskIds.get(task);
  if (id === undefined) {
    id = nextTaskId();
    taskIds.set(task, id);
  }
  return id;
}

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

  /**
   * Records who in this thread took the lock: the current task for an async acquire, else none
   * (TASK is already 0: every release clears it). Called right after the take.
   */
  noteAcquired(task: object | null): void {
    if (task !== null) store(this.a, this.st + C_TASK, idOf(task));
  }

  /** The id of the task of this thread that holds it (0: none), when this thread holds it. */
  private holderTask(): number {
    return load(this.a, this.st + C_TASK);
  }

  /**
   * Whether an async acquire made by `task` re-enters this RLock when its thread holds it: the
   * task that took it, or, outside any task, code of a thread that took it outside any task.
   */
  private reentersAsync(task: object | null): boolean {
    if (this.kind !== 'RLock') return false;
    return this.holderTask() === idOf(task);
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
    task: object | null = null,
  ): Parkable<T> {
    // An async wait that walks the graph is watched for re-walks from its first park on.
    let watched: Watched | null = null;
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
      beforePark: detect
        ? () => {
            watched = this.enterWait(sync, task);
          }
        : undefined,
      // A re-walk found a cycle while this wait was parked; told only if it must park again
      // and the cycle is still there (code that can release may have broken it since).
      beforeRepark:
        detect && !sync
          ? () => {
              if (watched !== null) recheck(watched);
            }
          : undefined,
      afterWait: detect ? () => this.leaveWait(sync, watched, task) : undefined,
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
    // The uncontended take, before a wait is set up (waitSync would make the same attempt).
    if (signal?.aborted !== true) {
      const r = this.attempt(reenter, null);
      if (r !== AGAIN) return r;
    }
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
      if (this.kind === 'Lock' && task !== null && this.holderTask() === idOf(task)) {
        throw this.selfDeadlock();
      }
      detect = false;
    }
    if (signal?.aborted !== true) {
      const r = this.attempt(reenter, task);
      if (r !== AGAIN) return r;
    }
    return waitAsync(
      this.parkable(detect, false, reenter, () => this.attempt(reenter, task), task),
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
      this.parkable(true, false, false, () => this.attemptRobust(task), task),
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
      const task = this.holderTask();
      store(this.a, this.st, 0);
      this.clearHolderTask(task);
    } else {
      // Python lets any thread release a Lock (ORPHANED included: its holder ended normally);
      // the CAS keeps a racing second release an error.
      const task = this.holderTask();
      if (s === 0 || s === OWNER_DIED || cas(this.a, this.st, s, 0) !== s) {
        throw new RuntimeError('Cannot release Lock: it is not held', 'ERR_WEFT_LOCK_NOT_HELD');
      }
      this.clearHolderTask(task);
    }
    // Read after the release: a waiter counts itself before it re-reads STATE (see wait.ts).
    if (load(this.a, this.st + C_WAITERS) > 0)
      wakeSome(this.a, this.st, this.st + C_ASYNC_WAITERS, 1);
  }

  /**
   * Just after STATE is given up (by any thread: a Lock may be released by another), clears
   * TASK, read before, unless a new holder has written its own since (a cas). Cleared after, not
   * before: a walk that reads TASK, STATE, TASK never pairs this thread with no task while the
   * holder was a task (`readCell`); a new holder's blocking take meanwhile sees a task id of no
   * thread of its own (ids are unique). A lock taken by blocking code or outside any task (TASK
   * 0) pays nothing more than the load.
   */
  private clearHolderTask(task: number): void {
    if (task !== 0) cas(this.a, this.st + C_TASK, task, 0);
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
  record(sync: boolean): number {
    return sync ? this.cell + 1 : -(this.cell + 1);
  }

  /**
   * Publishes this wait and walks the graph (see the notes); throws DeadlockError for a cycle it
   * is sure of. An async wait is then watched (`Watched`), and is returned to be given back.
   */
  private enterWait(sync: boolean, task: object | null): Watched | null {
    if (this.cell < 0) return null;
    const w = worldWords();
    // A thread weft did not start (a plain Worker) has no slot: slotOf gives its home slot,
    // which may be another thread's, and writing there would make that thread look blocked.
    // Such a thread walks (it can still close a cycle itself) but records nothing.
    const own = ownSlot(selfTid);
    const id = idOf(task);
    // Read before the walk: a re-walk request made after this read is seen (see `watch`).
    const walkedAt = load(w, H_REWALK);
    // Published before the walk: a thread closing the cycle at the same moment sees it (Dekker).
    // An async wait of a task also gets its own entry in the thread's task-wait table, which
    // a later wait of the thread does not hide (-1: none, the table is full or no task waits).
    let entry = -1;
    if (own >= 0) {
      if (!sync && id !== 0) entry = claimEntry(w, own, this.record(false), id);
      publish(w, own, this.record(sync), id);
    }
    const found = walk(this, sync, id, true);
    if (found !== null) {
      dropEntry(w, entry);
      throw found;
    }
    // Nobody else's walk can reach a thread without a record: it has nothing to re-walk for.
    if (sync || own < 0) return null;
    const watched: Watched = { core: this, task: id, walkedAt, error: null, slot: own, entry };
    watch(watched);
    if (entry < 0 && id !== 0) unrecorded++;
    if (watched.error !== null) {
      // Unwatched first: its own entry must not come back to it as an heir.
      unwatch(watched);
      leaveEntry(watched);
      throw watched.error;
    }
    return watched;
  }

  /**
   * Takes this wait's record back. Only our own record: a later wait of this thread may have
   * replaced it. When other watched waits of the thread remain (its tasks each awaiting a lock),
   * the latest of them takes its place, so that the others' walks still see that the thread
   * waits; a walk that looked before this store saw another record (or none) and may have
   * stopped short of a cycle through that wait, so every watched wait walks again (a request
   * made after the store: each re-walk sees the new record, see `watch`).
   */
  private leaveWait(sync: boolean, watched: Watched | null, task: object | null): void {
    if (watched !== null) {
      unwatch(watched);
      leaveEntry(watched);
    }
    if (this.cell < 0) return;
    const w = worldWords();
    const own = ownSlot(selfTid);
    if (own < 0) return;
    // This thread alone writes its slot: what it reads there is what it wrote last.
    const mine = this.record(sync);
    const id = idOf(task);
    if (load(w, own + T_WAITING_FOR) !== mine || load(w, own + T_WAIT_TASK) !== id) {
      return;
    }
    const heir = latestWatched();
    if (heir === null) {
      store(w, own + T_WAITING_FOR, 0);
      return;
    }
    // The heir's task goes with its record: a walk must not pair it with this wait's task.
    const next = heir.core.record(false);
    publish(w, own, next, heir.task);
    if (next !== mine || heir.task !== id) requestRewalk(w);
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
    const holder = this.holderTask();
    return holder !== 0 && holder !== idOf(task);
  }

  /** An RLock's depth beyond its first level as this thread holds it (0 for a Lock). */
  depth(): number {
    return this.kind === 'RLock' ? this.a[this.st + C_COUNT]! : 0;
  }

  /**
   * Whether this thread still holds the level an acquire by `task` took at `depth` (`depth()`
   * right after it): the lock names this thread, not for another asyncio task of it, and an
   * RLock is at least that deep.
   */
  holdsLevel(task: object | null, depth: number): boolean {
    return this.isOwned() && !this.heldByOtherTask(task) && this.depth() >= depth;
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

/**
 * Publishes a wait in this thread's slot `own`: its record and its task's id. WAITING_FOR goes to
 * 0 first, so a walk that reads WAITING_FOR, WAIT_TASK, WAITING_FOR and sees one value twice has
 * a task id that goes with that record (`readWait`).
 */
function publish(w: Int32Array, own: number, record: number, id: number): void {
  if (load(w, own + T_WAITING_FOR) !== 0) store(w, own + T_WAITING_FOR, 0);
  store(w, own + T_WAIT_TASK, id);
  store(w, own + T_WAITING_FOR, record);
}

/** Bound on re-reads of a thread's wait while it changes under the walk. */
const MAX_REREAD = 8;

/**
 * A wait a thread records (WAITING_FOR at `recAt` and WAIT_TASK at `taskAt` of its slot, or an
 * entry of its task-wait table), as [record, task id] in `out`: record 0 when none (or when it
 * kept changing: the walk stops there, as if it had read it a moment later).
 */
function readWait(w: Int32Array, recAt: number, taskAt: number, out: [number, number]): void {
  for (let k = 0; k < MAX_REREAD; k++) {
    const rec = load(w, recAt);
    if (rec === 0) break;
    const id = load(w, taskAt);
    if (load(w, recAt) === rec) {
      out[0] = rec;
      out[1] = id;
      return;
    }
  }
  out[0] = 0;
  out[1] = 0;
}

/**
 * One walk of the wait-for graph from `core`'s cell, for a wait of this thread (`sync`: blocking;
 * `task`: the id of the asyncio task of an async one, 0 for none). The DeadlockError of a cycle it
 * is sure of, or null.
 * `first`: the walk made before the first park, which asks the others to walk again when it
 * closed a cycle through a thread waiting asynchronously without being sure of it (see the
 * notes); a re-walk asks nothing, so that two async waiters cannot keep waking each other.
 */
function walk(core: LockCore, sync: boolean, task: number, first: boolean): DeadlockError | null {
  for (let k = 0; k < MAX_CONFIRM; k++) {
    const found = walkOnce(core, sync, task, first && k === 0);
    if (found !== STALE) return found;
  }
  return null;
}

/** Walks before a report is given up on, when each one's reads changed under it. */
const MAX_CONFIRM = 3;
/** `walkOnce`: a cycle found, but what it read has changed since (walk again). */
const STALE = 'stale';

/**
 * One pass of `walk`. Before it reports, it reads every word it went by again and gives STALE
 * if any changed: a cycle made of reads of different moments (a lock read in the instant between
 * a take and its TASK store, a wait that has just ended) is not told; a real one stays put.
 */
function walkOnce(
  core: LockCore,
  sync: boolean,
  task: number,
  first: boolean,
): DeadlockError | null | typeof STALE {
  const w = worldWords();
  // (waiter, cell, holder) per hop; names are looked up only for a report.
  const hops: number[] = [];
  // What it read, to read again before a report: (cell, −1, holder, task) for a lock, and
  // (where its record is, where its task id is, record, task) for a thread's wait.
  const reads: number[] = [];
  // (thread, task) of each wait the walk went through.
  const followed: number[] = [];
  const wait: [number, number] = [0, 0];
  const held: [number, number] = [0, 0];
  let cell = core.cell;
  readCell(w, cell, held);
  reads.push(cell, -1, held[0], held[1]);
  let holder = held[0];
  // The task of `holder` that took `cell` (0: none).
  let holderTask = held[1];
  let waiter = selfTid;
  let throughAsync = false;
  for (let step = 0; step < MAX_WALK && holder !== 0; step++) {
    hops.push(waiter, cell, holder);
    if (holder === selfTid) {
      // An async waiter's lock held by its own thread: another task of it may release it.
      if (step === 0 && !sync) return null;
      // Sure: a blocked thread met only blocked threads; an async waiter, unless the lock that
      // closes the cycle was taken by another asyncio task of its thread (that task may release
      // it). Threads waiting asynchronously on the way are passed through (the notes' price).
      const sure = sync ? !throughAsync : holderTask === 0 || holderTask === task;
      if (sure) return unchanged(w, reads) ? cycleError(hops, core) : STALE;
      if (sync) {
        if (first && throughAsync) requestRewalk(w);
        return null;
      }
      // Another task of this thread holds it: the walk goes on through that task's wait, as
      // through any thread's (below); if that task awaits no lock, it may release this one.
    }
    const slot = ownSlot(holder);
    if (slot < 0) return null;
    let recAt = slot + T_WAITING_FOR;
    let taskAt = slot + T_WAIT_TASK;
    readWait(w, recAt, taskAt, wait);
    let next = wait[0];
    if (next <= 0 && (next === 0 || holderTask !== wait[1])) {
      // A thread waiting asynchronously goes on only through the wait of the task that holds
      // the lock the walk came by (a lock taken by blocking code or outside any task, through a
      // wait made outside any task); any other of its tasks may release that lock. Not "no
      // task" for any wait: TASK reads 0 in the instant between a task's take and its TASK
      // store, and a thread preempted there keeps it so for a while. The thread's record is its
      // latest wait; the holding task's own, if it waits too, is in the thread's task-wait table.
      const at = holderTask === 0 ? -1 : findTaskWait(w, slot, holderTask, wait);
      if (at < 0) {
        // That task waits for no lock (it may release this one), or its wait found the table
        // full: its watched wait walks again, and sees this one.
        if (first && (holder === selfTid ? throughAsync : next !== 0)) requestRewalk(w);
        return null;
      }
      next = wait[0];
      recAt = at + TW_RECORD;
      taskAt = at + TW_TASK;
    }
    // A wait followed before: a cycle that does not pass through this wait (its own walks see
    // it). By thread and task: a cycle may pass through two tasks of one thread.
    for (let k = 0; k < followed.length; k += 2) {
      if (followed[k] === holder && followed[k + 1] === wait[1]) return null;
    }
    followed.push(holder, wait[1]);
    reads.push(recAt, taskAt, wait[0], wait[1]);
    if (next < 0) throughAsync = true;
    waiter = holder;
    cell = (next < 0 ? -next : next) - 1;
    readCell(w, cell, held);
    reads.push(cell, -1, held[0], held[1]);
    holder = held[0];
    holderTask = held[1];
  }
  return null;
}

/** Whether every lock and wait a walk read (`reads`, see `walkOnce`) reads the same again. */
function unchanged(w: Int32Array, reads: number[]): boolean {
  const pair: [number, number] = [0, 0];
  for (let k = 0; k < reads.length; k += 4) {
    const at = reads[k]!;
    const taskAt = reads[k + 1]!;
    if (taskAt < 0) readCell(w, at, pair);
    else readWait(w, at, taskAt, pair);
    if (pair[0] !== reads[k + 2] || pair[1] !== reads[k + 3]) return false;
  }
  return true;
}

/**
 * This thread's untimed async wait of task `id` for the lock whose record is `record`: an entry
 * of the task-wait table of its slot `own` (claimed TASK first, then RECORD: see `readWait`), or
 * -1 when all TASK_WAIT_CAP are taken (its wait is then seen only while it is the thread's
 * latest: `leaveEntry` hands it an entry that frees). This thread alone writes its table: a free
 * entry (TASK 0) read here stays free until this store.
 */
function claimEntry(w: Int32Array, own: number, record: number, id: number): number {
  const base = taskWaitsOf(own);
  for (let k = 0; k < TASK_WAIT_CAP; k++) {
    const at = base + k * TW_WORDS;
    if (load(w, at + TW_TASK) !== 0) continue;
    store(w, at + TW_TASK, id);
    store(w, at + TW_RECORD, record);
    return at;
  }
  return -1;
}

/** Frees a task-wait entry (RECORD first: see `readWait`); nothing for -1. */
function dropEntry(w: Int32Array, at: number): void {
  if (at < 0) return;
  store(w, at + TW_RECORD, 0);
  store(w, at + TW_TASK, 0);
}

/**
 * Task `task`'s wait in the task-wait table of slot `slot`, as [record, task] in `out`: where its
 * entry is, or -1 when the task has none (it waits for no lock, or its wait found the table full).
 */
function findTaskWait(w: Int32Array, slot: number, task: number, out: [number, number]): number {
  const base = taskWaitsOf(slot);
  for (let k = 0; k < TASK_WAIT_CAP; k++) {
    const at = base + k * TW_WORDS;
    if (load(w, at + TW_TASK) !== task) continue;
    readWait(w, at + TW_RECORD, at + TW_TASK, out);
    if (out[0] !== 0 && out[1] === task) return at;
  }
  return -1;
}

/**
 * This thread's watched waits of a task that found the task-wait table full (they have no entry);
 * while there are none, a wait's end looks for no heir to its entry.
 */
let unrecorded = 0;

/**
 * A watched wait ends (or is told of a cycle before it parks): its entry is freed, and given to
 * the latest watched wait of a task that has none, which then asks for re-walks (a walk that met
 * its task holding a lock stopped short). Only while the slot is still this thread's.
 */
function leaveEntry(x: Watched): void {
  const w = worldWords();
  if (x.entry < 0) {
    if (x.task !== 0) unrecorded--;
    return;
  }
  const at = x.entry;
  x.entry = -1;
  if (ownSlot(selfTid) !== x.slot) return;
  dropEntry(w, at);
  if (unrecorded === 0) return;
  let heir: Watched | null = null;
  for (const y of watchedWaits) if (y.entry < 0 && y.task !== 0 && y.error === null) heir = y;
  if (heir === null) return;
  heir.entry = claimEntry(w, heir.slot, heir.core.record(false), heir.task);
  if (heir.entry < 0) return;
  unrecorded--;
  requestRewalk(w);
}

function cycleError(hops: number[], core: LockCore): DeadlockError {
  const edges: DeadlockEdge[] = [];
  for (let k = 0; k < hops.length; k += 3) {
    edges.push({
      waiter: threadLabel(hops[k]!),
      resource: cellLabel(hops[k + 1]!, core),
      holder: threadLabel(hops[k + 2]!),
    });
  }
  return new DeadlockError(`Deadlock: ${describeCycle(edges)}`, edges);
}

/**
 * Lock `cell`'s holder thread and the id of its task that took it (0: none), as [tid, task] in
 * `out`; tid 0 when free or held by no thread, or when it kept changing under the reads (the walk
 * stops there, as if it had read a moment later). TASK, STATE, TASK: a take writes STATE then
 * TASK, a release gives STATE up then clears TASK, so equal reads of TASK around STATE go with
 * it — but for the instant between a take and its TASK store, read as no task.
 */
function readCell(w: Int32Array, cell: number, out: [number, number]): void {
  const at = cellOffset(cell);
  for (let k = 0; k < MAX_REREAD; k++) {
    const task = load(w, at + C_TASK);
    const s = load(w, at + C_STATE);
    if (load(w, at + C_TASK) === task) {
      out[0] = noThread(s);
      out[1] = task;
      return;
    }
  }
  out[0] = 0;
  out[1] = 0;
}

/** Asks every thread's watched async waits to walk again (H_REWALK: see `watch`). */
function requestRewalk(w: Int32Array): void {
  add(w, H_REWALK, 1);
  notify(w, H_REWALK);
}

/**
 * An untimed async wait of this thread, parked or about to park, that walks again when asked.
 * `walkedAt`: H_REWALK as read before its last walk; `error`: the cycle a re-walk found, thrown
 * by the wait itself when it wakes and must park again.
 */
interface Watched {
  core: LockCore;
  /** The waiting task's id (0: none). */
  task: number;
  walkedAt: number;
  error: DeadlockError | null;
  /** Its thread's slot, and its entry in the slot's task-wait table (-1: none). */
  slot: number;
  entry: number;
}

/**
 * This thread's watched waits and its one watcher of H_REWALK. Why no request is missed: a
 * request moves H_REWALK on, then notifies; the watcher reads H_REWALK (v), re-walks every wait
 * that last walked before another value, then parks on v, and does it again when woken or when
 * the park finds H_REWALK moved. A request made after a wait's read either shows in the
 * watcher's next read, or wakes (or refuses) its park. The requester published its own record
 * before it walked, so a re-walk made after the request sees it. The watcher does not keep the
 * event loop alive (the waits' own parks do), and is left parked when no wait is watched: at
 * most one registration per thread.
 */
const watchedWaits = new Set<Watched>();
let watcherParked = false;

function watch(x: Watched): void {
  watchedWaits.add(x);
  // A parked watcher will look at it (its value was read before this wait's read, or equals it).
  if (!watcherParked) runWatcher();
  else if (load(worldWords(), H_REWALK) !== x.walkedAt) rewalk(x, load(worldWords(), H_REWALK));
}

function unwatch(x: Watched): void {
  watchedWaits.delete(x);
}

function runWatcher(): void {
  const w = worldWords();
  for (;;) {
    const v = load(w, H_REWALK);
    for (const x of watchedWaits) if (x.walkedAt !== v) rewalk(x, v);
    if (watchedWaits.size === 0) return;
    const r = watchAsync(w, H_REWALK, v);
    if (typeof r === 'string') continue;
    watcherParked = true;
    void r.then(() => {
      watcherParked = false;
      if (watchedWaits.size > 0) runWatcher();
    });
    return;
  }
}

/** The latest watched wait of this thread not told of a cycle yet (its record is published). */
function latestWatched(): Watched | null {
  let latest: Watched | null = null;
  // A Set iterates in insertion order: the last one is the latest wait.
  for (const x of watchedWaits) if (x.error === null) latest = x;
  return latest;
}

/**
 * A wait a re-walk told of a cycle must park again: it walks once more first, and is told only
 * if the cycle is still there (a lock on it may have been released since, by code that could).
 */
function recheck(x: Watched): void {
  if (x.error === null) return;
  x.walkedAt = load(worldWords(), H_REWALK);
  x.error = walk(x.core, false, x.task, false);
  if (x.error !== null) throw x.error;
}

function rewalk(x: Watched, v: number): void {
  x.walkedAt = v;
  if (x.error !== null) return;
  const found = walk(x.core, false, x.task, false);
  if (found === null) return;
  x.error = found;
  // Wake the wait (all of the lock's waiters: one cannot be picked); the others park again.
  notify(x.core.a, x.core.st);
}

function cellLabel(cell: number, self: LockCore): string {
  return cell === self.cell ? self.label : cellName(cell);
}

export function threadLabel(tid: number): string {
  return `thread '${threadName(tid)}'`;
}
