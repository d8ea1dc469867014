import { currentContext, currentTaskSignal } from '../internal/context.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
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
 * through another, as in Python, where every copy is the same lock.
 */
const heldHere = new Map<string, number>();

/** Numbers for this thread's asyncio tasks, so the broker can tell the task that holds a lock
 * (deadlock detection: src/internal/process/broker-deadlock.ts). */
const taskNumbers = new WeakMap<object, number>();
let lastTaskNumber = 0;

/** The current asyncio task's number, 0 outside any task. */
function taskNumber(): number {
  const t = currentContext();
  if (t === null) return 0;
  let n = taskNumbers.get(t);
  if (n === undefined) {
    n = ++lastTaskNumber;
    taskNumbers.set(t, n);
  }
  return n;
}

export interface AcquireOptions {
  blocking?: boolean;
  timeout?: number | null;
  signal?: AbortSignal;
}

/**
 * Python's `multiprocessing.Lock` across processes (held in the broker). A process that dies
 * holding it releases it (the next waiter gets it) rather than leaving every waiter hung.
 *
 * **Cancellation:** an aborted `signal` rejects the wait and leaves no waiter; a lock granted in
 * the same instant is released again.
 */
export class Lock extends SharedObject {
  constructor(init?: SharedInit) {
    super(
      'lock',
      { recursive: (new.target as unknown as { _recursive?: boolean })._recursive === true },
      init,
    );
  }

  protected _kind(): string {
    return 'mp:Lock';
  }

  /** Resolves true once acquired, false when `blocking: false` or `timeout` could not get it. */
  async acquire(options: AcquireOptions = {}): Promise<boolean> {
    const block = options.blocking ?? true;
    const timeout = checkTimeout(`${this.constructor.name}.acquire`, options.timeout);
    const signal =
      checkSignal(`${this.constructor.name}.acquire`, options.signal) ?? currentTaskSignal();
    const owner = broker().owner;
    const got = (await broker().request(
      'acquire',
      this._id,
      [owner, block, timeout, taskNumber()],
      signal,
      (late) => {
        if (late === true) broker().post('release', this._id, [owner]);
      },
    )) as boolean;
    if (got) heldHere.set(this._id, (heldHere.get(this._id) ?? 0) + 1);
    return got;
  }

  /**
   * Blocking twin of `acquire`: parks this thread until the lock is taken (true), or returns
   * false with `blocking: false` or when `timeout` ms pass. A holder that dies releases it, so a
   * waiter never waits on a dead process.
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server. A `signal` counts only if already aborted.
   */
  acquireSync(options: AcquireOptions = {}): boolean {
    const block = options.blocking ?? true;
    const timeout = checkTimeout(`${this.constructor.name}.acquireSync`, options.timeout);
    const signal = checkSignal(`${this.constructor.name}.acquireSync`, options.signal);
    if (signal?.aborted) throw signal.reason;
    const got = brokerSync().request('acquire', this._id, [
      broker().owner,
      block,
      timeout,
      // No task: a hold taken by blocking the thread is the thread's, as in weft/threading (a
      // later async acquire of it from any task waits: another task may release it).
      0,
    ]) as boolean;
    if (got) heldHere.set(this._id, (heldHere.get(this._id) ?? 0) + 1);
    return got;
  }

  /** Releases. @throws RuntimeError when this process does not hold it. */
  release(): void {
    const held = heldHere.get(this._id) ?? 0;
    if (held === 0) {
      throw new RuntimeError(
        `Cannot release ${this.constructor.name}: it is not held by this process`,
        'ERR_WEFT_NOT_HELD',
      );
    }
    if (held === 1) heldHere.delete(this._id);
    else heldHere.set(this._id, held - 1);
    broker().post('release', this._id, [broker().owner]);
  }

  /**
   * @internal Whether this process holds it, known without asking the broker: `Condition.notify`
   * must refuse synchronously, as Python's does, and is not waited for.
   */
  _heldHere(): boolean {
    return heldHere.has(this._id);
  }

  /** Whether some process holds it — a snapshot: another process may change it the next instant. */
  locked(): boolean {
    return brokerSync().request('locked', this._id, []) as boolean;
  }

  /** Python's `with lock:` — holds the lock around `fn` (sync or async). */
  async run<R>(fn: () => R | Promise<R>): Promise<R> {
    return holding(this, fn);
  }

  /** `run` for synchronous code on a thread that may block (`acquireSync` around `fn`). */
  runSync<R>(fn: () => R): R {
    return holdingSync(this, fn);
  }

  /** @internal */
  static _revive(init: SharedInit): Lock {
    return new Lock(init);
  }
}

registerKind('mp:Lock', (s) => Lock._revive(s), import.meta.url);
