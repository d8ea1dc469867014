/**
 * The broker: the one place where multiprocessing's shared objects live (queues, locks,
 * semaphores, events, conditions, barriers, values, arrays, manager dicts/lists/namespaces).
 *
 * Why a broker: Node child processes cannot share a SharedArrayBuffer. So the root process runs
 * this broker on a worker thread — it keeps answering while the root's main thread is busy —
 * listening on a Unix socket; every process of the tree (children, grandchildren) connects to it
 * directly. Where the shm addon is built, a lock's word and a Value's number also live in a
 * file-backed shared mapping (lock-slab.ts), and an Array's items in a file of their own
 * (array-store.ts): taking a free lock or reading a Value or an Array item needs no message,
 * and the broker serves what waits (broker-lock.ts, value-cell.ts) and the threads that cannot
 * map an Array's file.
 *
 *   process A ──socket──┐                         ┌── objects by id: state + waiter lists
 *   process B ──socket──┼──▶ broker thread (root) ─┤
 *   root main ──socket──┘                         └── per session (a thread of a process):
 *                                                      locks held, items taken
 *
 * Implementation notes
 * - Every operation is a request answered once; a blocking one (get on an empty queue, acquire
 *   of a held lock, wait) parks a waiter in the object until it can be answered, its timeout
 *   fires, or the client withdraws it (`cancel`: an aborted signal). Waiters are FIFO.
 *   Withdrawing is dropping the waiter, except where Python's semantics ask for more: a
 *   Condition waiter re-acquires the lock before it is answered "cancelled" (passing on a
 *   notification it had taken), and a Barrier party breaks the barrier, as a timeout does.
 * - Cost: a blocking call is one round trip over the socket (tens of µs); `put` on an unbounded
 *   queue, `taskDone`, `release` and `set` are not waited for by the client, and clients and
 *   the broker coalesce messages per event-loop turn, so a stream of puts costs a few frames.
 * - Blocking calls (`acquireSync`, `qsize()`, …) arrive on a second socket of the same thread,
 *   its sync connection (broker-conn.ts, sync-client-thread.ts); both sockets act for one
 *   session, and a sync request runs only after the async messages its thread sent before it.
 * - A session that ends (its process exits or is killed, its thread ends) releases what it
 *   holds: its locks go to the next waiter, the queue items it was lent in a batch (its
 *   prefetch) and had not said it took go back to the front, and items it took from a
 *   JoinableQueue without `taskDone` make `join()` fail naming it, instead of hanging for ever.
 * - Queue items (a Pipe's messages too) are bytes this broker stores and hands on without
 *   reading them (broker-item.ts): an item its thread could not read fails only the get that
 *   cannot read it, in the getter. A queue's backlog past about a MiB waits outside this
 *   thread's JavaScript heap (broker-store.ts), so that it is bounded by the machine's memory and
 *   not by the heap's limit. Manager values are read here: a list compares them, a dict adds to
 *   them.
 * - Lent batches: a `get` asking for several items names the batch (a number of its thread);
 *   the broker keeps the batch's items until the client's `took` says it used them all (it
 *   says how far it got with the next thing it sends, or at the end of its event-loop turn) or
 *   `unget` hands them back.
 * - Pipe directions count the open handles of both their ends, in every session and on their
 *   way between sessions (src/multiprocessing/connection.ts draws the messages): no writer left
 *   is EOF for `get`; no reader left drops the direction's items and later puts, and answers
 *   the writers' `pipeWatch` (their next send raises BrokenPipeError). A `pipePoll`
 *   (Connection.poll) parks among the direction's getters and answers true, taking nothing,
 *   when a get would not wait.
 */
import { createServer } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import {
  DeadlockError,
  describeCycle,
  describeError,
  describeValue,
  RuntimeError,
} from '../errors.js';
import { clearLongTimeout } from '../long-timer.js';
import { encodeError, readBytes } from '../serialize.js';
import { RawItems, setRawItems } from '../v8-format.js';
import { ArrayStore, checkSliceSize, storeBytes } from './array-store.js';
import { EncodedItems, takeBatch } from './broker-batch.js';
import {
  attach,
  type Conn,
  connOf,
  deadline,
  detach,
  numberEnded,
  type Role,
  type Session,
  setSessionNumbers,
  type Waiter,
} from './broker-conn.js';
import { findLockCycle, type LockWaiter, type WalkLock } from './broker-deadlock.js';
import { BrokerEvent } from './broker-event.js';
import { BrokerLock } from './broker-lock.js';
import { BrokerSem } from './broker-sem.js';
import { ItemStore } from './broker-store.js';
import {
  FrameReader,
  frame,
  onChunks,
  RawServer,
  type Request,
  type WireSocket,
} from './broker-wire.js';
import {
  arrayPathOf,
  mapArrayFile,
  mapSlab,
  markBrokerReady,
  nextSessionNumber,
  slotOffset,
} from './lock-slab.js';
import { coercer } from './typecodes.js';
import { ValueCell } from './value-cell.js';

class Failure extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = kind;
  }
}

type Obj =
  | {
      k: 'queue';
      /** Items nobody has got yet: a backlog beyond a few off the heap (broker-store.ts). */
      items: ItemStore;
      maxsize: number;
      getters: Waiter[];
      putters: Waiter[];
      joinable: boolean;
      unfinished: number;
      joiners: Waiter[];
      taken: Map<Session, number>;
      /** Batches lent to each session and not all taken yet: lease number → items, how far. */
      lent: Map<Session, Map<number, Lease>> | null;
      /** A Pipe direction: the open handles of its two ends (null: a queue). */
      pipe: PipeEnds | null;
      /**
       * Items of consumers that ended with them taken and not marked done, oldest consumer
       * first: `join()` fails naming the first while any is left. Another thread's `taskDone`
       * beyond its own items pays them off first (the consumer handed them on before it ended).
       */
      orphans: Array<{ who: string; n: number }>;
      /** `join()`'s ProcessError while `orphans` is not empty. */
      dead: string | null;
      closed: boolean;
    }
  | BrokerLock
  | BrokerSem
  | BrokerEvent
  | { k: 'cond'; lock: string; waiters: Waiter[] }
  | {
      k: 'barrier';
      parties: number;
      /** Parties of the current generation waiting (0 while broken: they were all answered). */
      count: number;
      generation: number;
      broken: boolean;
      /** The first generation the break reached (its parties and later ones were refused). */
      brokenGen: number;
      waiters: Waiter[];
      /**
       * The generation whose last party runs the action (−1: none). Its other parties stay
       * parked in `passing` until the action is done, as in Python, where the last party runs it
       * before it releases anyone; an abort or reset from another session waits for that
       * (`afterPass`), as it waits for Python's lock.
       */
      acting: number;
      actor: Session | null;
      passing: Waiter[];
      afterPass: (() => void)[];
    }
  | {
      k: 'data';
      data: unknown;
      /** A Value's number in the lock slab (value-cell.ts); null: it is `data`. */
      cell: ValueCell | null;
      /** An Array's items in its own shared file (array-store.ts); null: they are `data`. */
      store: ArrayStore | null;
    };

/** Items a client fetched in one batch (its prefetch): `at` of them it has said it took. */
interface Lease {
  /** A batch taken as bytes (broker-batch.ts) is read back only if it must be given back. */
  items: unknown[] | EncodedItems;
  at: number;
}

function leaseItems(l: Lease): unknown[] {
  return l.items instanceof EncodedItems ? l.items.items() : l.items;
}

/**
 * A Pipe direction's two ends: the handles of the end that writes into it and of the end that
 * reads it (a duplex end is a writer of one direction and a reader of the other).
 * - No writer left and nothing queued: a `get` answers EOFError, as Python's recv does.
 * - No reader left: what it holds is dropped, later puts are dropped (the direction is
 *   `closed`), and the writers' watches are answered — their next `send` raises
 *   BrokenPipeError, as Python's does. Neither count comes back from 0: a new handle is only
 *   ever a copy of an open one, counted (its token) before that one can close.
 */
interface PipeEnds {
  writers: Handles;
  readers: Handles;
  /** Writing handles waiting to hear that no reader is left (`pipeWatch`). */
  watchers: Waiter[];
}

/**
 * The open handles of one end of a Pipe direction: `count` is every handle (those of sessions,
 * plus those travelling to a process that has not revived them yet).
 */
interface Handles {
  q: PipeQueue;
  reading: boolean;
  count: number;
  /** Handles per session, by owner (`pid:threadId`): the creator's counts before it connects. */
  bySession: Map<string, number>;
}

/** A handle as its messages name it: the direction it writes, the one it reads (or null). */
type HandleIds = [out: string | null, inn: string | null];

const objects = new Map<string, Obj>();
/** Pipe handles on their way (serialised, not revived yet): token → the directions of the handle. */
const transfers = new Map<string, HandleIds>();
/**
 * Tokens revived before their `holdToken` arrived (the sender's thread had not sent its messages
 * yet: its event loop was busy or parked): the revival counted the handle; the late
 * `holdToken` must not count it again.
 */
const adoptedEarly = new Set<string>();
/**
 * Tokens given up before their `holdToken` arrived: a pool worker thread that skips a task
 * discards its arguments' tokens over its own connection, which can overtake the encoding
 * thread's `holdToken`; the late `holdToken` then counts nothing.
 */
