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
 * `map` and `imapUnordered` run a feeder greenlet that spawns one greenlet per item (so the
 * pool bounds them like any other) while the caller collects results as the greenlets die;
 * when the caller stops early or an item fails, the feeder and the item greenlets still
 * running are killed before the error or the `return` goes on.
 */
import { describeValue } from '../internal/errors.js';
import { parseBlocking, parseWait, type WaitOptions } from '../internal/wait-options.js';
import { Waiter, WaiterList } from '../internal/waiter.js';
import { PoolFull } from './errors.js';
import { checkKill, Greenlet, getcurrent, type KillOptions, spawn } from './greenlet.js';
import { killall } from './killall.js';
import { watchMainWait } from './loop-exit.js';

export interface PoolAddOptions extends WaitOptions {
  /** `false`: take a free slot now or fail with `PoolFull` (default true: wait for one). */
  blocking?: boolean;
}

export interface PoolJoinOptions extends WaitOptions {
  /** After waiting, raise the error of the first greenlet (of those present) that failed. */
  raiseError?: boolean;
}

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
 * and `length` are snapshots.
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
export class Pool {
  /** The most greenlets alive at once; null for no limit. */
  readonly size: number | null;
  private readonly greenlets = new Set<Greenlet<any>>();
  private reserved = 0;
  private readonly slotWaiters = new WaiterList();
  private readonly emptyWaiters = new WaiterList();
  private readonly id = ++poolCounter;
  private readonly onDeath = (g: Greenlet<any>): void => this.release(g);
  /** The blocking `kill()`s in progress: each kills a greenlet added while it waits. */
  private readonly killers = new Set<(g: Greenlet<any>) => void>();
  /**
   * Greenlets a `kill()` has already raised into, until they leave the pool (gevent's
   * `Group.dying`): a second kill, or one made while they clean up, does not raise again.
   */
  private readonly dying = new Set<Greenlet<any>>();

