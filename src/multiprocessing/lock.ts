import { currentContext, currentTaskSignal } from '../internal/context.js';
import { notAFunction } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { ANY_TASK, reentered } from '../internal/process/broker-deadlock.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import {
  fastSlab,
  HOLDER,
  newSlot,
  SPIN,
  slabSession,
  WAITERS,
  wordIndex,
} from '../internal/process/lock-slab.js';
import { shipQueued } from '../internal/process/unshipped.js';
import { RuntimeError } from './errors.js';
import { holding, holdingSync } from './hold.js';
import {
  checkSignal,
  checkTimeout,
  registerKind,
  type SharedInit,
  SharedObject,
} from './shared-object.js';

/**
 * Acquisitions this thread holds, by lock id — not by handle: a lock reaches a process (or comes
 * back to its creator) as several handles on one id (in `args`, and again inside a Condition or
 * a queue item), and a hold taken through one is released, or checked by `Condition.notify`,
 * through another, as in Python, where every copy is the same lock. Each handle keeps its id's
 * record, so the hot path counts without a lookup.
 */
interface Holds {
  n: number;
  /**
   * Condition waits of this thread on the lock still going on: the broker releases and takes
   * the lock again for them, writing its word and count, so this thread's other tasks leave the
   * word to the broker meanwhile (one writer at a time: lock-slab.ts's invariants).
   */
  waits: number;
  /**
   * An RLock's holds by the task that took them (its number: the task and its count), and the
   * acquires of its tasks still at the broker: the lock's task word is made of them
   * (`holdersWord`). null until first needed.
   */
  byTask: Map<number, { n: number; ctx: object | null }> | null;
  asking: Map<number, number> | null;
  /** A task that held none gave one back while other tasks held some: whose is not known. */
  unsure: boolean;
  /** This thread's handles on the lock not yet collected (`forgetHolds`). */
  handles: number;
}
const holdsById = new Map<string, Holds>();

/**
 * A record goes when the last handle on its lock in this thread is collected, if it holds
 * nothing then: a program making many short-lived locks (each Value has one) would otherwise
 * keep one per lock for ever. One that holds something stays, since a handle revived later
 * (a queue item) may give its holds back; removed while a handle lives, it would split the
 * count between that handle and any made after.
 */
const forgetHolds = new FinalizationRegistry<string>((id) => {
  const h = holdsById.get(id);
  if (h === undefined || --h.handles > 0) return;
  if (h.n === 0 && h.waits === 0 && (h.asking === null || h.asking.size === 0))
    holdsById.delete(id);
});

/** The record of lock `id` for a new handle `handle` on it. */
function holdsFor(id: string, handle: object): Holds {
  let h = holdsById.get(id);
  if (h === undefined) {
    h = { n: 0, waits: 0, byTask: null, asking: null, unsure: false, handles: 0 };
    holdsById.set(id, h);
  }
  h.handles++;
  forgetHolds.register(handle, id);
  return h;
}

/** @internal For tests: the locks this thread keeps a record of. */
export function _holdsRecords(): number {
  return holdsById.size;
}

/** Whether the task `ctx` has ended (null: code outside tasks, which never does). */
function ended(ctx: object | null): boolean {
  const done = (ctx as { done?: unknown } | null)?.done;
  return typeof done === 'function' && done.call(ctx) === true;
}

/** Counts a hold of an RLock that task `task` (the object `ctx`: the current one) took. */
function tookHold(h: Holds, task: number, ctx = currentContext()): void {
  h.byTask ??= new Map();
  const e = h.byTask.get(task);
  if (e === undefined) h.byTask.set(task, { n: 1, ctx: task === 0 ? null : ctx });
  else e.n++;
}

/**
 * Counts a hold of an RLock given back by task `task` (`h.n` already counts it): its own if it
 * has one (the usual way of tasks); else one of an ended task or of code outside tasks, which
 * nobody else will give back; else some other task's, and then whose holds are left is not
 * known until the lock is free.
 */