const droppedEarly = new Set<string>();

function create(id: string, kind: string, p: Record<string, unknown>): Obj {
  let o = objects.get(id);
  if (o) return o;
  switch (kind) {
    case 'queue':
      o = {
        k: 'queue',
        items: new ItemStore(),
        maxsize: (p.maxsize as number) ?? 0,
        getters: [],
        putters: [],
        joinable: p.joinable === true,
        unfinished: 0,
        joiners: [],
        taken: new Map(),
        lent: null,
        pipe: null,
        orphans: [],
        dead: null,
        closed: false,
      };
      // A Pipe direction counts the first handle of each end from the start, whichever process
      // creates it first: the creator's own messages may come later than a revival's.
      if (p.pipe === true) {
        const q = o as PipeQueue;
        const first = (reading: boolean): Handles => ({
          q,
          reading,
          count: 1,
          bySession: new Map([[p.creator as string, 1]]),
        });
        q.pipe = { writers: first(false), readers: first(true), watchers: [] };
      }
      break;
    case 'lock': {
      const l = new BrokerLock(id, p.recursive === true, slab, p.slot);
      o = l;
      // Taken in the slab by a process that died before any 'create' of it reached the broker.
      if (l.holderEnded()) lockRelease(l, null);
      break;
    }
    case 'sem':
      o = new BrokerSem((p.bound as number | null) ?? null, p.value as number, slab, p.slot);
      break;
    case 'event':
      o = new BrokerEvent(slab, p.slot);
      break;
    case 'cond':
      o = { k: 'cond', lock: p.lock as string, waiters: [] };
      break;
    case 'barrier':
      o = {
        k: 'barrier',
        parties: p.parties as number,
        count: 0,
        generation: 0,
        broken: false,
        brokenGen: 0,
        waiters: [],
        acting: -1,
        actor: null,
        passing: [],
        afterPass: [],
      };
      break;
    case 'data': {
      // A Value with a slot keeps its number in the slab, which its creator wrote; an Array with
      // a file, its items there (the creator wrote them too).
      const cell =
        slab !== null && typeof p.slot === 'number' && p.slot >= 0
          ? new ValueCell(slab.buffer, slotOffset(p.slot), p.typecode as string)
          : null;
      const store = slab !== null && p.file === true ? arrayStoreOf(id, p) : null;
      // A creator that knew the broker had the slab sent no items: without the file (it could
      // not be mapped here) the broker has nothing to serve, and says so (`dataOf`).
      const init = keptInit(p.init);
      const lost =
        p.file === true && store === null && Array.isArray(init) && init.length !== p.length;
      o = {
        k: 'data',
        data: cell === null && store === null && !lost ? init : undefined,
        cell,
        store,
      };
      break;
    }
    default:
      throw new Failure('TypeError', `unknown shared object kind ${kind}`);
  }
  objects.set(id, o);
  return o;
}

function get<K extends Obj['k']>(id: string | undefined, k: K): Extract<Obj, { k: K }> {
  const o = objects.get(id ?? '');
  if (!o || o.k !== k) throw new Failure('RuntimeError', `unknown shared object ${id} (${k})`);
  return o as Extract<Obj, { k: K }>;
}

/**
 * A waiter whose withdrawal (`cancel`, an aborted signal) is more than being dropped and answered
 * "cancelled": `withdraw` then does all of it, answer included (a Condition waiter re-acquires
 * the lock first, a Barrier party breaks the barrier).
 */
type Withdrawing = Waiter & { withdraw?: (w: Waiter) => void };

/** A Condition waiter: `notify` picks it (it then re-acquires the lock). */
type CondWaiter = Withdrawing & { notify: () => void };

/**
 * Parks a waiter, or answers at once if `attempt` succeeds; timeout in ms or null. `withdraw`:
 * see Withdrawing. `lockWait`: the lock an untimed wait is for, which deadlock walks go
 * through (broker-deadlock.ts), and `lockTask` the asyncio task of the session that waits for it
 * (the client's number, 0 for none): walks go through it only by a lock that task holds.
 */
function park(
  conn: Conn,
  r: number,
  list: Waiter[],
  timeout: number | null,
  attempt: () => boolean,
  timedOut: () => void,
  withdraw?: (w: Waiter) => void,
  lockWait?: WalkLock,
  lockTask = 0,
): void {
  if (attempt()) return;
  if (timeout !== null && timeout <= 0) {
    timedOut();
    return;
  }
  const w: Withdrawing & LockWaiter = { conn, r, timer: null, attempt, timedOut, list };
  if (withdraw !== undefined) w.withdraw = withdraw;
  if (lockWait !== undefined) {
    w.lockWait = lockWait;
    w.lockTask = lockTask;
  }
  w.timer = deadline(timeout, () => {
    remove(w);
    w.timedOut();
  });
  list.push(w);
  conn.waiters.set(r, w);
}

function remove(w: Waiter): void {
  const k = w.list.indexOf(w);
  if (k >= 0) w.list.splice(k, 1);
  clearLongTimeout(w.timer);
  w.conn.waiters.delete(w.r);
}

/**
 * Adds `n` permits to `s` and serves its waiters (`done` runs in between, before they are
 * answered); returns why it cannot (broker-sem.ts), or null.
 */
function releaseSem(s: BrokerSem, n: number, done?: () => void): string | null {
  const err = s.release(n);
  if (err !== null) return err;
  done?.();
  pump(s.waiters);
  s.settle(pump);
  return null;
}

/** Wakes waiters of `list` in FIFO order while they can complete. */
function pump(list: Waiter[]): void {
  for (let i = 0; i < list.length; ) {
    const w = list[i] as Waiter;
    if (w.conn.gone) {
      remove(w);
      continue;
    }
    if (w.attempt()) {
      remove(w);
    } else i++;
  }
}

const ok = (c: Conn, r: number, v?: unknown): void => c.send({ r, v });
const fail = (c: Conn, r: number, kind: string, message: string): void =>
  c.send({ r, e: encodeError(new Failure(kind, message)) });

/**
 * The holds a Condition wait took down with it, to be taken again when it ends. They are every
 * hold the session had when the wait reached the broker: another task of that thread may have
 * had its acquire granted just before, and counts a hold its thread had not seen yet when the
 * wait began (src/multiprocessing/lock.ts `_putDown`). That task's release then finds the lock
 * not held by the session: it gives up one of these instead (`giveUpSwept`), so that the wait
 * does not take back a hold nobody will release.
 */
interface Swept {
  lock: BrokerLock;
  session: Session;
  depth: number;
}
const sweptHolds = new Set<Swept>();

/** A release of `l` by `s`, which does not hold it, that a wait of `s` on `l` had taken down. */
function giveUpSwept(l: BrokerLock, s: Session): boolean {
  for (const w of sweptHolds) {
    // One hold stays: the waiting task's own.
    if (w.lock === l && w.session === s && w.depth > 1) {
      w.depth--;
      return true;
    }
  }
  return false;
}

/**
 * After the waiters of `l` changed: its word says whether any is parked (broker-lock.ts), and a
 * lock freed under a waiter that was being parked goes to it.
 */
function lockSettle(l: BrokerLock): void {
  while (l.settle()) pump(l.waiters);
}

/** One hold of `s` given back (null: every hold of a session that ended); the next waiter's turn. */
function lockRelease(l: BrokerLock, s: Session | null, holders?: unknown): string | null {
  const err = l.release(s, holders);
  if (err !== null) return err;
  pump(l.waiters);
  lockSettle(l);
  return null;
}

type BarrierObj = Extract<Obj, { k: 'barrier' }>;

/**
 * Breaks the barrier: the parties of the current generation, and those of a generation whose
 * action is running (an abort or reset from the action itself, its actor gone, the action
 * threw), get BrokenBarrierError, and so does every `wait` until `reset`.
 */
function breakBarrier(b: BarrierObj): void {
  if (!b.broken) {
    b.broken = true;
    b.brokenGen = b.acting >= 0 ? b.acting : b.generation;
  }
  b.count = 0;
  releasePassing(b);
  pump(b.waiters);
  endPass(b);
}

/**
 * The acting generation's action is over: its parties parked in `passing` go on, each answered
 * by its own check (passed, or broken if the barrier broke meanwhile).
 */
function releasePassing(b: BarrierObj): void {
  const passing = b.passing.splice(0);
  b.acting = -1;
  b.actor = null;
  for (const w of passing) {
    w.conn.waiters.delete(w.r);
    w.attempt();
  }
}

/** The generation that was acting has ended: aborts and resets that waited for it run now. */
function endPass(b: BarrierObj): void {
  for (const f of b.afterPass.splice(0)) f();
}

/** Wakes up to `n` waiters of `cv`, oldest first: each goes on to re-acquire the lock. */
function notifyCond(cv: Extract<Obj, { k: 'cond' }>, n: number): void {
  const woken: CondWaiter[] = [];
  while (n-- > 0 && cv.waiters.length > 0) woken.push(cv.waiters.shift() as CondWaiter);
  for (const w of woken) {
    clearLongTimeout(w.timer);
    w.conn.waiters.delete(w.r);
    w.notify();
    w.attempt();
  }
}

