/**
 * Deadlock detection for multiprocessing's `Lock` and `RLock` (weft's own: Python's hang), run
 * by the broker (broker.ts), which sees every lock's holder and every waiter of the process tree.
 *
 * The unit is the session (one thread of one process), as a lock's owner is in Python. Before an
 * untimed, blocking acquire parks, the broker walks "lock → its holder → the lock that holder
 * waits for → …". The walk follows the same rules as weft/threading's (src/threading/lock-core.ts):
 *
 *   | the holder on the walk                      | a blocking (…Sync) waiter | an async waiter  |
 *   | ------------------------------------------- | ------------------------- | ---------------- |
 *   | parked in an untimed acquireSync            | follows that wait         | follows it       |
 *   | awaiting untimed acquires (no …Sync)        | stops: not blocked        | follows each one |
 *   | waiting for nothing, or only timed waits    | stops                     | stops            |
 *   | the waiter's own session (later on the walk)| cycle: DeadlockError      | cycle            |
 *
 * A thread parked in `acquireSync` runs nothing else, so a cycle of such threads is certain. A
 * thread that awaits runs its other tasks, any of which may release what it holds: a blocking
 * waiter's walk stops there, and an async waiter is told of a cycle through such threads that
 * comes back to its own thread — the lock-ordering bug of async code, told to code that can catch
 * it, and not certain (pass a timeout where another task may release).
 *
 * The lock already held by the waiter's own session: a blocking waiter is told at once (a Lock
 * is not reentrant; an RLock re-entered before it got here). An async waiter is told only when
 * the asyncio task that holds the lock is the one asking (`task`, a number its client gives
 * each task; 0 outside tasks): another task of the thread may release it.
 *
 * Nothing is recorded: the broker's waiter lists are the record, so a wait that ends (granted,
 * timed out, withdrawn, its session gone) leaves nothing behind. The broker answers one message
 * at a time, so two waits that would close one cycle never pass each other: the second is told,
 * the first waits. Cost: only an untimed acquire of a held lock walks.
 */
import type { DeadlockEdge } from '../errors.js';
import type { Session, Waiter } from './broker-conn.js';

/** What the walk reads of a lock (the broker's lock object has these fields). */
export interface WalkLock {
  readonly id: string;
  readonly recursive: boolean;
  /** The session holding it, null when free. */
  readonly session: Session | null;
  /** The client's number of the asyncio task that took it (0: outside any task, or unknown). */
  readonly holderTask: number;
}

/** A parked waiter of an untimed, blocking acquire: what the walk follows. */
export type LockWaiter = Waiter & { lockWait?: WalkLock };

/** Bound on the walk: far longer than any real chain of waiting threads. */
const MAX_WALK = 4096;

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
  const edges: DeadlockEdge[] = [];
  const seen = new Set<Session>();
  // Depth first: an async waiter follows every untimed wait of a thread that awaits.
  const walk = (l: WalkLock, waiter: Session): boolean => {
    const h = l.session;
    if (h === null) return false;
    edges.push({ waiter: sessionLabel(waiter), resource: lockLabel(l), holder: sessionLabel(h) });
    if (h === me) return true;
    if (!seen.has(h) && seen.size < MAX_WALK) {
      seen.add(h);
      for (const next of waitsOf(h, sync)) if (walk(next, h)) return true;
    }
    edges.pop();
    return false;
  };
  return walk(lock, me) ? edges : null;
}

/** The locks session `s` waits for that a walk goes on to (see the table above). */
function waitsOf(s: Session, sync: boolean): WalkLock[] {
  const awaited: WalkLock[] = [];
  for (const c of s.conns) {
    if (c.gone) continue;
    for (const w of c.waiters.values() as Iterable<LockWaiter>) {
      // A thread parked in a …Sync call does nothing else until it returns: only a parked
      // acquire goes on; parked in anything else (a getSync, a timed acquireSync), it may return.
      if (c.role === 's') return w.lockWait === undefined ? [] : [w.lockWait];
      if (w.lockWait !== undefined) awaited.push(w.lockWait);
    }
  }
  return sync ? [] : awaited;
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
