/**
 * Deadlock detection for multiprocessing's `Lock` and `RLock` (weft's own: Python's hang), run
 * by the broker (broker.ts), which sees every lock's holder and every waiter of the process tree.
 *
 * The unit is the session (one thread of one process), as a lock's owner is in Python — but a
 * session that awaits is not one waiter: each of its asyncio tasks waits on its own, and any of
 * them (or a timer) may release what another holds. So a lock records the task that took it
 * (`holderTask`, a number the client gives each task of its thread; 0 for blocking code or code
 * outside any task) and a wait the task that waits (`lockTask`), and a hop of the walk is a
 * (session, task) pair. Before an untimed, blocking acquire parks, the broker walks "lock → its
 * holder → the lock that holder waits for → …", the same rules as weft/threading's
 * (src/threading/lock-core.ts):
 *
 *   | holder reached by a lock its task T took  | blocking (…Sync) waiter  | async waiter         |
 *   | ----------------------------------------- | ------------------------ | -------------------- |
 *   | parked in an untimed acquireSync (any T)  | follows that wait        | follows it           |
 *   | awaiting, with untimed acquires of task T | stops: not blocked       | follows T's waits    |
 *   | awaiting, no untimed acquire of task T    | stops                    | stops: T may release |
 *   | waiting for nothing, or only timed waits  | stops                    | stops                |
 *   | the waiter's session, T its own task or 0 | cycle: DeadlockError     | cycle: DeadlockError |
 *   | the waiter's session, T another task      | cycle (its thread parks) | goes on: T's waits   |
 *
 * An RLock several tasks of its thread hold at once (each re-entered it: it is the thread's) has
 * for T a set of tasks (SHARED): "T's waits" are then the waits of every task of the set, and
 * back at the waiter's session the walk finds a cycle when the waiting task, or 0, is in it. The
 * client keeps the set (src/multiprocessing/lock.ts, `holdersWord`): a release gives back the
 * releasing task's own level, else one of an ended task or of code outside tasks (0: anyone's to
 * give back), else whose it was is not known and the set is every task (ANY_TASK) until the lock
 * is free. So a task that gave its level back is off the set — tasks of several processes that
 * take RLocks in one order are not told of cycles no order has — and a level whose task ended is
 * the thread's, so a cycle through it is still told (a task takes R and ends, another that
 * re-entered R gives back one level and awaits a lock whose holder awaits R).
 *
 * A thread parked in `acquireSync` runs nothing else, so a cycle of such threads is certain,
 * whichever of its tasks took a lock. A thread that awaits runs its other tasks: a blocking
 * waiter's walk stops there, and an async waiter's goes on only through the wait of the task
 * that holds the lock it came by. (Following every wait of such a thread, as this walk once did,
 * made "task 1 holds B and awaits C, task 2 awaits A" a thread that holds B and waits for A, and
 * tasks taking A < B < C in one order in several processes were told of cycles no order had:
 * some 70 to 330 per run of deadlock-tasks.test.ts's stress test.) A cycle that comes back to
 * the waiter's thread is the lock-ordering bug of async code, told to code that can catch it,
 * and not certain (a task on it could be cancelled, a timer could release): pass a timeout where
 * that may happen. A lock
 * taken by blocking code or outside any task (task 0) is the thread's own, as in weft/threading:
 * a walk comes back to the waiter through it (reported), and goes on through another thread by
 * it only to a wait made outside any task.
 *
 * The lock already held by the waiter's own session: a blocking waiter is told at once (a Lock
 * is not reentrant; an RLock re-entered before it got here). An async waiter is told only when
 * the asyncio task that holds the lock is the one asking: another task of the thread may release
 * it (even one that took it with task 0: only a direct re-acquire waits so).
 *
 * Nothing is recorded: the broker's waiter lists are the record, so a wait that ends (granted,
 * timed out, withdrawn, its session gone) leaves nothing behind. The broker answers one message
 * at a time, so two waits that would close one cycle never pass each other: the second is told,
 * the first waits (each wait is its own task's, so the second sees the first's task whatever
 * else its thread waits for). Cost: only an untimed acquire of a held lock walks.
 *
 * Not followed: a task's wait for another task (a subtask that awaits a lock is its own task, so
 * a task holding A that awaits a subtask waiting for B waits for nothing, to the walk), and an
 * `acquireSync` made inside a task counts as task 0 (its thread's), as every blocking take does.
 *
 * The task word in the slab (lock-slab.ts) is its thread's to write. A release that goes to the
 * broker (WAITERS set) keeps it until the broker has handled that release (src/multiprocessing/
 * lock.ts): a 0 there, while the word still named the thread, made the lock the thread's own to
 * walks, and a task that had let go of it closed cycles it was no longer on. A take writes it
 * just after the word: a walk that reads it in between sees 0, so a walk that finds a cycle is
 * made once more, and only a cycle found twice is told.
 */
