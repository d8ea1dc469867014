/**
 * The engine of `Lock` and `RLock`: a lock word holding its owner's tid, in a cell of the world
 * (src/internal/shm/world.ts) so that any thread can see who holds it for deadlock detection.
 *
 * Cell words (see the world's layout table): STATE (0 free, owner tid, or OWNER_DIED), COUNT
 * (RLock depth, touched only by the owner), WAITERS (parked or about to park).
 *
 * Fast path: one compare-and-swap to acquire, one to release, and a load of WAITERS to decide
 * whether to notify. Contended path: spin, then park on STATE (src/internal/shm/wait.ts); before
 * the first untimed park the thread records the cell it waits for and walks the wait-for graph
 * (thread → lock → holder → the lock that holder waits for → …): a walk that comes back to this
 * thread would never end, and rejects with `DeadlockError`. Timed waits end by themselves and are
 * neither recorded nor reported. When both threads of a cycle start waiting at the same moment,
 * both may get the error (each sees the other's record): a false "no" is impossible, two reports
 * are possible.
 *
 * A thread is not one waiter when it waits asynchronously: while one of its async tasks waits for
 * a Lock that another task of the same thread holds, that other task may still release it. So an
 * async acquire of a Lock held by its own thread is reported only when the holder is known to be
 * the very task that waits (recorded per thread in `asyncHolders` on every acquire by this thread);
 * otherwise it waits, outside the walk. A sync acquire by the holding thread is always reported:
 * its thread is parked, so none of its tasks can release.
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
  OWNER_DIED,
  ownSlot,
  selfTid,
  T_WAITING_FOR,
  threadName,
  worldWords,
} from '../internal/shm/world.js';
import { OwnerDiedError, RuntimeError } from './errors.js';
import { type Recoverable, track } from './owner-death.js';

/** Bound on the wait-for walk: a chain longer than any real cycle of threads. */
const MAX_WALK = 1024;

/**
 * The asyncio task (context) that acquired each Lock held by this thread, when an async acquire
 * made in a task took it; keyed by the lock's STATE word (its world offset, or its own buffer).
 * Every acquire by this thread sets or clears the entry and every release by it clears it, so an
 * entry is current whenever STATE reads this thread's tid; entries of locks another thread
 * released are overwritten or cleared when this thread next takes them.
 */
const asyncHolders = new Map<number | ArrayBufferLike, object>();

