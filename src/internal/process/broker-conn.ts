/**
 * Who the broker (broker.ts) talks to: sessions and their connections.
 *
 * A **session** is one thread of one process (its owner string `pid:threadId`). It holds things
 * — locks, semaphore permits, JoinableQueue items taken — and gives them back when it ends.
 * A session has up to two **connections**, each a socket of its own:
 *
 *   thread T of process P ──async client (broker-client.ts)──────────▶ Conn(P:T, 'a') ─┐
 *                        ──its blocking socket (sync-direct.ts, or
 *                          a sync client thread: sync-client-thread.ts)─▶ Conn(P:T, 's') ─┴▶ Session P:T
 *
 * The async connection carries T's ordinary requests; the sync one carries T's blocking calls,
 * written and read by T itself, or relayed by a helper thread while T is parked. Both act for
 * the same session, so a lock taken with `acquireSync` and released with `release` (sent on the
 * async connection) is one hold, and a process that dies releases everything once, whichever
 * connection took it.
 *
 * Implementation notes
 * - A Conn exists before its socket does when a sync request ships messages that T's async
 *   client had not sent yet (it was still connecting): they are handled as T's async messages
 *   at once, and their replies wait in the Conn until the async socket says hello.
 * - A session ends when its last socket closes; its Conns are then gone (their waiters
 *   dropped) and `onSessionEnd` hands back what it held.
 * - `seen` counts the messages a socket delivered (hello included); a sync request that must
 *   follow T's async messages waits (`deferred`) until the async Conn has seen that many.
 */

import { type LongTimer, setLongTimeout } from '../long-timer.js';
import { EncodedItems } from './broker-batch.js';
import type { BrokerSem } from './broker-sem.js';
import { atBatchEnd, frame, type Reply, type WireSocket } from './broker-wire.js';

export type Role = 'a' | 's';

/** A waiter's deadline in `ms`, however far (long-timer.ts); null for a null or infinite `ms`. */
export function deadline(ms: number | null, fn: () => void): LongTimer | null {
  return ms === null ? null : setLongTimeout(Math.max(0, ms), fn, undefined, undefined);
}

export interface Waiter {
  conn: Conn;
  r: number;
  timer: LongTimer | null;
  /** Tries to complete; returns true when it answered. */
  attempt(): boolean;
  timedOut(): void;
  list: Waiter[];
}

export class Session {
  pid = 0;
  name = '?';
  sockets = 0;
  /**
   * The session's number in lock words (lock-slab.ts): the one its client took in the slab and
   * sent in its hello, else one the broker gives (a client without the slab). 0 until a hello.
   */
  number = 0;
  readonly conns = new Set<Conn>();
  constructor(readonly owner: string) {}
}

const byNumber = new Map<number, Session>();
let numberSource: () => number = (() => {
  let n = 0;
  return () => ++n;
})();

/**
 * Where the broker takes numbers for sessions whose client has none: the slab's own counter when
 * the broker has a slab, so that they never collide with the numbers clients took there.
 */
export function setSessionNumbers(next: () => number): void {
  numberSource = next;
  useHelloNumbers = true;
}

/**
 * Whether a hello's number is the session's: only once the broker numbers from the slab's
 * counter too. A broker without the slab numbers every session itself (a thread may still have
 * mapped the slab, say with WEFT_LOCK_SLAB set after it started: its numbers would collide).
 */
let useHelloNumbers = false;

/** `s`'s lock-word number, given now if its hello has not come yet. */
export function numberOf(s: Session): number {
  if (s.number === 0) {
    s.number = numberSource();
    byNumber.set(s.number, s);
  }
  return s.number;
}

/** Numbers of sessions that have ended (numbers are never given twice). */
const ended = new Set<number>();

/** Whether the session numbered `n` has ended (false for a number whose hello has not come). */
export function numberEnded(n: number): boolean {
  return ended.has(n);
}

/** The live session with lock-word number `n`, if any. */
export function sessionNumbered(n: number): Session | undefined {
  return byNumber.get(n);
}