function gaveHold(h: Holds, task: number): void {
  const by = h.byTask;
  if (h.n === 0 || by === null) {
    by?.clear();
    h.unsure = false;
    return;
  }
  let key = by.has(task) ? task : -1;
  if (key < 0) {
    for (const [k, e] of by) {
      if (k === 0 || ended(e.ctx)) {
        key = k;
        break;
      }
    }
  }
  if (key < 0) {
    h.unsure = true;
    key = by.keys().next().value ?? -1;
  }
  const e = by.get(key);
  if (e !== undefined && --e.n === 0) by.delete(key);
}

/**
 * The task word of an RLock this thread holds (broker-deadlock.ts): the one task holding it,
 * or the set of them, with `plus` (a task taking a hold now) and the tasks whose acquires are
 * at the broker (it may grant them before it reads what is sent now). A hold of an ended task
 * counts as code outside tasks' (0): the thread's, which any task of it may give back.
 */
function holdersWord(h: Holds, plus: number | null): number {
  if (h.unsure || h.byTask === null) return ANY_TASK;
  let word: number | null = plus;
  const add = (t: number) => {
    word = word === null ? t : reentered(word, t);
  };
  for (const [k, e] of h.byTask) add(ended(e.ctx) ? 0 : k);
  if (h.asking !== null) for (const k of h.asking.keys()) add(k);
  return word ?? ANY_TASK;
}
const TRUE = Promise.resolve(true);

/**
 * Watches the word `w` of a lock another thread holds (never this one's: its holder could not
 * run while this thread spins) for up to SPIN reads, taking it with a compare-and-swap if it
 * comes free: a critical section is usually short and the broker costs a round trip, so an
 * adaptive mutex spins a moment first. It stops at WAITERS: the parked are served in FIFO
 * order by the broker, and a spinner must not take the lock past them. Returns the word as last
 * seen: 0 when taken.
 */
function spinFor(a: Int32Array, i: number, w: number, me: number): number {
  for (let k = 0; k < SPIN && w !== 0 && (w & WAITERS) === 0; k++) {
    w = Atomics.load(a, i);
    if (w === 0) w = Atomics.compareExchange(a, i, 0, me);
  }
  return w;
}

/** Numbers for this thread's asyncio tasks, so the broker can tell the task that holds a lock
 * (deadlock detection: src/internal/process/broker-deadlock.ts). */
const taskNumbers = new WeakMap<object, number>();
let lastTaskNumber = 0;

/**
 * The last task numbered and its number: a loop of acquires in one task skips the WeakMap. Held
 * strongly until the event loop's turn ends (`forgetLastTask`): a task that has ended, and its
 * result, must not stay reachable from here until some other task of the thread takes a lock;
 * a WeakRef instead, read on every acquire and release in a task, cost more than the WeakMap
 * lookup it saved.
 */
let lastTask: object | null = null;
let lastTaskNo = 0;
let forgetting = false;

function forgetLastTask(): void {
  lastTask = null;
  forgetting = false;
}

/** The number of the asyncio task `t` (the current one), 0 outside any task. */
function taskNumberOf(t: object | null): number {
  if (t === null) return 0;
  if (t === lastTask) return lastTaskNo;
  let n = taskNumbers.get(t);
  if (n === undefined) {
    n = ++lastTaskNumber;
    taskNumbers.set(t, n);
  }
  lastTask = t;
  lastTaskNo = n;
  if (!forgetting) {
    forgetting = true;
    // Not unref'd: an unref'd immediate queued outside the poll phase (tasks run from the
    // scheduler's immediate) does not keep the poll phase from blocking, so it would wait for the
    // loop's next wake, keeping the ended task reachable for as long as the thread sits idle. A
    // ref'd one keeps the loop for one more turn only.
    setImmediate(forgetLastTask);
  }
  return n;
}

/** The current asyncio task's number, 0 outside any task. */
function taskNumber(): number {
  return taskNumberOf(currentContext());
}

export interface AcquireOptions {
  blocking?: boolean;
  timeout?: number | null;
  signal?: AbortSignal;
}

/** A new lock's (or Value's) slot in the lock slab, or -1 (lock-slab.ts). @internal */
export function slotForNew(): number {
  // The broker client joins this thread to the slab as it is made.
  broker();
  return newSlot();
}