function handle(c: Conn, m: Request): void {
  const { r, o: op, id } = m;
  const a = m.a ?? [];
  switch (op) {
    case 'create':
      create(id as string, a[0] as string, a[1] as Record<string, unknown>);
      return;
    case 'ping-never-fails':
      ok(c, r);
      return;
    case 'cancel': {
      const w = c.waiters.get(a[0] as number) as Withdrawing | undefined;
      if (w === undefined) {
        // Answered already. A permit granted before this came goes back here, now: the client
        // takes it as given back (semaphore.ts), and may be killed before it could send it.
        // Anything else granted the client gives back itself (a lock has an owner, whose death
        // frees it; a queue's items go back with an 'unget').
        const g = c.grants.get(a[0] as number);
        if (g !== undefined) {
          c.grants.delete(a[0] as number);
          releaseSem(g.sem, 1);
        }
        return;
      }
      if (w.withdraw !== undefined) w.withdraw(w);
      else {
        remove(w);
        c.send({ r: w.r, c: 1 });
      }
      return;
    }
    // ── queues ──
    case 'put': {
      const q = get(id, 'queue');
      const [item, block, timeout] = a as [unknown, boolean, number | null];
      if (q.closed) {
        fail(c, r, 'ValueError', 'Queue is closed');
        return;
      }
      park(
        c,
        r,
        q.putters,
        block ? timeout : 0,
        () => {
          if (q.maxsize > 0 && q.items.length >= q.maxsize) return false;
          q.items.push(item);
          if (q.joinable) q.unfinished++;
          if (r >= 0) ok(c, r);
          pump(q.getters);
          return true;
        },
        () => fail(c, r, 'Full', 'The queue is full'),
      );
      return;
    }
    case 'putMany': {
      // Unbounded queues only (the client sends these for maxsize 0): never blocks. A Pipe
      // direction nobody can read any more is closed: what is sent to it is dropped.
      const q = get(id, 'queue');
      // Items of a KiB or so come as the bytes of their frame (v8-format.ts's RawItems): they
      // carry no Pipe ends.
      const raw = (m.a as unknown) instanceof RawItems ? (m.a as unknown as RawItems) : null;
      if (q.closed) {
        if (q.pipe !== null && raw === null) dropCarried(a);
        return;
      }
      if (raw !== null) q.items.pushRaw(raw);
      else for (const item of a) q.items.push(item);
      if (q.joinable) q.unfinished += raw === null ? a.length : raw.length;
      pump(q.getters);
      return;
    }
    case 'get': {
      const q = get(id, 'queue');
      const [block, timeout, max, lease] = a as [boolean, number | null, number, number?];
      park(
        c,
        r,
        q.getters,
        block ? timeout : 0,
        () => {
          if (q.items.length === 0) {
            const p = q.pipe;
            if (p === null || (p.writers.count > 0 && p.readers.count > 0)) return false;
            fail(
              c,
              r,
              'EOFError',
              p.writers.count === 0
                ? 'The other end of the Pipe is closed: nothing more will come'
                : // No reader left: this get's handle was closed while it waited.
                  'This end of the Pipe is closed: nothing more will come',
            );
            return true;
          }
          // A batch for a client that asked for several (its local buffer), never more than there are.
          const n = Math.min(max ?? 1, q.items.length);
          if (n > 1 && q.pipe === null && q.items.firstIsBytes()) {
            // Items of a KiB or so, written from the bytes the broker holds (broker-batch.ts).
            const batch = takeBatch(q.items, n, r);
            if (batch.length > 1 && lease !== undefined) lend(q, c.session, lease, batch);
            if (q.joinable) q.taken.set(c.session, (q.taken.get(c.session) ?? 0) + batch.length);
            ok(c, r, batch);
            pump(q.putters);
            return true;
          }
          const out = new Array(n);
          for (let i = 0; i < n; i++) out[i] = q.items.shift();
          // Kept until the client says it took them all: a client killed outright gives back the rest.
          if (n > 1 && lease !== undefined) lend(q, c.session, lease, out);
          if (q.joinable) q.taken.set(c.session, (q.taken.get(c.session) ?? 0) + n);
          ok(c, r, out);
          pump(q.putters);
          return true;
        },
        () => fail(c, r, 'Empty', 'The queue is empty'),
      );
      return;
    }
    case 'unget': {
      // Items a client took but will not use (an aborted get, a closing buffer): back in front.
      const q = get(id, 'queue');
      const m = q.lent?.get(c.session);
      if (m !== undefined) for (const b of (a[1] as number[] | undefined) ?? []) m.delete(b);
      putBack(q, c.session, a[0] as unknown[]);
      return;
    }
    case 'took': {
      // How far a client got through a lent batch; all of it ends the lease.
      const m = get(id, 'queue').lent?.get(c.session);
      const [b, at] = a as [number, number];
      const l = m?.get(b);
      if (m === undefined || l === undefined) return;
      if (at >= l.items.length) m.delete(b);
      else l.at = Math.max(l.at, at);
      return;
    }
    case 'qsize':
      ok(c, r, get(id, 'queue').items.length);
      return;
    // ── Pipe ends: a Connection is a handle of the end writing into its `out` direction and of
    // the end reading its `in` direction (a: [out, in], null where it has none) ──
    case 'unhold': {
      const s = c.session.owner;
      for (const h of handlesOf(a as HandleIds)) if ((h.bySession.get(s) ?? 0) > 0) hold(h, s, -1);
      return;
    }
    case 'holdToken': {
      // A handle serialised for another process (or thread): counted until it is revived.
      const t = a[0] as string;
      if (adoptedEarly.delete(t) || droppedEarly.delete(t)) return;
      const ids: HandleIds = [a[1] as string | null, a[2] as string | null];
      for (const h of handlesOf(ids)) count(h, 1);
      transfers.set(t, ids);
      return;
    }
    case 'adopt': {
      // The token's count becomes the session's: the session's first, so that a total never
      // touches 0 in between (that would answer EOFError, or break the pipe).
      const t = a[0] as string;
      const hs = handlesOf([a[1] as string | null, a[2] as string | null]);
      for (const h of hs) hold(h, c.session.owner, 1);
      if (transfers.delete(t)) for (const h of hs) count(h, -1);
      else adoptedEarly.add(t);
      return;
    }
    case 'dropTokens':
      // Handles sent that will never be revived (their child ended first, their encode failed).
      for (const t of a[0] as string[]) {
        if (forgetToken(t)) continue;
        // Unknown: already revived (the creator dropping the tokens of a child that ended,
        // its own holdToken being long counted), or — from another thread — not held yet.
        const creator = t.slice(0, t.lastIndexOf('/')); // `${owner}/${seq}` (connection.ts)
        if (creator !== c.session.owner && !adoptedEarly.has(t)) droppedEarly.add(t);
      }
      return;
    case 'pipeState': {
      // Tests' view of a direction: items, writers, and the polls parked (a withdrawn poll must
      // leave none).
      const q = pipe(id);
      let polls = 0;
      for (const w of q.getters) if (pollWaiters.has(w)) polls++;
      ok(c, r, [q.items.length, q.pipe.writers.count, polls]);
      return;
    }
    case 'pipePoll': {
      // Connection.poll: answers true once a get would not wait (an item, or EOFError), false
      // when the timeout passes. Parked among the getters, so that whatever wakes a get (a put,
      // items handed back, the last writer or reader gone) wakes it too; it never takes an item.
      // FIFO with the gets: one parked before it takes the item first, and the poll waits on
      // (a recv would wait too).
      const q = pipe(id);
      park(
        c,
        r,
        q.getters,
        a[0] as number | null,
        () => {
          const p = q.pipe;
          if (q.items.length === 0 && p.writers.count > 0 && p.readers.count > 0) return false;
          ok(c, r, true);
          return true;
        },
        () => ok(c, r, false),
      );
      const w = c.waiters.get(r);
      if (w !== undefined && w.list === q.getters) pollWaiters.add(w);
      return;
    }
    case 'pipeWatch': {
      // A writing handle waits to hear that nobody can read the direction any more.
      const q = pipe(id);
      park(
        c,
        r,
        q.pipe.watchers,
        null,
        () => {
          if (q.pipe.readers.count > 0) return false;
          ok(c, r, true);
          return true;
        },
        () => {},
      );
      return;
    }
    case 'taskDone': {
      const q = get(id, 'queue');
      const n = (a[0] as number) ?? 1;
      // A request (r ≥ 0) comes from a thread that took none of the items it marks done: legal
      // in Python, whose count is the queue's, as long as the queue has that many unfinished.
      if (r >= 0 && q.unfinished < n) {
        fail(c, r, 'ValueError', 'task_done() called too many times');
        return;
      }
      q.unfinished -= n;
      const own = q.taken.get(c.session) ?? 0;
      q.taken.set(c.session, Math.max(0, own - n));
      // Items another session took and this one marked done (a hand-off between threads or
      // processes): no longer counted against that session if it dies. Those of a consumer
      // that has ended first: it handed them on before it ended, and a join() made now must not
      // fail for items that are all done (it did, when the taker exited before the taskDone).
      let left = r >= 0 ? n - own : 0;
      while (left > 0 && q.orphans.length > 0) {
        const o = q.orphans[0] as { who: string; n: number };
        const k = Math.min(o.n, left);
        o.n -= k;
        left -= k;
        if (o.n === 0) q.orphans.shift();
      }
      q.dead = orphanError(q.orphans);
      for (const [s, k] of q.taken) {
        if (left <= 0) break;
        if (k <= 0) continue;
        q.taken.set(s, Math.max(0, k - left));
        left -= k;
      }
      if (q.unfinished <= 0) {
        // Every item put is done: nothing was lost, whoever took it.
        q.unfinished = 0;
        q.orphans = [];
        q.dead = null;
        pump(q.joiners);
      }
      if (r >= 0) ok(c, r);
      return;
    }
    case 'join': {
      const q = get(id, 'queue');
      park(
        c,
        r,
        q.joiners,
        a[0] as number | null,
        () => {
          if (q.dead !== null) {
            fail(c, r, 'ProcessError', q.dead);
            return true;
          }
          if (q.unfinished > 0) return false;
          ok(c, r);
          return true;
        },
        () => ok(c, r, false),
      );
      return;
    }
    case 'close':
      get(id, 'queue').closed = true;
      return;
    // ── locks ──
    case 'acquire': {
      const l = get(id, 'lock');
      const [, block, timeout, task = 0] = a as [string, boolean, number | null, number?];
      const s = c.session;
      if (l.holderEnded()) lockRelease(l, null);
      // Only a wait that could last for ever is a deadlock (broker-deadlock.ts).
      const untimed = block && timeout === null;
      if (untimed && l.locked() && !(l.recursive && l.heldBy(s))) {
        const cycle = findLockCycle(l, s, task, c.role === 's');
        if (cycle !== null) {
          const message =
            cycle.length === 1
              ? `Deadlock: ${cycle[0]?.waiter} would wait for ever for ${cycle[0]?.resource}, which it holds itself (a Lock is not reentrant: use an RLock)`
              : `Deadlock: ${describeCycle(cycle)}`;
          c.send({ r, e: encodeError(new DeadlockError(message, cycle)) });
          return;
        }
      }
      park(
        c,
        r,
        l.waiters,
        block ? timeout : 0,
        () => {
          if (!l.take(s, task)) return false;
          ok(c, r, true);
          return true;
        },
        () => {
          ok(c, r, false);
          lockSettle(l);
        },
        // Withdrawn (an aborted signal): as any waiter, and WAITERS goes if it was the last.
        (w) => {
          remove(w);
          c.send({ r: w.r, c: 1 });
          lockSettle(l);
        },
        untimed ? l : undefined,
        task,
      );
      lockSettle(l);
      return;
    }
    case 'release': {
      const l = get(id, 'lock');
      // An RLock's release may say which tasks hold what is left (broker-deadlock.ts).
      let err = lockRelease(l, c.session, a[1]);
      if (err !== null && giveUpSwept(l, c.session)) err = null;
      if (r >= 0) {
        if (err) fail(c, r, 'RuntimeError', err);
        else ok(c, r);
      }
      return;
    }
    case 'locked':
      ok(c, r, get(id, 'lock').locked());
      return;
    case 'ping':
      // Answered after what the thread sent before it (value.ts: a thread moving to the slab).
      ok(c, r);
      return;
    // ── semaphores ──
    case 'semAcquire': {
      const s = get(id, 'sem');
      // `seen`: a withdrawable acquire (a signal), and the number of such grants the client had
      // taken when it sent this one (Conn.grants): those are forgotten.
      const [block, timeout, seen] = a as [boolean, number | null, number?];
      if (seen !== undefined) {
        for (const [k, g] of c.grants) {
          if (g.seq > seen) break;
          c.grants.delete(k);
        }
      }
      // Permits a client gave back in the slab while waiters are parked are theirs, though its
      // word about them (a release of 0) may come after this: the parked first (broker-sem.ts).
      if (s.waiters.length > 0 && s.value > 0) pump(s.waiters);
      park(
        c,
        r,
        s.waiters,
        block ? timeout : 0,
        () => {
          if (!s.take()) return false;
          if (seen !== undefined) {
            c.grants.set(r, { seq: ++c.granted, sem: s });
          }
          ok(c, r, true);
          return true;
        },
        () => {
          ok(c, r, false);
          s.settle(pump);
        },
        // Withdrawn (an aborted signal): as any waiter, and WAITERS goes if it was the last.
        (w) => {
          remove(w);
          c.send({ r: w.r, c: 1 });
          s.settle(pump);
        },
      );
      // Parked: WAITERS before anything else is answered (broker-sem.ts).
      s.settle(pump);
      return;
    }
    case 'semRelease': {
      const s = get(id, 'sem');
      const err = releaseSem(s, (a[0] as number) ?? 1, () => {
        if (r >= 0) ok(c, r);
      });
      if (err !== null && r >= 0) fail(c, r, 'ValueError', err);
      return;
    }
    case 'semValue':
      ok(c, r, get(id, 'sem').value);
      return;
    // ── events ──
    case 'set': {
      // With a generation: a client raised FLAG in the slab over WAITERS (broker-event.ts), and
      // the waiters parked before its set are woken even if a clear came since.
      const e = get(id, 'event');
      // Without one (a thread without the slab): the broker's own set, whose generation wakes
      // the same waiters, though a client's clear in the slab follows it at once.
      const g = typeof a[0] === 'number' ? a[0] : e.set();
      if (g !== null) e.wakeBefore(g, pump);
      else pump(e.waiters);
      e.settle(pump);
      return;
    }
    case 'clear':
      get(id, 'event').clear();
      return;
    case 'isSet':
      ok(c, r, get(id, 'event').flag);
      return;
    case 'wait': {
      const e = get(id, 'event');
      let gen = -1;
      park(
        c,
        r,
        e.waiters,
        a[0] as number | null,
        () => {
          if (gen < 0) {
            // Parking: WAITERS by CAS from the word found clear (broker-event.ts `arm`).
            const g = e.arm();
            if (g !== null) {
              gen = g;
              return false;
            }
          } else if (!e.wakes(gen)) return false;
          ok(c, r, true);
          return true;
        },
        () => {
          ok(c, r, false);
          e.settle(pump);
        },
        (w) => {
          remove(w);
          c.send({ r: w.r, c: 1 });
          e.settle(pump);
        },
      );
      e.settle(pump);
      return;
    }
    // ── conditions: the broker owns the lock, so wait releases and re-acquires it here ──
    case 'condWait': {
      const cv = get(id, 'cond');
      const l = get(cv.lock, 'lock');
      const [, timeout] = a as [string, number | null];
      const s = c.session;
      if (!l.heldBy(s)) {
        fail(c, r, 'RuntimeError', 'cannot wait on un-acquired lock');
        return;
      }
      // Every hold of the session goes down with the wait, and comes back after it.
      const swept: Swept = { lock: l, session: s, depth: l.count };
      sweptHolds.add(swept);
      // The asyncio task that held it holds it again after the wait (deadlock detection).
      const task = l.holderTask;
      l.count = 1;
      lockRelease(l, s);
      let notified = false;
      // Withdrawn by its client (an aborted signal): it still re-acquires the lock, as Python's
      // wait does when cancelled, and answers "cancelled" only then.
      let withdrawn = false;
      const reacquire = (result: boolean): void => {
        // An untimed wait for the lock: walks go through it (broker-deadlock.ts), though it is
        // never told itself — a wait must end holding its lock, as Python's does.
        park(
          c,
          r,
          l.waiters,
          null,
          () => {
            if (!l.take(s, task)) return false;
            // Its `depth` holds come back on top of any another task of the thread took
            // meanwhile (an RLock is the thread's): Python's wait re-acquires `depth` times.
            l.count = l.count - 1 + swept.depth;
            sweptHolds.delete(swept);
            if (!withdrawn) ok(c, r, result);
            else {
              // A notification it took and will not report goes to the next waiter, as in
              // Python's asyncio: a withdrawn waiter must not swallow a notify meant for one.
              if (result) notifyCond(cv, 1);
              c.send({ r, c: 1 });
            }
            return true;
          },
          () => {},
          // Withdrawn while re-acquiring: the wait is over once the lock is held again.
          () => {
            withdrawn = true;
          },
          l,
          // The task that held it waits for it again.
          task,
        );
        lockSettle(l);
      };
      const w: CondWaiter = {
        conn: c,
        r,
        timer: null,
        list: cv.waiters,
        attempt: () => {
          if (!notified) return false;
          reacquire(true);
          return true;
        },
        timedOut: () => reacquire(false),
        notify: () => {
          notified = true;
        },
        withdraw: (self) => {
          remove(self);
          withdrawn = true;
          reacquire(false);
        },
      };
      w.timer = deadline(timeout, () => {
        remove(w);
        w.timedOut();
      });
      cv.waiters.push(w);
      c.waiters.set(r, w);
      return;
    }
    case 'notify':
      notifyCond(get(id, 'cond'), (a[0] as number) ?? 1);
      if (r >= 0) ok(c, r);
      return;
    // ── barriers ──
    case 'barrierWait': {
      const b = get(id, 'barrier');
      const [timeout, hasAction] = a as [number | null, boolean?];
      if (b.broken) {
        fail(c, r, 'BrokenBarrierError', 'The barrier is broken');
        return;
      }
      const gen = b.generation;
      // Python's index: the order of arrival; the last party runs the action.
      const me = b.count++;
      if (b.count === b.parties) {
        b.count = 0;
        b.generation++;
        const passing = b.waiters.splice(0);
        if (hasAction === true) {
          // The last party runs the action before anyone goes on: it is told so ([index, gen])
          // and says how the action went (`barrierPass`). A wait that times out meanwhile does
          // not break a generation whose parties have all arrived, as in Python.
          for (const w of passing) {
            clearLongTimeout(w.timer);
            w.timer = null;
          }
          b.acting = gen;
          b.actor = c.session;
          b.passing = passing;
          ok(c, r, [me, gen]);
          return;
        }
        ok(c, r, me);
        for (const w of passing) {
          clearLongTimeout(w.timer);
          w.conn.waiters.delete(w.r);
          w.attempt();
        }
        return;
      }
      park(
        c,
        r,
        b.waiters,
        timeout,
        () => {
          if (b.acting === gen || (b.generation === gen && !b.broken)) return false;
          if (b.broken && gen >= b.brokenGen)
            fail(c, r, 'BrokenBarrierError', 'The barrier is broken');
          else ok(c, r, me);
          return true;
        },
        () => {
          fail(c, r, 'BrokenBarrierError', 'The barrier timed out');
          breakBarrier(b);
        },
        // A party withdrawn (an aborted signal) breaks the barrier as a timeout does, as weft's
        // threading Barrier does: the others would wait for it for ever. One whose generation
        // has all arrived (its action running) breaks nothing: the generation is passing.
        (w) => {
          remove(w);
          c.send({ r, c: 1 });
          if (b.acting === gen) {
            const k = b.passing.indexOf(w);
            if (k >= 0) b.passing.splice(k, 1);
            return;
          }
          breakBarrier(b);
        },
      );
      return;
    }
    case 'barrierPass': {
      // The acting party's action is done: `passed` false when it threw (its party gets that
      // error; the others BrokenBarrierError, as in Python).
      const b = get(id, 'barrier');
      const [gen, passed] = a as [number, boolean];
      if (!passed) {
        // Even when the action broke or reset the barrier before it threw, its party gets what
        // it threw, and the barrier ends broken, as Python's `_release` breaks it last.
        breakBarrier(b);
        ok(c, r);
        return;
      }
      if (b.acting !== gen) {
        // Broken while the action ran (by the action itself, or an abort or reset it made).
        fail(c, r, 'BrokenBarrierError', 'The barrier is broken');
        return;
      }
      releasePassing(b);
      ok(c, r);
      endPass(b);
      return;
    }
    case 'barrierAbort': {
      const b = get(id, 'barrier');
      // From another session while an action runs: after it, as Python's abort waits for the
      // lock the last party holds through its action. From the action's own thread: now, and
      // the passing generation breaks with it.
      if (b.acting >= 0 && b.actor !== c.session) b.afterPass.push(() => breakBarrier(b));
      else breakBarrier(b);
      return;
    }
    case 'barrierReset': {
      const b = get(id, 'barrier');
      const reset = (): void => {
        if (b.count > 0 || b.acting >= 0) breakBarrier(b);
        b.broken = false;
        b.count = 0;
        b.generation++;
        if (r >= 0) ok(c, r);
      };
      if (b.acting >= 0 && b.actor !== c.session) b.afterPass.push(reset);
      else reset();
      return;
    }
    case 'barrierState': {
      const b = get(id, 'barrier');
      ok(c, r, [b.count, b.broken]);
      return;
    }
    // ── plain data (Value, Array, Manager proxies): one operation at a time, so each is atomic ──
    case 'dataGet': {
      const d = dataOf(id);
      ok(
        c,
        r,
        d.cell !== null
          ? d.cell.get()
          : d.store !== null
            ? d.store.brokerSlice(0, d.store.length, numberEnded)
            : d.data,
      );
      return;
    }
    case 'dataSet': {
      // [the number wrapped to the type code, the number as given]: a cell wraps it itself.
      const d = dataOf(id);
      if (d.cell !== null) d.cell.set((a[1] ?? a[0]) as number);
      else d.data = a[0];
      if (r >= 0) ok(c, r);
      return;
    }
    case 'dataOp': {
      const d = dataOf(id);
      try {
        ok(c, r, dataOp(d, a[0] as string, a.slice(1)));
      } catch (e) {
        c.send({ r, e: encodeError(e) });
      }
      return;
    }
    default:
      fail(c, r, 'RuntimeError', `unknown broker operation ${op}`);
  }
}