  constructor(size?: number | null) {
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

  /** How many greenlets of the pool are alive (a snapshot). */
  get length(): number {
    return this.greenlets.size;
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

  /** True if `greenlet` belongs to the pool and is alive. */
  has(greenlet: Greenlet<any>): boolean {
    return this.greenlets.has(greenlet);
  }

  /** The live greenlets of the pool (a snapshot). */
  [Symbol.iterator](): IterableIterator<Greenlet<unknown>> {
    return [...this.greenlets][Symbol.iterator]();
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
   * Stops tracking `greenlet` (gevent's `discard`): its slot is free at once, whether it runs
   * on or not. Does nothing for a greenlet not in the pool.
   */
  discard(greenlet: Greenlet<any>): void {
    if (!this.greenlets.has(greenlet)) return;
    greenlet.unlink(this.onDeath);
    this.release(greenlet);
  }

  /**
   * Runs `fn(...args)` in the pool and resolves to its value (or raises its error). Without
   * `args`, `fn` is called with none. Called from a greenlet of this pool, it runs `fn` in that
   * greenlet at once, as gevent's does: a new one could wait for ever for a slot the caller holds.
   */
  apply<R>(fn: () => R): Promise<Awaited<R>>;
  apply<A extends unknown[], R>(fn: (...args: A) => R, args: A): Promise<Awaited<R>>;
  async apply<A extends unknown[], R>(fn: (...args: A) => R, args?: A): Promise<Awaited<R>> {
    const current = getcurrent();
    if (current !== null && this.greenlets.has(current)) {
      if (typeof fn !== 'function') {
        throw new TypeError(`Pool.apply expects a function: received ${describeValue(fn)}`);
      }
      return await fn(...((args ?? []) as A));
    }
    const g = await this.spawn(fn, ...((args ?? []) as A));
    return (await g.get()) as Awaited<R>;
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

  /**
   * Runs `fn(item)` for every item in its own greenlet of the pool and resolves to the results
   * in the order of the items. The first error is raised once known; the other greenlets
   * still running are killed first.
   */
  async map<T, R>(fn: (item: T) => R, items: Iterable<T>): Promise<Awaited<R>[]> {
    const out: Awaited<R>[] = [];
    for await (const [i, g] of this.runEach(fn, items)) out[i] = g.value as Awaited<R>;
    return out;
  }

  /**
   * Runs `fn(item)` for every item in its own greenlet of the pool and yields the results in
   * the order of the items (gevent's `imap`), each as soon as it and those before it are done.
   * An item's error is raised in its place, as gevent's: once the items before it were yielded
   * (the greenlets after it run on until then); the greenlets still running are killed first,
   * as in `map`.
   */
  async *imap<T, R>(fn: (item: T) => R, items: Iterable<T>): AsyncGenerator<Awaited<R>> {
    const early = new Map<number, Greenlet<Awaited<R>>>();
    let next = 0;
    for await (const [i, g] of this.runEach(fn, items, false)) {
      early.set(i, g);
      for (let x = early.get(next); x !== undefined; x = early.get(next)) {
        early.delete(next++);
        if (!x.successful()) throw x.exception;
        yield x.value as Awaited<R>;
      }
    }
  }

  /**
   * Runs `fn(item)` for every item in its own greenlet of the pool and yields the results as
   * the greenlets finish. An item's error is raised at the point it would have been yielded.
   */
  async *imapUnordered<T, R>(fn: (item: T) => R, items: Iterable<T>): AsyncGenerator<Awaited<R>> {
    for await (const [, g] of this.runEach(fn, items)) yield g.value as Awaited<R>;
  }

  /**
   * Waits until the pool is empty, or `timeout` ms; resolves true when it became empty. With
   * `raiseError`, then raises the error of the first greenlet, of those in the pool when the
   * call was made, that failed.
   */
  async join(options?: PoolJoinOptions): Promise<boolean> {
    const { timeout, signal } = parseWait('Pool.join', options);
    const raiseError = options?.raiseError ?? false;
    const present = [...this.greenlets];
    let emptied = true;
    if (this.greenlets.size > 0) {
      if (signal?.aborted) throw signal.reason;
      const w = new Waiter<boolean>(this);
      this.emptyWaiters.push(w);
      if (signal) w.setSignal(signal);
      if (timeout !== null) w.setTimeout(timeout, (x) => x.withdraw(true, false));
      watchMainWait(
        w,
        () =>
          `the main program's join of ${this.describe()} waits for ${[...this.greenlets]
            .map((g) => g.describeState())
            .join('; ')}`,
      );
      emptied = await w.block();
    }
    if (raiseError) {
      const failed = present.find((g) => g.dead && !g.successful());
      if (failed) throw failed.exception;
    }
    return emptied;
  }

  /**
   * Kills every greenlet of the pool (gevent's `Pool.kill`): raises `exception` in each (see
   * `Greenlet.kill`), and with `block` (the default) waits until the pool is empty — a greenlet
   * added meanwhile is killed too — or until `timeout` ms have passed, when it resolves quietly
   * with the greenlets that outlived it still in the pool (gevent's catches its own timeout).
   * @throws TypeError, RangeError for bad arguments (the promise rejects, nothing is killed).
   */
  async kill(options: KillOptions = {}): Promise<void> {
    const { block, timeout } = checkKill(options);
    const exception = options.exception;
    const dying = this.dying;
    const killOne = (g: Greenlet<any>): void => {
      if (dying.has(g) || !this.greenlets.has(g)) return;
      dying.add(g);
      // Checked above: this kill cannot reject.
      void g.kill(exception === undefined ? { block: false } : { exception, block: false });
    };
    for (const g of [...this.greenlets]) killOne(g);
    if (!block || this.greenlets.size === 0) return;
    // The pool is empty once the links of the killed greenlets have run (those killed before
    // their first step die at once, their links on the next turn).
    this.killers.add(killOne);
    try {
      await this.join({ timeout });
    } finally {
      this.killers.delete(killOne);
    }
  }

  /** "Pool-N (size S)" — how waits on the pool are reported. */
  describe(): string {
    return `Pool-${this.id} (size ${this.size ?? 'unlimited'})`;
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

  private track(g: Greenlet<any>, start = true): void {
    this.greenlets.add(g);
    g.link(this.onDeath);
    if (start) g.start();
    for (const k of this.killers) k(g);
  }

  private release(g: Greenlet<any>): void {
    if (!this.greenlets.delete(g)) return;
    this.dying.delete(g);
    this.grantSlots();
    if (this.greenlets.size === 0) {
      for (let w = this.emptyWaiters.shift(); w !== null; w = this.emptyWaiters.shift()) {
        w.wake(true);
      }
    }
  }

  /**
   * Yields `[index, greenlet]` as the item greenlets die; kills what is left when stopped. With
   * `raise` (the default) a failed item's error is raised instead of its greenlet yielded.
   */
  private async *runEach<T, R>(
    fn: (item: T) => R,
    items: Iterable<T>,
    raise = true,
  ): AsyncGenerator<[number, Greenlet<Awaited<R>>]> {
    if (typeof fn !== 'function') {
      throw new TypeError(`Pool: expected a function to map: received ${describeValue(fn)}`);
    }
    if (items === null || typeof (items as any)?.[Symbol.iterator] !== 'function') {
      throw new TypeError(`Pool: expected an iterable of items: received ${describeValue(items)}`);
    }
    const finished: Greenlet<Awaited<R>>[] = [];
    const started: Greenlet<Awaited<R>>[] = [];
    const index = new Map<Greenlet<any>, number>();
    let running = 0;
    let feeding = true;
    let wake: Waiter<void> | null = null;
    const notify = (): void => {
      const w = wake;
      wake = null;
      w?.wake(undefined);
    };
    const onItemDone = (g: Greenlet<Awaited<R>>): void => {
      running--;
      finished.push(g);
      notify();
    };
    const feeder = spawn(async () => {
      let i = 0;
      for (const item of items) {
        const g = await this.spawn(fn, item);
        index.set(g, i++);
        running++;
        started.push(g);
        g.link(onItemDone);
      }
    });
    feeder.name = `${feeder.name} (feeder of ${this.describe()})`;
    feeder.link(() => {
      feeding = false;
      notify();
    });
    try {
      for (;;) {
        const g = finished.shift();
        if (g !== undefined) {
          if (raise && !g.successful()) throw g.exception;
          yield [index.get(g)!, g];
          continue;
        }
        if (!feeding && running === 0) {
          if (!feeder.successful()) throw feeder.exception;
          return;
        }
        const w = new Waiter<void>(this);
        wake = w;
        await w.block();
      }
    } finally {
      const alive = [feeder, ...started].filter((x) => !x.dead);
      if (alive.length > 0) await killall(alive);
    }
  }
}