/**
 * Python's `multiprocessing.Lock` across processes. A process that dies holding it releases it
 * (the next waiter gets it) rather than leaving every waiter hung.
 *
 * **How:** the lock's word lives in memory shared by the processes of the tree (the lock slab,
 * src/internal/process/lock-slab.ts), so taking a free lock and releasing one nobody waits for
 * are an atomic instruction in the calling thread, as Python's semaphore is. A thread that finds
 * it held asks the broker, which parks it, hands the lock over to the parked in FIFO order (a free
 * lock goes to whoever takes it first, so, as Python's, it is not fair overall), reports deadlocks
 * and frees the locks of a process that died. Without the shm addon every call is a broker
 * round trip.
 *
 * **Cancellation:** an aborted `signal` rejects the wait and leaves no waiter; a lock granted in
 * the same instant is released again.
 */
export class Lock extends SharedObject {
  /** Int32 index of the word in the slab, -1 when it has no slot. */
  readonly #word: number;
  readonly #recursive: boolean;
  readonly #holds: Holds;

  constructor(init?: SharedInit) {
    const recursive = (new.target as unknown as { _recursive?: boolean })._recursive === true;
    super('lock', { recursive, slot: init === undefined ? slotForNew() : -1 }, init);
    this.#recursive = recursive;
    const slot = this._params.slot;
    this.#word = typeof slot === 'number' && slot >= 0 ? wordIndex(slot) : -1;
    this.#holds = holdsFor(this._id, this);
  }

