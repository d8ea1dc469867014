/**
 * gevent's `Pool`: a group of greenlets with at most `size` alive at once.
 *
 * Implementation notes
 * --------------------
 * A slot is a permit of a gevent `Semaphore` (semaphore.ts), as gevent's Pool is built: `spawn`
 * acquires one, the greenlet's death (or `discard`) releases it. So the hand-off of a slot is a
 * pass of the semaphore's notifier: queued by the release, it wakes the first waiting `spawn`
 * when its turn comes, and that spawner runs until it blocks before the pass serves the next —
 * a joiner of the dying greenlet (`pool.join`, `pool.kill`) runs before it, and a greenlet that
 * spawns before the pass runs takes the free slot first, as in gevent. A spawner cancelled
 * after it was woken takes no slot: the semaphore hands it on (no lost wake-up, no leaked slot).
 *
 *   free = size − alive greenlets   (gevent's `free_count`)
 *
 * What a Pool shares with a Group — tracking, `join`, `kill`, `killone`, `discard`, the mapping
 * verbs — is `GroupBase` (group.ts); this file adds the slots. gevent's Pool is a subclass of
 * Group; here both extend `GroupBase`, since Pool's `spawn`/`add`/`start` wait for a slot (and
 * return promises) where Group's return at once.
 */
import { describeValue } from '../internal/errors.js';
import { parseBlocking, parseWait, type WaitOptions } from '../internal/wait-options.js';
import { PoolFull } from './errors.js';
import { Greenlet } from './greenlet.js';
import { GroupBase, type GroupJoinOptions } from './group.js';
import { Semaphore } from './semaphore.js';

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
  /** The slots; null for a pool without a limit (gevent's DummySemaphore). */
  private readonly slots: PoolSlots | null;
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
    this.slots = this.size === null ? null : new PoolSlots(this.size, this);
  }

  /**
   * How many greenlets could be spawned now without waiting; 1 for a pool without a limit, as
   * gevent's `free_count()` answers (there is always room for one more).
   */
  freeCount(): number {
    if (this.size === null) return 1;
    return Math.max(0, this.size - this.greenlets.size);
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
    const slots = this.slots;
    if (slots === null || slots.counter > 0) {
      // A free permit is taken at once, as gevent's acquire takes it (a pass not run yet serves
      // its waiters with what is left): the greenlet is tracked and started before this returns.
      void slots?.acquire();
      this.track(g);
      return Promise.resolve(g);
    }
    slots.verb = 'Pool.spawn';
    return slots.acquire().then(() => {
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
    const slots = this.slots;
    if (slots === null || slots.counter > 0) {
      void slots?.acquire();
      this.track(greenlet, false);
      return RESOLVED;
    }
    if (!blocking) return Promise.reject(new PoolFull(`${this.describe()} is full`));
    const { timeout, signal } = parseWait('Pool.add', options);
    slots.verb = 'Pool.add';
    return slots.acquire({ timeout, signal: signal ?? undefined }).then((got) => {
      if (!got) throw new PoolFull(`${this.describe()} had no free slot in time`);
      // Added by someone else while this call waited: the slot it was given goes back.
      if (this.greenlets.has(greenlet)) slots.release();
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
    const { timeout, signal } = parseWait('Pool.waitAvailable', options);
    const slots = this.slots;
    if (slots !== null) {
      slots.verb = 'Pool.waitAvailable';
      await slots.wait({ timeout, signal: signal ?? undefined });
    }
    return this.freeCount();
  }

  /** "Pool-N (size S)" — how waits on the pool are reported. */
  describe(): string {
    return `Pool-${this.id} (size ${this.size ?? 'unlimited'})`;
  }

  /** @internal The members and what each waits for, for a LoopExit's message. */
  _describeMembers(): string {
    return [...this.greenlets].map((g) => g.describeState()).join('; ');
  }

  /** @internal A greenlet left: its slot goes back (gevent's `_discard`). */
  protected override released(): void {
    this.slots?.release();
  }
}

/**
 * A Pool's slots: a Semaphore whose waits are reported as waits for a slot of the pool (the main
 * program's `spawn` that nothing will ever free raises LoopExit naming the pool).
 */
class PoolSlots extends Semaphore {
  /**
   * The verb of the wait being entered: set by the Pool just before it calls `acquire` or
   * `wait`, which put the waiter in line synchronously, so `mainWait` reads the caller's.
   */
  verb = 'Pool.spawn';

  constructor(
    size: number,
    private readonly pool: Pool,
  ) {
    super(size);
  }

  override describe(): string {
    return `a slot of ${this.pool.describe()}`;
  }

  /** Names the Pool's verb and the greenlets holding the slots, as the LoopExit's cause. */
  protected override mainWait(): () => string {
    const verb = this.verb;
    const pool = this.pool;
    return () =>
      `the main program's ${verb} waits for a slot of ${pool.describe()}${
        pool.length === 0 ? '' : `, held by ${pool._describeMembers()}`
      }`;
  }
}
