/**
 * gevent's `Pool`: a group of greenlets with at most `size` alive at once.
 *
 * Implementation notes
 * --------------------
 * A slot is a permit. `spawn` takes one (waiting, FIFO, when none is free) and the greenlet's
 * death gives it back through a link callback. Between the moment a slot is handed to a waiting
 * `spawn` and the moment that `spawn` resumes, the slot is *reserved*, so it cannot be handed
 * twice; if the waiting task is cancelled in between, the waiter's `onRevoke` returns the
 * reservation and the slot goes to the next waiter (no lost wake-up, no leaked slot).
 *
 *   free = size − alive greenlets − reserved slots
 *
 * What a Pool shares with a Group — tracking, `join`, `kill`, `killone`, `discard`, the mapping
 * verbs — is `GroupBase` (group.ts); this file adds the slots. gevent's Pool is a subclass of
 * Group; here both extend `GroupBase`, since Pool's `spawn`/`add`/`start` wait for a slot (and
 * return promises) where Group's return at once.
 */
import { describeValue } from '../internal/errors.js';
import { parseBlocking, parseWait, type WaitOptions } from '../internal/wait-options.js';
import { Waiter, WaiterList } from '../internal/waiter.js';
import { PoolFull } from './errors.js';
import { Greenlet } from './greenlet.js';
import { GroupBase, type GroupJoinOptions } from './group.js';
import { watchMainWait } from './loop-exit.js';

export interface PoolAddOptions extends WaitOptions {
  /** `false`: take a free slot now or fail with `PoolFull` (default true: wait for one). */
  blocking?: boolean;
}

/** `Pool.join`'s options: `GroupJoinOptions`. */
export type PoolJoinOptions = GroupJoinOptions;

const RESOLVED: Promise<void> = Promise.resolve();
let poolCounter = 0;

/**
 * A pool of greenlets, at most `size` of them alive at once (gevent's `gevent.pool.Pool`);
 * `new Pool()` (or a size of null) has no limit; `new Pool(0)` never has room (its `spawn` waits
 * for ever), as gevent's.
 *
 * `spawn` waits for a free slot, in FIFO order; `add`/`start` track a greenlet made elsewhere
 * (waiting the same way, or failing with `PoolFull`), `discard` stops tracking one; `map` and
 * `imapUnordered` run a function over the items of an iterable, one greenlet per item, never
 * more than `size` at a time. `join` waits for the pool to be empty. `freeCount()`, `full()`
 * and `length` are snapshots. Everything but the slots is a Group's (`GroupBase`).
 *
 * **Cancellation:** a cancelled `spawn` (or `waitAvailable`) takes no slot, and a slot granted
 * to it at that moment passes to the next waiter. Stopping a `map`/`imapUnordered` early (a
 * cancelled caller, a `break`, an item that failed) kills its greenlets still running.
 *
 * @throws RangeError for a size that is not an integer >= 0.
 * @example
 * const pool = new Pool(2);
 * const pages = await pool.map(async (url: string) => fetchPage(url), urls);
 */
export class Pool extends GroupBase {
  /** The most greenlets alive at once; null for no limit. */
  readonly size: number | null;
  protected readonly kind: string = 'Pool';
  private reserved = 0;
  private readonly slotWaiters = new WaiterList();
  private readonly id = ++poolCounter;