/**
 * Operations of Manager proxies, Values and Arrays, run where the data lives. The data's shape
 * says whose it is: a Map is a dict, an array a list (or an Array, whose client already checked
 * the index), another object a Namespace, a number a Value. A bad index, key or name raises
 * Python's error for it (IndexError, KeyError, AttributeError, TypeError) and changes nothing:
 * JavaScript's answer (undefined, a hole, a NaN, a property '1.5') would corrupt shared state
 * that every process sees.
 */
function dataOp(
  d: { data: unknown; cell: ValueCell | null; store: ArrayStore | null },
  op: string,
  a: unknown[],
): unknown {
  if (d.store !== null) return storeOp(d.store, op, a);
  if (d.cell !== null) {
    if (op === 'incr') return d.cell.add(a[0] as number);
    throw new TypeError(`unknown data operation ${op} on a Value`);
  }
  const x = d.data;
  if (x instanceof Map) return dictOp(x, op, a);
  if (Array.isArray(x)) return listOp(x, op, a);
  if (typeof x === 'object' && x !== null) return namespaceOp(x as Record<string, unknown>, op, a);
  if (op === 'incr') {
    // A Value wraps to its type code (Value('b', 127) + 1 is -128), as `.value =` stores it; an
    // integer code adds `n` wrapped first, as C adds a c_int (so n past 2^53 adds exactly).
    const code = a[1] as string;
    const c = coercer(code);
    const n = a[0] as number;
    d.data = c((x as number) + (code === 'f' || code === 'd' ? n : c(n)));
    return d.data;
  }
  throw new TypeError(`unknown data operation ${op} on a Value`);
}