export type LockState = { cell: number } | { sab: SharedArrayBuffer };

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
      this.a = worldWords();
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
    return this.cell >= 0 ? { cell: this.cell } : { sab: this.a.buffer as SharedArrayBuffer };
  }

  get label(): string {
    return this.cell >= 0 ? cellName(this.cell) : `${this.kind} (untracked)`;
  }

  owner(): number {
    const s = load(this.a, this.st);
    return s === OWNER_DIED ? 0 : s;
  }

  private get key(): number | ArrayBufferLike {
    return this.cell >= 0 ? this.st : this.a.buffer;
  }

  /** Records who in this thread took the lock: the current task for an async acquire, else none. */
  noteAcquired(task: object | null): void {
    if (this.kind !== 'Lock') return;
    if (task !== null) asyncHolders.set(this.key, task);
    else if (asyncHolders.size > 0) asyncHolders.delete(this.key);
  }

  /** One attempt; throws OwnerDiedError once after a holder died. */
  attempt(): Attempt<true> {
    const s = cas(this.a, this.st, 0, selfTid);
    if (s === 0) return true;
    if (s === selfTid && this.kind === 'RLock') {
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
   * held), false for an ordinary take.
   */
  private attemptRobust(): Attempt<boolean> {
    const s = cas(this.a, this.st, 0, selfTid);
    if (s === 0) return false;
    if (s === selfTid && this.kind === 'RLock') {
      this.a[this.st + C_COUNT] = this.a[this.st + C_COUNT]! + 1;
      return false;
    }
    // markOwnerDied reset COUNT before it published OWNER_DIED: we start from depth 0.
    if (s === OWNER_DIED && cas(this.a, this.st, OWNER_DIED, selfTid) === OWNER_DIED) return true;
    return AGAIN;
  }

  private parkable<T>(detect: boolean, attempt: () => Attempt<T>): Parkable<T> {
    return {
      a: this.a,
      i: this.st,
      w: this.st + C_WAITERS,
      aw: this.st + C_ASYNC_WAITERS,
      attempt,
      // 0 and OWNER_DIED let an attempt through, and so does our own tid for an RLock.
      blocks:
        this.kind === 'RLock'
          ? (v) => v !== 0 && v !== OWNER_DIED && v !== selfTid
          : (v) => v !== 0 && v !== OWNER_DIED,
      timedOut: () => false as T,
      beforePark: detect ? () => this.enterWait() : undefined,
      afterWait: detect ? () => this.leaveWait() : undefined,
    };
  }

  private selfDeadlock(): DeadlockError {
    return new DeadlockError(
      `${threadLabel(selfTid)} would wait for ever for ${this.label}, which it holds itself (a Lock is not reentrant: use an RLock)`,
      [{ waiter: threadLabel(selfTid), resource: this.label, holder: threadLabel(selfTid) }],
    );
  }

  acquireSync(timeout: number | null, signal: AbortSignal | null): boolean {
    const detect = timeout === null;
    // The whole thread parks: nothing in it can release a Lock it holds.
    if (detect && this.kind === 'Lock' && load(this.a, this.st) === selfTid) {
      throw this.selfDeadlock();
    }
    const got = waitSync(
      this.parkable(detect, () => this.attempt()),
      timeout,
      signal,
    );
    if (got) this.noteAcquired(null);
    return got;
  }

  async acquireAsync(timeout: number | null, signal: AbortSignal | null): Promise<boolean> {
    let detect = timeout === null;
    const task = currentContext();
    if (detect && this.kind === 'Lock' && load(this.a, this.st) === selfTid) {
      // Held by this thread: a deadlock only if by this very task (see the notes above); any
      // other task of the thread may release it, and the walk would stop at this thread at once.
      if (task !== null && asyncHolders.get(this.key) === task) throw this.selfDeadlock();
      detect = false;
    }
    const got = await waitAsync(
      this.parkable(detect, () => this.attempt()),
      timeout,
      signal,
    );
    if (got) this.noteAcquired(task);
    return got;
  }

  /** Condition's untimed re-acquire; true when the previous holder died (the lock is ours). */
  reacquireSync(): boolean {
    return waitSync(
      this.parkable(true, () => this.attemptRobust()),
      null,
      null,
    );
  }

  async reacquireAsync(): Promise<boolean> {
    const task = currentContext();
    const died = await waitAsync(
      this.parkable(true, () => this.attemptRobust()),
      null,
      null,
    );
    this.noteAcquired(task);
    return died;
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
      store(this.a, this.st, 0);
    } else {
      // Python lets any thread release a Lock; the CAS keeps a racing second release an error.
      if (s === 0 || s === OWNER_DIED || cas(this.a, this.st, s, 0) !== s) {
        throw new RuntimeError('Cannot release Lock: it is not held', 'ERR_WEFT_LOCK_NOT_HELD');
      }
      if (asyncHolders.size > 0) asyncHolders.delete(this.key);
    }
    // Read after the release: a waiter counts itself before it re-reads STATE (see wait.ts).
    if (load(this.a, this.st + C_WAITERS) > 0)
      wakeSome(this.a, this.st, this.st + C_ASYNC_WAITERS, 1);
  }

  recoverFromDeath(): void {
    markOwnerDied(this.a, this.st, selfTid);
  }

  private enterWait(): void {
    if (this.cell < 0) return;
    const w = worldWords();
    // A thread weft did not start (a plain Worker) has no slot: slotOf gives its home slot,
    // which may be another thread's, and writing there would make that thread look blocked.
    // Such a thread walks (it can still close a cycle itself) but records nothing.
    const own = ownSlot(selfTid);
    const mine = own < 0 ? -1 : own + T_WAITING_FOR;
    // Published before the walk: a thread closing the cycle at the same moment sees it (Dekker).
    if (mine >= 0) store(w, mine, this.cell + 1);
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
        if (mine >= 0) store(w, mine, 0);
        throw new DeadlockError(`Deadlock: ${describeCycle(edges)}`, edges);
      }
      const slot = ownSlot(holder);
      if (slot < 0) return;
      const next = load(w, slot + T_WAITING_FOR);
      if (next === 0) return;
      waiter = holder;
      cell = next - 1;
      holder = ownerOfCell(w, cell);
    }
  }

  private leaveWait(): void {
    if (this.cell < 0) return;
    const w = worldWords();
    const own = ownSlot(selfTid);
    if (own < 0) return;
    // Only our own record: another async wait of this thread may have replaced it.
    cas(w, own + T_WAITING_FOR, this.cell + 1, 0);
  }

  /** Python's repr, a snapshot: `<locked weft.threading.RLock object RLock-2 owner=3 count=1>`. */
  describe(): string {
    const owner = this.owner();
    const state = owner === 0 ? 'unlocked' : 'locked';
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

function ownerOfCell(w: Int32Array, cell: number): number {
  const s = load(w, cellOffset(cell) + C_STATE);
  return s === OWNER_DIED ? 0 : s;
}

function cellLabel(cell: number, self: LockCore): string {
  return cell === self.cell ? self.label : cellName(cell);
}

export function threadLabel(tid: number): string {
  return `thread '${threadName(tid)}'`;
}