  constructor(size?: number | null) {
    super();
    if (size !== undefined && size !== null) {
      // gevent takes 0: a pool that never runs anything, for code that checks `freeCount()` or
      // calls `waitAvailable` with a timeout before it spawns.
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
        throw new RangeError(
          `Pool size must be an integer >= 0 (or null for no limit): received ${describeValue(size)}`,
        );
      }
    }
    this.size = size ?? null;
  }

  /**
   * How many greenlets could be spawned now without waiting; 1 for a pool without a limit, as
   * gevent's `free_count()` answers (there is always room for one more).
   */
  freeCount(): number {
    if (this.size === null) return 1;
    return Math.max(0, this.size - this.greenlets.size - this.reserved);
  }

  /** True when a `spawn` would have to wait. */
  full(): boolean {
    return this.freeCount() === 0;
  }

  /**
   * Starts `fn(...args)` in a new greenlet of the pool, once a slot is free; resolves to the
   * greenlet (gevent's `Pool.spawn`, which blocks while the pool is full). Rejects with
   * TypeError when `fn` is not a function.
   */
  spawn<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Greenlet<Awaited<R>>> {
    let g: Greenlet<Awaited<R>>;
    try {
      g = new Greenlet<Awaited<R>>(fn as (...a: any[]) => Awaited<R>, ...args);
    } catch (e) {
      // gevent raises TypeError at once; a promise-returning verb rejects with it instead.
      return Promise.reject(e);
    }
    if (this.slotWaiters.empty && this.freeCount() > 0) {
      this.track(g);
      return Promise.resolve(g);
    }
    return this.acquireSlot(undefined).then(() => {
      this.reserved--;
      this.track(g);
      return g;
    });
  }

  /**
   * Begins tracking `greenlet`, once a slot is free (gevent's `Pool.add`); it is not started
   * (see `start`). A greenlet already in the pool takes no second slot; a dead one leaves on
   * the next turn, as any greenlet of the pool leaves when it dies.
   *
   * **Cancellation:** a cancelled wait (or an aborted `signal`) takes no slot.
   * @throws PoolFull with `blocking: false` when no slot is free, or when `timeout` passes first;
   *   TypeError for something that is not a Greenlet (the promise rejects).
   */
  add(greenlet: Greenlet<any>, options?: PoolAddOptions): Promise<void> {
    let blocking: boolean;
    try {
      if (!(greenlet instanceof Greenlet)) {
        throw new TypeError(`Pool.add expects a Greenlet: received ${describeValue(greenlet)}`);
      }
      parseWait('Pool.add', options);
      blocking = parseBlocking('Pool.add', options?.blocking, 'blocking');
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.greenlets.has(greenlet)) return RESOLVED;
    if (this.slotWaiters.empty && this.freeCount() > 0) {
      this.track(greenlet, false);
      return RESOLVED;
    }
    if (!blocking) return Promise.reject(new PoolFull(`${this.describe()} is full`));
    return this.acquireSlot(options, 'Pool.add').then((got) => {
      if (!got) throw new PoolFull(`${this.describe()} had no free slot in time`);
      this.reserved--;
      // Added by someone else while this call waited: the slot it was given goes on.
      if (this.greenlets.has(greenlet)) this.grantSlots();
      else this.track(greenlet, false);
    });
  }

  /**
   * `add(greenlet, options)`, then starts it (gevent's `Pool.start`).
   * @throws as `add`.
   */
  async start(greenlet: Greenlet<any>, options?: PoolAddOptions): Promise<void> {
    await this.add(greenlet, options);
    greenlet.start();
  }

  /**
   * Waits until a greenlet could be spawned, or `timeout` ms; resolves to `freeCount()` (0 when
   * the timeout passed first). Takes no slot: a `spawn` racing it may take the one it saw.
   */
  async waitAvailable(options?: WaitOptions): Promise<number> {
    if (await this.acquireSlot(options, 'Pool.waitAvailable')) {
      this.reserved--;
      this.grantSlots();
    }
    return this.freeCount();
  }

  /** "Pool-N (size S)" — how waits on the pool are reported. */
  describe(): string {
    return `Pool-${this.id} (size ${this.size ?? 'unlimited'})`;
  }

  /** @internal A greenlet left: its slot goes to the next waiting `spawn`. */
  protected override released(): void {
    this.grantSlots();
  }

  /** Resolves true when a slot was reserved for the caller, false on timeout. */
  private acquireSlot(options: WaitOptions | undefined, what = 'Pool.spawn'): Promise<boolean> {
    const { timeout, signal } = parseWait(what, options);
    if (this.slotWaiters.empty && this.freeCount() > 0) {
      this.reserved++;
      return RESOLVED.then(() => true);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const w = new Waiter<boolean>(this);
    // Granted, then cancelled before it resumed: the slot goes to the next in line.
    w.onRevoke = () => {
      this.reserved--;
      this.grantSlots();
    };
    this.slotWaiters.push(w);
    if (signal) w.setSignal(signal);
    if (timeout !== null) w.setTimeout(timeout, (x) => x.withdraw(true, false));
    watchMainWait(
      w,
      () =>
        `the main program's ${what} waits for a slot of ${this.describe()}${
          this.greenlets.size === 0
            ? ''
            : `, held by ${[...this.greenlets].map((g) => g.describeState()).join('; ')}`
        }`,
    );
    return w.block();
  }

  private grantSlots(): void {
    while (this.freeCount() > 0) {
      const w = this.slotWaiters.shift();
      if (w === null) return;
      this.reserved++;
      w.wake(true);
    }
  }
}