/** The data object `id`. @throws RuntimeError for an Array whose file the broker could not map. */
function dataOf(id: string | undefined): Extract<Obj, { k: 'data' }> {
  const d = get(id, 'data');
  if (d.data === undefined && d.cell === null && d.store === null)
    throw new Failure(
      'RuntimeError',
      `The broker could not map the shared file of Array ${id} (/dev/shm full, or out of memory): it cannot serve the threads that do not map it themselves`,
    );
  return d;
}

/** The items of the Array `id` in its file (array-store.ts), or null when it cannot be mapped. */
function arrayStoreOf(id: string, p: Record<string, unknown>): ArrayStore | null {
  const typecode = p.typecode as string;
  const length = p.length as number;
  const buffer = mapArrayFile(arrayPathOf(brokerPath, id), storeBytes(typecode, length), false);
  return buffer === null ? null : new ArrayStore(buffer, typecode, length);
}

/**
 * An Array operation for a thread that cannot map its file (array-store.ts), on the items there.
 * Indices and values were checked by the client, as for an Array in `data`.
 */
function storeOp(st: ArrayStore, op: string, a: unknown[]): unknown {
  switch (op) {
    case 'getItem':
      return st.brokerGet(a[0] as number, numberEnded);
    case 'getSlice': {
      const [start, stop] = sliceBounds({ length: st.length }, a[0], a[1]);
      return st.brokerSlice(start, stop, numberEnded);
    }
    case 'setItem':
      return st.brokerWrite(() => st.put(a[0] as number, a[1] as number), numberEnded);
    case 'add':
      return st.brokerWrite(() => st.putAdd(a[0] as number, a[1] as number), numberEnded);
    case 'setSlice': {
      const [start, stop] = sliceBounds({ length: st.length }, a[0], a[1]);
      const items = a[2] as number[];
      checkSliceSize(stop - start, items.length);
      return st.brokerWrite(() => {
        for (let i = 0; i < items.length; i++) st.put(start + i, items[i] as number);
      }, numberEnded);
    }
    default:
      throw new TypeError(`unknown data operation ${op} on an Array`);
  }
}

function dictOp(x: Map<unknown, unknown>, op: string, a: unknown[]): unknown {
  switch (op) {
    case 'lookup':
      // Present or not in one answer: a `has` then a get would miss a key deleted in between.
      return x.has(a[0]) ? [x.get(a[0])] : [];
    case 'setItem':
      x.set(a[0], kept(a[1]));
      return undefined;
    case 'delItem':
      return x.delete(a[0]);
    case 'has':
      return x.has(a[0]);
    case 'keys':
      return [...x.keys()];
    case 'size':
      return x.size;
    case 'add': {
      // Python's `d[k] += n`: KeyError for a missing key before anything about the types.
      const [k, n] = a;
      if (!x.has(k))
        throw new Failure(
          'KeyError',
          `Key not found in the dict: received ${describeValue(k)} (size ${x.size})`,
        );
      const next = added(x.get(k), n, k);
      x.set(k, next);
      return next;
    }
    case 'clear':
      x.clear();
      return undefined;
    case 'pop': {
      // Found and removed in one step (a lookup then a delete could lose a value set between).
      if (!x.has(a[0])) return [];
      const v = x.get(a[0]);
      x.delete(a[0]);
      return [v];
    }
    case 'setDefault':
      if (x.has(a[0])) return x.get(a[0]);
      x.set(a[0], kept(a[1]));
      return a[1];
    case 'update':
      for (const [k, v] of a as Array<[unknown, unknown]>) x.set(k, kept(v));
      return undefined;
    default:
      throw new TypeError(`unknown data operation ${op} on a dict`);
  }
}