  /**
   * Takes it in the slab if that can be done without waiting: free, or this thread's RLock
   * (re-entered only while this thread counts a hold: a release of its last one may still be on
   * its way to the broker). `spin`: an acquire that may wait watches a word another thread
   * holds for a moment first (`spinFor`); a try does not. Returns false when it must ask the
   * broker.
   */
  #take(a: Int32Array, task: number, spin = true): boolean {
    if (this.#holds.waits > 0) return false;
    const i = this.#word;
    const me = slabSession();
    let w = Atomics.compareExchange(a, i, 0, me);
    if (spin && w !== 0 && (w & HOLDER) !== me) w = spinFor(a, i, w, me);
    if (w === 0) {
      // Each store is a full fence: skipped when the slot has the value already (the same task
      // or blocking code, task 0, taking it again; a plain Lock's count stays 1 when released).
      // An RLock's count is 0 after its release here: written without the read, which would
      // only add its cost to every uncontended acquire.
      if (Atomics.load(a, i + 1) !== task) Atomics.store(a, i + 1, task);
      if (this.#recursive || Atomics.load(a, i + 2) !== 1) Atomics.store(a, i + 2, 1);
      return true;
    }
    if (this.#recursive && (w & HOLDER) === me && this.#holds.n > 0) {
      // Re-entered: by another task, the word becomes the set of its holders (broker-deadlock.ts).
      if (Atomics.load(a, i + 1) !== task) Atomics.store(a, i + 1, holdersWord(this.#holds, task));
      Atomics.add(a, i + 2, 1);
      return true;
    }
    return false;
  }

  /**
   * Whether "held" can be answered here, without the broker: another thread holds it, or this
   * one counts a hold of it. A word naming this thread while it counts none is a release or a
   * Condition wait of its own still on the way to the broker, which will have freed it by the
   * time a request sent now is answered there.
   */
  #heldElsewhere(a: Int32Array): boolean {
    if (this.#holds.waits > 0) return false;
    const w = Atomics.load(a, this.#word);
    return w !== 0 && ((w & HOLDER) !== slabSession() || this.#holds.n > 0);
  }

  protected _kind(): string {
    return 'mp:Lock';
  }

  /** Resolves true once acquired, false when `blocking: false` or `timeout` could not get it. */
  acquire(options?: AcquireOptions): Promise<boolean> {
    let tried = false;
    if (options === undefined && this.#word >= 0) {
      // The uncontended path: no options to read, one compare-and-swap.
      const a = fastSlab();
      // One read of the current task serves both its signal and its number.
      const ctx = a === null ? null : currentContext();
      const signal = (ctx as { signal?: unknown } | null)?.signal;
      if (a !== null && !(signal instanceof AbortSignal && signal.aborted)) {
        const task = taskNumberOf(ctx);
        if (this.#take(a, task)) {
          this.#holds.n++;
          if (this.#recursive) tookHold(this.#holds, task);
          return TRUE;
        }
        tried = true;
      }
    }
    return this.#acquire(options ?? {}, tried);
  }

  /** `tried`: the slab was tried already (no options): straight to the broker. */
  async #acquire(options: AcquireOptions, tried = false): Promise<boolean> {
    const block = options.blocking ?? true;
    const timeout = checkTimeout(`${this.constructor.name}.acquire`, options.timeout);
    const signal =
      checkSignal(`${this.constructor.name}.acquire`, options.signal) ?? currentTaskSignal();
    const a = this.#word >= 0 && !tried ? fastSlab() : null;
    const task = taskNumber();
    const ctx = currentContext();
    const holds = this.#holds;
    if (a !== null) {
      if (signal?.aborted) throw signal.reason;
      if (this.#take(a, task, block && timeout !== 0)) {
        holds.n++;
        if (this.#recursive) tookHold(holds, task);
        return true;
      }
      if ((!block || timeout === 0) && this.#heldElsewhere(a)) {
        // A try that fails here may be polled in a loop: what this thread queued must not wait.
        shipQueued();
        return false;
      }
    }
    const owner = broker().owner;
    if (this.#recursive) {
      holds.asking ??= new Map();
      holds.asking.set(task, (holds.asking.get(task) ?? 0) + 1);
    }
    let got = false;
    try {
      got = (await broker().request(
        'acquire',
        this._id,
        [owner, block, timeout, task],
        signal,
        (late) => {
          if (late !== true) return;
          // Granted after all, to a task that is not counted as holding it.
          const word = this.#recursive && holds.waits === 0 ? holdersWord(holds, null) : null;
          broker().post('release', this._id, word === null ? [owner] : [owner, word]);
        },
      )) as boolean;
    } finally {
      if (this.#recursive && holds.asking !== null) {
        const left = (holds.asking.get(task) ?? 1) - 1;
        if (left > 0) holds.asking.set(task, left);
        else holds.asking.delete(task);
      }
    }
    if (got) {
      holds.n++;
      if (this.#recursive) tookHold(holds, task, ctx);
    }
    return got;
  }

  /**
   * Blocking twin of `acquire`: parks this thread until the lock is taken (true), or returns
   * false with `blocking: false` or when `timeout` ms pass. A holder that dies releases it, so a
   * waiter never waits on a dead process. A loop of `blocking: false` tries still sends what
   * this thread queued for the broker, about a millisecond in (unshipped.ts).
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server. A `signal` counts only if already aborted.
   */
  acquireSync(options?: AcquireOptions): boolean {
    let tried = false;
    if (options === undefined && this.#word >= 0) {
      const a = fastSlab();
      if (a !== null) {
        // No task, as below.
        if (this.#take(a, 0)) {
          this.#holds.n++;
          if (this.#recursive) tookHold(this.#holds, 0);
          return true;
        }
        tried = true;
      }
    }
    return this.#acquireSync(options ?? {}, tried);
  }

  /** `tried`: as `#acquire`'s. */
  #acquireSync(options: AcquireOptions, tried = false): boolean {
    const block = options.blocking ?? true;
    const timeout = checkTimeout(`${this.constructor.name}.acquireSync`, options.timeout);
    const signal = checkSignal(`${this.constructor.name}.acquireSync`, options.signal);
    if (signal?.aborted) throw signal.reason;
    const a = this.#word >= 0 && !tried ? fastSlab() : null;
    if (a !== null) {
      // No task, as below.
      if (this.#take(a, 0, block && timeout !== 0)) {
        this.#holds.n++;
        if (this.#recursive) tookHold(this.#holds, 0);
        return true;
      }
      if ((!block || timeout === 0) && this.#heldElsewhere(a)) {
        // A try that fails here may be polled in a loop: what this thread queued must not wait.
        shipQueued();
        return false;
      }
    }
    const got = brokerSync().request('acquire', this._id, [
      broker().owner,
      block,
      timeout,
      // No task: a hold taken by blocking the thread is the thread's, as in weft/threading (a
      // later async acquire of it from any task waits: another task may release it).
      0,
    ]) as boolean;
    if (got) {
      this.#holds.n++;
      if (this.#recursive) tookHold(this.#holds, 0);
    }
    return got;
  }

  /** Releases. @throws RuntimeError when this process does not hold it. */
  release(): void {
    const holds = this.#holds;
    if (holds.n === 0) {
      throw new RuntimeError(
        `Cannot release ${this.constructor.name}: it is not held by this process`,
        'ERR_WEFT_NOT_HELD',
      );
    }
    holds.n--;
    if (this.#recursive) gaveHold(holds, taskNumber());
    const a = this.#word >= 0 ? fastSlab() : null;
    const me = slabSession();
    // Only a word that names this thread is this thread's to change; anything else (a hold it
    // counts that the broker gave away, a plain Lock another thread holds) is the broker's call.
    if (a !== null && holds.waits === 0 && (Atomics.load(a, this.#word) & HOLDER) === me) {
      const i = this.#word;
      // Not this thread's last hold, or releases of this thread still on their way to the
      // broker will bring the count to its last one there: nothing more to do here. A plain
      // Lock's count is 1 whenever it is held, and left at 1 as it is released here (it is read
      // only while the lock is held): one fenced write fewer on each release.
      if (this.#recursive && Atomics.sub(a, i + 2, 1) > 1) {
        // The holders left (broker-deadlock.ts). None counted here: releases of this thread
        // on their way to the broker hold the rest, and the last of them frees it.
        if (holds.n > 0) Atomics.store(a, i + 1, holdersWord(holds, null));
        return;
      }
      // Blocking code's holds (task 0) leave the task word at 0: nothing to clear.
      const task = Atomics.load(a, i + 1) === 0 ? 0 : Atomics.exchange(a, i + 1, 0);
      if (Atomics.compareExchange(a, i, me, 0) === me) return;
      // WAITERS: the broker hands it to the first of them, and counts this last hold itself.
      // The word names this thread until then: so does the task word, as its holder's (a walk
      // reading 0 there would take the lock for blocking code's: broker-deadlock.ts).
      if (this.#recursive) Atomics.store(a, i + 2, 1);
      if (task !== 0) Atomics.store(a, i + 1, task);
    }
    // An RLock's holders left, for the broker to write if this was not its last hold there
    // (an acquire of another task it has granted may not be counted here yet: `asking`).
    const word = this.#recursive && holds.waits === 0 ? holdersWord(holds, null) : null;
    broker().post('release', this._id, word === null ? [broker().owner] : [broker().owner, word]);
  }

  /**
   * @internal A Condition wait gives the lock up at the broker until it ends: this thread does
   * not hold it meanwhile, so none of its other tasks may re-enter it here, nor notify. Returns
   * the holds to give back with `_holdAgain` once the wait is over (the broker re-acquired it).
   */
  _putDown(): number {
    const held = this.#holds.n;
    this.#holds.n = 0;
    this.#holds.waits++;
    return held;
  }

  /** @internal See `_putDown`. */
  _holdAgain(held: number): void {
    // Another task of this thread may have taken it meanwhile (an RLock is the thread's).
    this.#holds.n += held;
    this.#holds.waits--;
  }

  /**
   * @internal Whether this process holds it, known without asking the broker: `Condition.notify`
   * must refuse synchronously, as Python's does, and is not waited for.
   */
  _heldHere(): boolean {
    return this.#holds.n > 0;
  }

  /**
   * Whether some process holds it — a snapshot: another process may change it the next instant.
   * Asked of the broker, after what this thread sent before (a `Condition.wait` just started
   * has released it), so not read from the slab.
   */
  locked(): boolean {
    return brokerSync().request('locked', this._id, []) as boolean;
  }

  /** Python's `with lock:` — holds the lock around `fn` (sync or async). */
  async run<R>(fn: () => R | Promise<R>): Promise<R> {
    if (typeof fn !== 'function') throw notAFunction(fn, `${this.constructor.name}.run`);
    return holding(this, fn);
  }

  /** `run` for synchronous code on a thread that may block (`acquireSync` around `fn`). */
  runSync<R>(fn: () => R): R {
    if (typeof fn !== 'function') throw notAFunction(fn, `${this.constructor.name}.runSync`);
    return holdingSync(this, fn);
  }

  /** @internal */
  static _revive(init: SharedInit): Lock {
    return new Lock(init);
  }
}

registerKind('mp:Lock', (s) => Lock._revive(s), import.meta.url);