export class Conn {
  socket: WireSocket | null = null;
  /** True once the socket closed or the session ended: nothing more is sent or answered. */
  gone = false;
  seen = 0;
  /**
   * Sync requests waiting, in order, for this (async) Conn to have run `after` messages (a
   * thread's blocking call; shipments it sent without waiting, broker-sync.ts's `shipStuck`).
   */
  readonly deferred: Array<{ after: number; run: () => void }> = [];
  /** Messages up to this number of this (async) Conn ran when a sync request shipped them. */
  ranAhead = 0;
  readonly waiters = new Map<number, Waiter>();
  /**
   * Permits granted to this connection's withdrawable acquires (a Semaphore's, with a signal), by
   * request number, in the order granted, each with its place in that order (`seq`), until the
   * client has surely seen them: a withdrawal that finds its acquire here came after the grant,
   * and the broker gives the permit back itself (broker.ts, 'cancel'). The client counts the
   * grants it took (broker-client.ts, `grantsSeen`) and says how many with each such acquire:
   * those are forgotten then.
   */
  readonly grants = new Map<number, { seq: number; sem: BrokerSem }>();
  /** How many permits went to this connection's withdrawable acquires (the last `seq`). */
  granted = 0;
  #out: Reply[] = [];
  #scheduled = false;

  constructor(
    readonly session: Session,
    readonly role: Role,
  ) {}

  get pid(): number {
    return this.session.pid;
  }
  get name(): string {
    return this.session.name;
  }

  readonly #flushLater = (): void => this.flush();

  send(m: Reply): void {
    if (this.gone) return;
    this.#out.push(m);
    if (this.#scheduled || this.socket === null) return;
    this.#scheduled = true;
    // What messages read in one batch answer goes out when the batch is done; anything else
    // (a timeout, a waiter freed by a session's end) at the end of the turn.
    if (!atBatchEnd(this.#flushLater)) setImmediate(this.#flushLater);
  }

  flush(): void {
    this.#scheduled = false;
    const s = this.socket;
    if (s === null || this.#out.length === 0) return;
    const ms = this.#out;
    this.#out = [];
    if (s.destroyed) return;
    // A batch taken as bytes is a frame already (broker-batch.ts): the messages before it go in
    // a frame of their own, in order.
    let from = 0;
    for (let i = 0; i < ms.length; i++) {
      const v = (ms[i] as Reply).v;
      if (!(v instanceof EncodedItems)) continue;
      if (i > from) s.write(frame(ms.slice(from, i)));
      s.write(v.frame);
      from = i + 1;
    }
    if (from < ms.length) s.write(frame(from === 0 ? ms : ms.slice(from)));
  }
}

const sessions = new Map<string, Session>();

/** The Conn of `owner`'s `role`, made (with its session) if it does not exist yet. */
export function connOf(owner: string, role: Role): Conn {
  let s = sessions.get(owner);
  if (s === undefined) {
    s = new Session(owner);
    sessions.set(owner, s);
  }
  for (const c of s.conns) if (c.role === role) return c;
  const c = new Conn(s, role);
  s.conns.add(c);
  return c;
}

/** A socket said hello: it becomes the transport of its Conn (replies waiting go out now). */
export function attach(
  socket: WireSocket,
  pid: number,
  name: string,
  owner: string,
  role: Role,
  slabNumber: number,
): Conn {
  const c = connOf(owner, role);
  const s = c.session;
  s.pid = pid;
  s.name = name;
  // A client's own number counts only where the broker took its numbers from the same slab.
  if (s.number === 0 && useHelloNumbers && Number.isInteger(slabNumber) && slabNumber > 0) {
    s.number = slabNumber;
    byNumber.set(s.number, s);
  }
  numberOf(s);
  c.session.sockets++;
  c.socket = socket;
  c.flush();
  return c;
}

/**
 * A socket closed: its Conn is gone; when it was the session's last socket, the session ends
 * and `onSessionEnd` gets it (after every Conn of it is gone and its waiters are dropped).
 */
export function detach(
  c: Conn,
  dropWaiter: (w: Waiter) => void,
  onSessionEnd: (s: Session) => void,
): void {
  const s = c.session;
  goneConn(c, dropWaiter);
  if (--s.sockets > 0) return;
  for (const other of s.conns) goneConn(other, dropWaiter);
  if (sessions.get(s.owner) === s) sessions.delete(s.owner);
  if (s.number !== 0) ended.add(s.number);
  onSessionEnd(s);
  if (byNumber.get(s.number) === s) byNumber.delete(s.number);
}

function goneConn(c: Conn, dropWaiter: (w: Waiter) => void): void {
  if (c.gone) return;
  c.gone = true;
  for (const w of [...c.waiters.values()]) dropWaiter(w);
  // Sync requests held back for this Conn's messages run now: they will never come.
  for (const d of c.deferred.splice(0)) d.run();
}