function listOp(x: unknown[], op: string, a: unknown[]): unknown {
  switch (op) {
    case 'getItem':
      return x[listIndex(x, a[0], 'list index')];
    case 'setItem':
      x[listIndex(x, a[0], 'list assignment index')] = kept(a[1]);
      return undefined;
    case 'push':
      return x.push(...a.map(kept));
    case 'pop':
      if (x.length === 0) throw new Failure('IndexError', 'pop from empty list');
      if (a.length === 0) return x.pop();
      return x.splice(listIndex(x, a[0], 'pop index'), 1)[0];
    case 'insert': {
      // Python's insert never fails on the index: it clamps it to the list.
      const i = a[0];
      if (typeof i !== 'number' || !Number.isInteger(i))
        throw new TypeError(`list indices must be integers: received ${describeValue(i)}`);
      const k = Math.min(Math.max(i < 0 ? i + x.length : i, 0), x.length);
      x.splice(k, 0, kept(a[1]));
      return undefined;
    }
    case 'remove': {
      // Items compare as Python's == compares plain data: by value (the stored form, read).
      const k = indexOfValue(x, a[0]);
      if (k === -1)
        throw new RangeError(`list.remove(x): x not in list: received ${describeStored(a[0])}`);
      x.splice(k, 1);
      return undefined;
    }
    case 'index': {
      const k = indexOfValue(x, a[0]);
      if (k === -1) throw new RangeError(`${describeStored(a[0])} is not in list`);
      return k;
    }
    case 'count': {
      const want = opened(a[0]);
      const exact = !holdsNaN(want);
      let n = 0;
      for (const v of x) if (sameValue(v, a[0], want, exact)) n++;
      return n;
    }
    case 'size':
      return x.length;
    case 'getSlice': {
      const [start, stop] = sliceBounds(x, a[0], a[1]);
      return x.slice(start, stop);
    }
    case 'setSlice': {
      // Python's `l[i:j] = items`: a list takes any number of items in the place of the slice; an
      // Array (its type code given) has a fixed length, so only as many as the slice holds.
      const [start, stop] = sliceBounds(x, a[0], a[1]);
      const items = a[2] as unknown[];
      const typecode = a[3] as string | undefined;
      if (typecode !== undefined) checkSliceSize(stop - start, items.length);
      x.splice(start, stop - start, ...items.map(kept));
      return undefined;
    }
    case 'add': {
      // An Array's element (its client checked the index) wraps to its type code, as a set would.
      const [i, n, typecode] = a as [unknown, unknown, string | undefined];
      const k = listIndex(x, i, 'list index');
      const sum = added(x[k], n, i);
      x[k] = typecode === undefined ? sum : coercer(typecode)(sum);
      return x[k];
    }
    default:
      throw new TypeError(`unknown data operation ${op} on a list`);
  }
}

/**
 * A Manager value as stored (manager.ts's `stored`): an object arrives as its bytes, in a queue
 * item's wire form (broker-item.ts), which the broker keeps without reading; read here only to
 * compare it. @throws RuntimeError `ERR_WEFT_UNREADABLE_MESSAGE` for one nested deeper than this
 * thread's stack can read: that call fails, the data and the connection stay as they were.
 */
function opened(v: unknown): unknown {
  let bytes: Uint8Array;
  if (typeof v === 'string') {
    if (v.charCodeAt(0) !== 0xff) return v;
    bytes = Buffer.from(v, 'latin1');
  } else if (Array.isArray(v) && v.length === 2 && v[0] instanceof Uint8Array) bytes = v[0];
  else return v;
  try {
    return readBytes(bytes);
  } catch (e) {
    throw new RuntimeError(
      `The manager could not read a value to compare it (${describeError(e)}): it is nested too deeply for the broker's stack; nothing changed: compare flatter data`,
      'ERR_WEFT_UNREADABLE_MESSAGE',
    );
  }
}

/** The first item of `x` equal to `want` (both as stored), or −1. */
function indexOfValue(x: unknown[], want: unknown): number {
  const w = opened(want);
  const exact = !holdsNaN(w);
  return x.findIndex((v) => sameValue(v, want, w, exact));
}

/**
 * Whether the stored value `v` equals `want` (as stored; `w`: `want` read). A stored value too
 * deep for this thread to read is not equal to `want`, which it could read: only a value as deep
 * could be. It used to fail the call: one such value in a list failed every later `index`,
 * `count` or `remove` of any value past it, flat ones too (Python's == of a nested list and a
 * string answers False at once).
 */
function sameValue(v: unknown, want: unknown, w: unknown, exact: boolean): boolean {
  // The same bytes are the same value, unless it holds a NaN (`[NaN]` is not equal to itself);
  // a value written with its keys in another order is not the same bytes and is still equal, as
  // Python's dicts are.
  if (v === want && exact) return true;
  let o: unknown;
  try {
    o = opened(v);
  } catch {
    return false;
  }
  return pythonEqual(o, w);
}

/**
 * Whether `x` (read) holds a NaN where `pythonEqual` compares numbers: then the same bytes are
 * not an equal value.
 */
function holdsNaN(x: unknown): boolean {
  const todo: unknown[] = [x];
  const met = new Set<object>();
  while (todo.length > 0) {
    const a = todo.pop();
    if (typeof a === 'number') {
      if (Number.isNaN(a)) return true;
      continue;
    }
    if (typeof a !== 'object' || a === null || met.has(a)) continue;
    met.add(a);
    // One push per item: a spread of a long array would pass more arguments than a call takes.
    if (Array.isArray(a)) {
      let i = 0;
      for (; i < a.length && Object.hasOwn(a, i); i++) todo.push(a[i]);
      if (i < a.length) for (const j of indexesFrom(a, i)) todo.push(a[j]);
    } else if (floatArrays.some((c) => a instanceof c)) {
      if ((a as Float64Array).some(Number.isNaN)) return true;
    } else if (a instanceof Map) for (const [k, v] of a) todo.push(k, v);
    else if (a instanceof Set) for (const v of a) todo.push(v);
    else if (Object.getPrototypeOf(a) === Object.prototype || Object.getPrototypeOf(a) === null)
      for (const v of Object.values(a)) todo.push(v);
  }
  return false;
}

/**
 * The indexes from `from` on that `a`, a sparse array, holds. A sparse array (`a[1e9] = 1`) is
 * walked by what it holds, not by its length: one push per index up to its length overran V8's
 * largest array, a fatal error that ended the process.
 */
function indexesFrom(a: readonly unknown[], from: number): number[] {
  const out: number[] = [];
  for (const k of Object.keys(a)) {
    const n = Number(k);
    if (n >= from && String(n) === k) out.push(n);
  }
  return out;
}

const floatArrays: readonly Function[] = [
  Float32Array,
  Float64Array,
  ...(typeof (globalThis as { Float16Array?: Function }).Float16Array === 'function'
    ? [(globalThis as unknown as { Float16Array: Function }).Float16Array]
    : []),
];

/**
 * Python's `==` of two values read from their stored form, where JavaScript data has a Python
 * counterpart: a number equals a number by `===` at any depth (`-0` equals `0`, as `-0.0 == 0.0`;
 * `NaN` equals nothing, as in a Python Manager's list, whose items are copies and so never the
 * very object `in` would match first); an array, a plain object or a Map equals one of the same
 * kind whose items are equal, an object's keys in any order; a float typed array compares by
 * element as Python's `array('d')` does. Anything else compares as `isDeepStrictEqual`.
 *
 * A loop over pairs rather than recursion: a value this thread could read can be compared, however
 * deep. A pair met again (a value that contains itself) is taken as equal, as its other items
 * decide.
 */