import type { DeadlockEdge } from '../errors.js';
import type { Session, Waiter } from './broker-conn.js';

/** What the walk reads of a lock (the broker's lock object has these fields). */
export interface WalkLock {
  readonly id: string;
  readonly recursive: boolean;
  /** The session holding it, null when free. */
  readonly session: Session | null;
  /**
   * The client's number of the asyncio task that took it (0: outside any task, or not written
   * yet), or, with SHARED, the set of the tasks of its thread holding an RLock.
   */
  readonly holderTask: number;
}

/**
 * The sign bit of a task word that is a set of tasks (`taskBit` each): an RLock held by several
 * tasks of its thread at once (see the header). Its client writes the set as its tasks take and
 * give back levels (`holdersWord` in src/multiprocessing/lock.ts); a re-entry granted here adds
 * the task (`reentered`), and a release the client sends says what is left.
 */
export const SHARED = -0x80000000;

/** A task word naming every task: which of them holds the lock is not known. */
export const ANY_TASK = SHARED | 0x7fffffff;

/**
 * The bit of task `t` in a set: bit 0 for code outside tasks, 1–30 for tasks (tasks 30 apart
 * share one: a set may name more tasks than hold the lock, never fewer).
 */
function taskBit(t: number): number {
  return t === 0 ? 1 : 1 << (1 + ((t - 1) % 30));
}

/** The task bits of a task word: a shared word's set, or the one task's bit. */
function taskBits(word: number): number {
  return word < 0 ? word & 0x7fffffff : taskBit(word);
}

/** The task word `word` with task `task` added (an RLock re-entered by it). */
export function reentered(word: number, task: number): number {
  // `task` may be a set itself: a Condition wait retakes the lock for the set it gave up.
  return word === task ? word : SHARED | taskBits(word) | taskBits(task);
}

/**
 * A parked waiter of an untimed, blocking acquire: what the walk follows. `lockTask`: the
 * asyncio task of its session that waits (the client's number; 0 or absent: none).
 */
export type LockWaiter = Waiter & { lockWait?: WalkLock; lockTask?: number };

/** Bound on the walk: far longer than any real chain of waiting threads. */
const MAX_WALK = 4096;

/** The key of a parked session's hops (all its tasks are one, none runs): no task word. */
const PARKED = 2 ** 31;

/**
 * The cycle that an untimed acquire of `lock` by session `me` (its asyncio task `task`) would
 * close, or null. `sync`: the wait parks the thread (`acquireSync`). Call only when the lock is
 * held and `me` cannot re-enter it.
 */