function pythonEqual(x: unknown, y: unknown): boolean {
  const todo: unknown[] = [x, y];
  const met = new Map<object, Set<object>>();
  while (todo.length > 0) {
    const b = todo.pop();
    const a = todo.pop();
    if (typeof a === 'number' || typeof b === 'number') {
      if (a !== b) return false;
      continue;
    }
    if (a === b) continue;
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    let pairs = met.get(a);
    if (pairs?.has(b)) continue;
    if (pairs === undefined) met.set(a, (pairs = new Set()));
    pairs.add(b);
    if (Array.isArray(a)) {
      const other = b as unknown[];
      if (a.length !== other.length) return false;
      let i = 0;
      for (; i < a.length && Object.hasOwn(a, i); i++) {
        if (!Object.hasOwn(other, i)) return false;
        todo.push(a[i], other[i]);
      }
      if (i < a.length) {
        // A hole at i: the rest by the indexes each holds.
        const held = indexesFrom(a, i);
        if (held.length !== indexesFrom(other, i).length) return false;
        for (const j of held) {
          if (!Object.hasOwn(other, j)) return false;
          todo.push(a[j], other[j]);
        }
      }
    } else if (floatArrays.some((c) => a instanceof c)) {
      const p = a as Float64Array;
      const q = b as Float64Array;
      if (p.length !== q.length) return false;
      for (let i = 0; i < p.length; i++) if (p[i] !== q[i]) return false;
    } else if (
      a instanceof Map &&
      ![...a.keys()].some((k) => typeof k === 'object' && k !== null)
    ) {
      // (A Map with an object key: a lookup cannot name that key, so it is left to the last case.)
      const other = b as Map<unknown, unknown>;
      if (a.size !== other.size) return false;
      for (const [k, v] of a) {
        // A NaN key is no key of another Map, as a Python Manager's copy of `nan` is another object.
        if (Number.isNaN(k) || !other.has(k)) return false;
        todo.push(v, other.get(k));
      }
    } else if (a instanceof Set && ![...a].some((k) => typeof k === 'object' && k !== null)) {
      // Members compared as a Python set's (hash, then ==): NaN is no member of another Set; -0
      // and 0 are one member already.
      const other = b as Set<unknown>;
      if (a.size !== other.size) return false;
      for (const k of a) if (Number.isNaN(k) || !other.has(k)) return false;
    } else if (Object.getPrototypeOf(a) === Object.prototype || Object.getPrototypeOf(a) === null) {
      const keys = Object.keys(a);
      if (keys.length !== Object.keys(b).length) return false;
      for (const k of keys) {
        if (!Object.hasOwn(b, k)) return false;
        todo.push((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]);
      }
    } else if (!isDeepStrictEqual(a, b)) return false;
  }
  return true;
}

/**
 * A Manager value as the broker keeps it. A large one comes as `[bytes, []]` (broker-item.ts),
 * its bytes a view the frame reader made of the whole chunk its frame came in: stored as it is,
 * a 70 KiB value kept alive the megabytes of whatever shared its frame (a value set with it in
 * one `update`, a queue item put in the same turn) for as long as the manager holds it. Its
 * bytes are copied into memory of their own (a queue item, taken soon, is not).
 */
function kept(v: unknown): unknown {
  if (!Array.isArray(v) || v.length !== 2 || !(v[0] instanceof Uint8Array)) return v;
  const b = v[0];
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return v;
  return [new Uint8Array(b), v[1]];
}

/** A data object's `init` (a Manager dict's Map, a list, a Namespace's object), its values `kept`. */
function keptInit(init: unknown): unknown {
  if (init instanceof Map) {
    for (const [k, v] of init) init.set(k, kept(v));
  } else if (Array.isArray(init)) {
    for (let i = 0; i < init.length; i++) init[i] = kept(init[i]);
  } else if (typeof init === 'object' && init !== null && !ArrayBuffer.isView(init)) {
    for (const k of Object.keys(init)) {
      const r = init as Record<string, unknown>;
      Object.defineProperty(r, k, {
        value: kept(r[k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return init;
}

/** `describeValue` of a value as stored (its bytes read when this thread can). */
function describeStored(v: unknown): string {
  try {
    return describeValue(opened(v));
  } catch {
    return 'a value nested too deeply to show';
  }
}

function namespaceOp(x: Record<string, unknown>, op: string, a: unknown[]): unknown {
  const name = a[0];
  if (typeof name !== 'string')
    throw new TypeError(`Namespace attribute names are strings: received ${describeValue(name)}`);
  switch (op) {
    case 'getItem':
      // Own names only: `toString` or `__proto__` are the object's, not the Namespace's.
      if (!Object.hasOwn(x, name)) {
        const names = Object.keys(x);
        const shown = names.slice(0, 10).join(', ') + (names.length > 10 ? ', …' : '');
        throw new Failure(
          'AttributeError',
          `Namespace has no attribute ${describeValue(name)} (it has ${names.length}${names.length > 0 ? `: ${shown}` : ''})`,
        );
      }
      return x[name];
    case 'setItem':
      // Defined, not assigned: assigning `__proto__` would change the object's prototype.
      Object.defineProperty(x, name, {
        value: kept(a[1]),
        writable: true,
        enumerable: true,
        configurable: true,
      });
      return undefined;
    default:
      throw new TypeError(`unknown data operation ${op} on a Namespace`);
  }
}

/** The position index `i` names in `x`: a negative one counts from the end, as Python's. */
function listIndex(x: unknown[], i: unknown, what: string): number {
  if (typeof i !== 'number' || !Number.isInteger(i))
    throw new TypeError(`list indices must be integers: received ${describeValue(i)}`);
  const k = i < 0 ? i + x.length : i;
  if (k < 0 || k >= x.length)
    throw new Failure('IndexError', `${what} out of range: received ${i} (length ${x.length})`);
  return k;
}

/**
 * The positions `x[start:stop]` covers, as Python computes them for a slice: a missing or null
 * bound is the end, a negative one counts from the end, and both are clamped to the list (never
 * an IndexError); a stop before the start is an empty slice at the start.
 */
function sliceBounds(x: { length: number }, start: unknown, stop: unknown): [number, number] {
  const at = (i: unknown, fallback: number): number => {
    if (i === undefined || i === null) return fallback;
    if (typeof i !== 'number' || !Number.isInteger(i))
      throw new TypeError(`slice indices must be integers or null: received ${describeValue(i)}`);
    return i < 0 ? Math.max(i + x.length, 0) : Math.min(i, x.length);
  };
  const s = at(start, 0);
  return [s, Math.max(at(stop, x.length), s)];
}

/** `cur + n` for an atomic add, where both are numbers (`at` names the element, for the message). */
function added(cur: unknown, n: unknown, at: unknown): number {
  if (typeof n !== 'number')
    throw new TypeError(`add expects a number to add: received ${describeValue(n)}`);
  if (typeof cur !== 'number')
    throw new TypeError(
      `Cannot add to the value under ${describeValue(at)}: it is not a number: received ${describeStored(cur)}`,
    );
  return cur + n;
}

/**
 * A session ended (its process or thread is gone): the locks it held go to the next in line,
 * the parked waiters of a semaphore get permits its count holds (a releaser that died
 * between its compare-and-swap in the slab and its release of 0: broker-sem.ts), an Event's
 * waiters parked before a set whose word never came wake, and an Event whose last waiters were
 * its own clears WAITERS (broker-event.ts). Semaphore
 * permits it took do not come back: a semaphore has no owner (any process may release it), so
 * a permit a process took may have been the signal it waited for, or one another process
 * releases — giving it back would invent a permit (Python gives none back either).
 */
function onSessionEnd(s: Session): void {
  for (const w of sweptHolds) if (w.session === s) sweptHolds.delete(w);
  for (const [, o] of objects) {
    if (o.k === 'queue') {
      returnLent(o, s);
      if (o.pipe !== null) {
        for (const h of [o.pipe.writers, o.pipe.readers]) {
          const mine = h.bySession.get(s.owner);
          if (mine !== undefined) hold(h, s.owner, -mine);
        }
      }
    }
    if (o.k === 'data' && o.store !== null && s.number !== 0) o.store.freeHeldBy(s.number);
    if (o.k === 'lock' && o.heldBy(s)) {
      lockRelease(o, null);
    } else if (o.k === 'sem' && o.waiters.length > 0 && o.value > 0) {
      // Permits in the slab while waiters are parked are theirs: a session that gave them back
      // there and ended before its word (a release of 0) left would leave them unserved.
      pump(o.waiters);
      o.settle(pump);
    } else if (o.k === 'event') {
      // It may have set the flag in the slab and died before its word (a clear may follow):
      // the waiters parked before that set wake. Its own waiters were dropped with its
      // connections: WAITERS goes if they were the last.
      o.wakeSetSince(pump);
      o.settle(pump);
    } else if (o.k === 'barrier' && o.acting >= 0 && o.actor === s) {
      // Its action will never say how it went: nobody would release its generation.
      breakBarrier(o);
    } else if (o.k === 'queue' && o.joinable) {
      const n = o.taken.get(s) ?? 0;
      o.taken.delete(s);
      if (n > 0 && o.unfinished > 0) {
        o.orphans.push({ who: `${s.name} (pid ${s.pid})`, n });
        o.dead = orphanError(o.orphans);
        pump(o.joiners);
      }
    }
  }
}

/** The ProcessError of a JoinableQueue's join() while consumers that ended owe items, or null. */
function orphanError(orphans: Array<{ who: string; n: number }>): string | null {
  const o = orphans[0];
  if (o === undefined) return null;
  return `A consumer died with ${o.n} item(s) taken from the JoinableQueue and not marked done: ${o.who}`;
}

type PipeQueue = Extract<Obj, { k: 'queue' }> & { pipe: PipeEnds };

/** The waiters among a Pipe direction's getters that are polls (`pipePoll`), not gets. */
const pollWaiters = new WeakSet<Waiter>();

function pipe(id: string | null | undefined): PipeQueue {
  const q = get(id ?? undefined, 'queue');
  if (q.pipe === null) throw new Failure('RuntimeError', `shared object ${id} is not a Pipe`);
  return q as PipeQueue;
}

/** The counts a handle is part of: of the end writing `out`, and of the end reading `in`. */
function handlesOf([out, inn]: HandleIds): Handles[] {
  const hs: Handles[] = [];
  if (out !== null) hs.push(pipe(out).pipe.writers);
  if (inn !== null) hs.push(pipe(inn).pipe.readers);
  return hs;
}

/** `n` more (or fewer) handles of owner `s`. */
function hold(h: Handles, s: string, n: number): void {
  const mine = (h.bySession.get(s) ?? 0) + n;
  if (mine > 0) h.bySession.set(s, mine);
  else h.bySession.delete(s);
  count(h, n);
}

/**
 * `n` more (or fewer) handles in all. The last writer gone wakes the getters (EOFError); the
 * last reader gone drops what the direction holds and answers the writers' watches.
 */
function count(h: Handles, n: number): void {
  h.count += n;
  if (h.count !== 0) return;
  const q = h.q;
  if (!h.reading) {
    pump(q.getters);
    return;
  }
  const dropped: unknown[] = [...q.items.objects()];
  if (q.lent !== null)
    for (const m of q.lent.values())
      for (const l of m.values()) {
        const items = leaseItems(l);
        for (let i = l.at; i < items.length; i++) dropped.push(items[i]);
      }
  q.items.clear();
  q.lent = null;
  q.closed = true;
  dropCarried(dropped);
  pump(q.getters);
  pump(q.pipe.watchers);
}

/** A token's handle will never be revived: it stops counting. False when it is not in transit. */
function forgetToken(t: string): boolean {
  const ids = transfers.get(t);
  if (ids === undefined) return false;
  transfers.delete(t);
  for (const h of handlesOf(ids)) count(h, -1);
  return true;
}

/**
 * Items of a Pipe direction dropped unread (nobody can read it any more): the Pipe ends inside
 * them will never be revived, so their other ends must see EOF, as Python's do when the
 * descriptors go with the unread message. An item carrying ends is `[bytes, tokens]`
 * (broker-item.ts; no other item is a top-level array). Their `holdToken`s came before them,
 * from the putting thread: a token not in transit any more was revived (a lent item its
 * getter took), and that handle is its session's now.
 */
function dropCarried(items: unknown[]): void {
  for (const w of items) {
    if (!Array.isArray(w)) continue;
    for (const t of w[1] as string[]) forgetToken(t);
  }
}

function lend(
  q: Extract<Obj, { k: 'queue' }>,
  s: Session,
  b: number,
  items: unknown[] | EncodedItems,
): void {
  q.lent ??= new Map();
  let m = q.lent.get(s);
  if (m === undefined) {
    m = new Map();
    q.lent.set(s, m);
  }
  m.set(b, { items, at: 0 });
}

/**
 * What a session that ended had fetched and not said it took goes back to the front, oldest
 * batch first. Items it took since it last sent anything come back too: a consumer killed
 * mid-item may not have finished it, and a repeat is better than a loss.
 */
function returnLent(q: Extract<Obj, { k: 'queue' }>, s: Session): void {
  const m = q.lent?.get(s);
  if (m === undefined) return;
  q.lent?.delete(s);
  const back: unknown[] = [];
  for (const l of m.values()) {
    const items = leaseItems(l);
    for (let i = l.at; i < items.length; i++) back.push(items[i]);
  }
  if (back.length > 0) putBack(q, s, back);
}

/** Items session `s` had and will not use go back to the front of `q`, in their order. */
function putBack(q: Extract<Obj, { k: 'queue' }>, s: Session, items: unknown[]): void {
  // Nobody can read a Pipe direction any more: what comes back is dropped with the rest.
  if (q.pipe !== null && q.pipe.readers.count === 0) {
    dropCarried(items);
    return;
  }
  for (let i = items.length - 1; i >= 0; i--) q.items.unshift(items[i]);
  if (q.joinable) q.taken.set(s, Math.max(0, (q.taken.get(s) ?? 0) - items.length));
  pump(q.getters);
}

/** Handles one request; an error it throws is the answer to it. */
function dispatch(c: Conn, m: Request): void {
  try {
    handle(c, m);
  } catch (e) {
    if (typeof m.r === 'number' && m.r >= 0) c.send({ r: m.r, e: encodeError(e) });
  }
}

/**
 * A request of a sync connection: the messages it ships (its thread's async client had not
 * sent them) run first, as that thread's async messages; and it runs only after the async
 * connection has delivered `after` messages — so a blocking call sees everything its thread
 * did before it (a `put` then `qsize()` counts the item).
 */
function dispatchSync(c: Conn, m: Request): void {
  const a = connOf(c.session.owner, 'a');
  const run = (): void => {
    if (m.ship) {
      if (m.dup) runShipped(a, m.after ?? 0, m.ship);
      else for (const x of m.ship) dispatch(a, x);
    }
    dispatch(c, m);
  };
  // Behind the thread's earlier sync requests still waiting, whatever its own `after`.
  if (!a.gone && (a.deferred.length > 0 || (m.after ?? 0) > ranThrough(a)))
    a.deferred.push({ after: m.after ?? 0, run });
  else run();
}

/** Runs the sync requests waiting on async Conn `c` that may run now (see dispatchSync). */
function runDeferred(c: Conn): void {
  const q = c.deferred;
  while (q.length > 0 && (q[0] as { after: number }).after <= ranThrough(c))
    (q.shift() as { run: () => void }).run();
}

/** Async connection `a`'s messages up to this number have run (from its socket or shipped). */
function ranThrough(a: Conn): number {
  return Math.max(a.seen, a.ranAhead);
}

/**
 * Messages numbered `after + 1` on of async connection `a`, shipped by a sync request because
 * the thread's socket had not handed them to the kernel (broker-client.ts, `syncPrelude`): each
 * that neither the socket nor an earlier request has delivered runs now, and the socket's copy
 * is skipped when it comes (`ranAhead`). The request ran once `a` had run through `after`, so
 * what runs here continues that run without a gap.
 */
function runShipped(a: Conn, after: number, ship: Request[]): void {
  for (let i = 0; i < ship.length; i++) {
    const n = after + 1 + i;
    if (n <= a.seen || n <= a.ranAhead) continue;
    dispatch(a, ship[i] as Request);
    a.ranAhead = n;
  }
}

/** The lock slab as the broker maps it (lock-slab.ts), null without one. */
let slab: Int32Array | null = null;
/** The broker's socket path (Array files are named after it). */
let brokerPath = '';

/**
 * Listens at `path` and serves every connection; resolves once listening. The sockets are raw
 * (broker-wire.ts's RawServer) where the addon has Unix sockets, else net's.
 */
export function startBroker(path: string): Promise<{ close(): void }> {
  setRawItems(true);
  // The lock slab, before the first client can connect (lock-slab.ts): clients take locks there
  // only once it says the broker is ready. Sessions without a number of their own take one from
  // its counter, so numbers never collide.
  const mapped = mapSlab(path);
  slab = mapped;
  brokerPath = path;
  if (mapped !== null) {
    setSessionNumbers(() => nextSessionNumber(mapped));
    markBrokerReady(mapped);
  }
  const serve = (socket: WireSocket): void => {
    let c: Conn | null = null;
    const reader = new FrameReader(
      (ms) => {
        for (const m of ms as Request[]) {
          if (c === null) {
            // Every client speaks first: hello [pid, name, owner, role, its lock-slab number].
            const [pid, name, owner, role, number] = (m.a ?? []) as [
              number,
              string,
              string,
              Role,
              number?,
            ];
            if (m.o !== 'hello' || typeof owner !== 'string') {
              socket.destroy();
              return;
            }
            c = attach(socket, pid, name, owner, role === 's' ? 's' : 'a', number ?? 0);
            c.seen++;
            // A sync request that came first may have waited for this hello (it is message 1).
            if (c.deferred.length > 0) runDeferred(c);
            continue;
          }
          c.seen++;
          if (c.role === 's') dispatchSync(c, m);
          else {
            // One a sync request shipped has run already (runShipped).
            if (c.seen > c.ranAhead) dispatch(c, m);
            if (c.deferred.length > 0) runDeferred(c);
          }
        }
      },
      (e) => {
        // The frame's requests are lost (which ones, the frame no longer says): the client fails
        // every request still waiting with this, and the connection ends, as if its thread had
        // died (what it held is freed at its session's end). Python's reader of an unpicklable
        // item raises in the reading process; the broker is every process's reader here, and must
        // not die of one.
        const why = `the multiprocessing broker could not read a message this thread sent (${describeError(e)}); its requests are lost and this thread's connection to the broker is closed: send flatter data`;
        // Before its hello was read (the first frame holds it), the socket has no Conn yet.
        if (c !== null) {
          c.send({ r: 0, unreadable: why });
          c.flush();
        } else socket.write(frame([{ r: 0, unreadable: why }]));
        // Closed here once the notice is written, not when the client answers the end: a thread
        // blocked in a sync call (waiting for this connection's lost messages) reads nothing
        // until that call returns, and the call returns only when this Conn is gone (detach).
        socket.destroySoon();
      },
    );
    onChunks(socket, (d) => reader.push(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (c !== null) detach(c, remove, onSessionEnd);
    });
  };
  try {
    const raw = RawServer.listen(path, serve);
    if (raw !== null) return Promise.resolve(raw);
  } catch (e) {
    return Promise.reject(e);
  }
  const server = createServer(serve);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}