export function findLockCycle(
  lock: WalkLock,
  me: Session,
  task: number,
  sync: boolean,
): DeadlockEdge[] | null {
  const holder = lock.session;
  if (holder === null) return null;
  if (holder === me) {
    if (sync || (task !== 0 && lock.holderTask === task)) {
      return [{ waiter: sessionLabel(me), resource: lockLabel(lock), holder: sessionLabel(me) }];
    }
    return null;
  }
  // Told only when found twice: the second walk reads every task word again (see the header).
  if (walkFrom(lock, me, task, sync) === null) return null;
  return walkFrom(lock, me, task, sync);
}

function walkFrom(lock: WalkLock, me: Session, task: number, sync: boolean): DeadlockEdge[] | null {
  const edges: DeadlockEdge[] = [];
  // The (session, task) hops passed, by session.
  const seen = new Map<Session, Set<number>>();
  let hops = 0;
  // Depth first: an async waiter follows every untimed wait of the holding task.
  const walk = (l: WalkLock, waiter: Session): boolean => {
    const h = l.session;
    if (h === null) return false;
    const t = l.holderTask;
    edges.push({ waiter: sessionLabel(waiter), resource: lockLabel(l), holder: sessionLabel(h) });
    // Back at the waiter: its wait parks its thread, or the waiting task (or its thread's code
    // outside tasks, or tasks of it that share an RLock) holds the lock. Another task of it is
    // passed through as any session's.
    if (h === me && (sync || t === task || t === 0 || (t < 0 && (t & (taskBit(task) | 1)) !== 0))) {
      return true;
    }
    const next = waitsOf(h, t, sync);
    if (next !== null) {
      let passed = seen.get(h);
      if (passed === undefined) {
        passed = new Set();
        seen.set(h, passed);
      }
      if (!passed.has(next.key) && hops < MAX_WALK) {
        passed.add(next.key);
        hops++;
        for (const n of next.locks) if (walk(n, h)) return true;
      }
    }
    edges.pop();
    return false;
  };
  return walk(lock, me) ? edges : null;
}

/**
 * The locks a walk goes on to from session `s`, reached by a lock its task `t` holds (see the
 * table above), and the key of that hop; null when it stops there.
 */
function waitsOf(s: Session, t: number, sync: boolean): { key: number; locks: WalkLock[] } | null {
  const awaited: WalkLock[] = [];
  for (const c of s.conns) {
    if (c.gone) continue;
    for (const w of c.waiters.values() as Iterable<LockWaiter>) {
      // A thread parked in a …Sync call does nothing else until it returns, whichever task
      // took the lock: only a parked acquire goes on; parked in anything else (a getSync, a
      // timed acquireSync), it may return.
      if (c.role === 's') {
        return w.lockWait === undefined ? null : { key: PARKED, locks: [w.lockWait] };
      }
      // Only the holding task's own waits: another task may release the lock meanwhile. A lock
      // shared by tasks: the waits of every task of its set (any of them may hold it). A wait
      // with a set (a Condition wait re-taking a shared RLock): any task of it may be waiting.
      if (w.lockWait === undefined) continue;
      const wt = w.lockTask ?? 0;
      if (wt === t || ((wt < 0 || t < 0) && (taskBits(wt) & taskBits(t)) !== 0)) {
        awaited.push(w.lockWait);
      }
    }
  }
  return sync || awaited.length === 0 ? null : { key: t, locks: awaited };
}

/** "process 'Process-1' (pid 4242)", or "thread 'T' of process 'Process-1' (pid 4242)". */
export function sessionLabel(s: Session): string {
  // The session's name is its client's sessionName(): "<process>" or "<process>, thread <name>".
  const cut = s.name.lastIndexOf(', thread ');
  return cut < 0
    ? `process '${s.name}' (pid ${s.pid})`
    : `thread '${s.name.slice(cut + 9)}' of process '${s.name.slice(0, cut)}' (pid ${s.pid})`;
}

/** "Lock 4242.0.3": the kind and the id (the creator's pid and thread, then a sequence number). */
export function lockLabel(l: WalkLock): string {
  return `${l.recursive ? 'RLock' : 'Lock'} ${l.id}`;
}
