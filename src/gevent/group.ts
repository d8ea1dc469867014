/**
 * gevent's `Group` (gevent.pool.Group): a set of greenlets tracked until they die, with
 * `join`, `kill` and the mapping verbs; and `GroupBase`, what it shares with `Pool`.
 *
 * Implementation notes
 * --------------------
 * A tracked greenlet is linked to the group; its death (its links run) takes it out, and when
 * the group is empty the `join`s waiting are woken. `kill` raises into every member once
 * (`dying`, as gevent's) and, blocking, also kills a greenlet added while it waits.
 *
 * In gevent, Pool is a subclass of Group. Here both extend `GroupBase`, because Group's `spawn`,
 * `add` and `start` never wait (they return at once, as gevent's) while Pool's wait for a slot
 * (and return promises): the same names cannot have both shapes on one class. `map` and
 * `imapUnordered` run a feeder greenlet that spawns one greenlet per item through `spawn` (so a
 * Pool bounds them) while the caller collects the results as the greenlets die; when the caller
 * stops early or an item fails, the feeder and the item greenlets still running are killed
 * before the error or the `return` goes on.
 */
import { sleepDirect } from '../asyncio/sleep.js';
import { describeValue } from '../internal/errors.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { Waiter, WaiterList } from '../internal/waiter.js';
import { checkKill, Greenlet, getcurrent, type KillOptions, SWITCHED, spawn } from './greenlet.js';
import { joinallAs } from './joinall.js';
import { killall } from './killall.js';
import { watchMainWait } from './loop-exit.js';

export interface GroupJoinOptions extends WaitOptions {
  /** After waiting, raise the error of the first greenlet (of those present) that failed. */
  raiseError?: boolean;
}

export interface ApplyAsyncOptions<R> {
  /**
   * Called, in a greenlet of its own, with the value once the call has succeeded (not when it
   * raised), as gevent's `apply_async(callback=…)`.
   */
  callback?: (value: R) => unknown;
}

/**
 * What `Group` and `Pool` share: tracking greenlets until they die, `join`, `kill`, `killone`,
 * `discard`, `has`, `length`, iteration, and the mapping verbs (`map`, `imap`, `imapUnordered`,
 * `apply`, `applyAsync`) over the subclass's `spawn`.
 */
export abstract class GroupBase {
  /** @internal The live greenlets tracked. */
  protected readonly greenlets = new Set<Greenlet<any>>();
  private readonly emptyWaiters = new WaiterList();
  private readonly onDeath = (g: Greenlet<any>): void => this.release(g);
  /**
   * Greenlets a `kill()` has already raised into, until they leave (gevent's `Group.dying`): a
   * second kill, or one made while they clean up, does not raise again.
   */
  private readonly dying = new Set<Greenlet<any>>();

  /** Starts `fn(...args)` in a new greenlet tracked by the group. */
  abstract spawn<A extends unknown[], R>(
    fn: (...args: A) => R,
    ...args: A
  ): Greenlet<Awaited<R>> | Promise<Greenlet<Awaited<R>>>;

  /** True when a `spawn` would have to wait. */
  abstract full(): boolean;

  /** How waits on the group are reported: "Group-N", "Pool-N (size S)". */
  abstract describe(): string;

  /** How many greenlets of the group are alive (a snapshot; gevent's `len(group)`). */
  get length(): number {
    return this.greenlets.size;
  }

  /** True if `greenlet` is tracked by the group (gevent's `greenlet in group`). */
  has(greenlet: Greenlet<any>): boolean {
    return this.greenlets.has(greenlet);
  }

  /** The same as `has` (gevent's `__contains__`). */
  contains(greenlet: Greenlet<any>): boolean {
    return this.greenlets.has(greenlet);
  }

  /** The live greenlets of the group (a snapshot). */
  [Symbol.iterator](): IterableIterator<Greenlet<unknown>> {
    return [...this.greenlets][Symbol.iterator]();
  }

  /**
   * Stops tracking `greenlet` (gevent's `discard`); in a Pool its slot is free at once. The
   * greenlet runs on. Does nothing for a greenlet not in the group.
   */
  discard(greenlet: Greenlet<any>): void {
    if (!this.greenlets.has(greenlet)) return;
    greenlet.unlink(this.onDeath);
    this.release(greenlet);
  }

  /**
   * Runs `fn(...args)` in the group and resolves to its value (or raises its error). Without
   * `args`, `fn` is called with none. Called from a greenlet of this group, it runs `fn` in that
   * greenlet at once, as gevent's does: in a Pool, a new one could wait for ever for a slot the
   * caller holds.
   */
  apply<R>(fn: () => R): Promise<Awaited<R>>;
  apply<A extends unknown[], R>(fn: (...args: A) => R, args: A): Promise<Awaited<R>>;
  async apply<A extends unknown[], R>(fn: (...args: A) => R, args?: A): Promise<Awaited<R>> {
    const current = getcurrent();
    if (current !== null && this.greenlets.has(current)) {
      if (typeof fn !== 'function') {
        throw new TypeError(`${this.kind}.apply expects a function: received ${describeValue(fn)}`);
      }
      return await fn(...((args ?? []) as A));
    }
    const g = await this.spawn(fn, ...((args ?? []) as A));
    return (await g.get()) as Awaited<R>;
  }

  /**
   * Starts `fn(...args)` and returns its greenlet at once, never waiting, even in a full Pool
   * (gevent's `apply_async`): with room, the greenlet runs `fn` and is tracked; when full, an
   * untracked greenlet makes the `apply` (waiting for a slot) and its value is the call's. So
   * join the greenlet returned, not the group, to wait for the result. `callback` is called, in
   * a greenlet of its own, with the value once the call succeeded.
   * @throws TypeError at once for something that is not a function.
   */
  applyAsync<R>(
    fn: () => R,
    args?: [],
    options?: ApplyAsyncOptions<Awaited<R>>,
  ): Greenlet<Awaited<R>>;
  applyAsync<A extends unknown[], R>(
    fn: (...args: A) => R,
    args: A,
    options?: ApplyAsyncOptions<Awaited<R>>,
  ): Greenlet<Awaited<R>>;
  applyAsync<A extends unknown[], R>(
    fn: (...args: A) => R,
    args?: A,
    options?: ApplyAsyncOptions<Awaited<R>>,
  ): Greenlet<Awaited<R>> {
    const what = `${this.kind}.applyAsync`;
    if (typeof fn !== 'function') {
      throw new TypeError(`${what} expects a function: received ${describeValue(fn)}`);
    }
    if (args !== undefined && args !== null && !Array.isArray(args)) {
      throw new TypeError(`${what}: args must be an array: received ${describeValue(args)}`);
    }
    const callback = options?.callback;
    if (callback !== undefined && typeof callback !== 'function') {
      throw new TypeError(
        `${what}: callback must be a function: received ${describeValue(callback)}`,
      );
    }
    const a = (args ?? []) as A;
    if (this.full()) {
      // gevent's: a fresh greenlet, not tracked, makes the blocking apply (and the callback).
      return spawn(async () => {
        const value = (await this.apply(fn, a)) as Awaited<R>;
        if (callback !== undefined) spawn(callback, value);
        return value;
      });
    }
    const g = new Greenlet<Awaited<R>>(fn as (...x: any[]) => Awaited<R>, ...a);
    this.track(g);
    if (callback !== undefined) {
      g.link((x) => {
        if (x.successful()) spawn(callback, x.value as Awaited<R>);
      });
    }
    return g;
  }

  /**
   * Runs `fn(item)` for every item in its own greenlet of the group and resolves to the results
   * in the order of the items. The first error is raised once known; the other greenlets
   * still running are killed first.
   */
  async map<T, R>(fn: (item: T) => R, items: Iterable<T>): Promise<Awaited<R>[]> {
    const out: Awaited<R>[] = [];
    for await (const [i, g] of this.runEach(fn, items)) out[i] = g.value as Awaited<R>;
    return out;
  }

  /**
   * Runs `fn(item)` for every item in its own greenlet of the group and yields the results in
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
   * Runs `fn(item)` for every item in its own greenlet of the group and yields the results as
   * the greenlets finish. An item's error is raised at the point it would have been yielded.
   */
  async *imapUnordered<T, R>(fn: (item: T) => R, items: Iterable<T>): AsyncGenerator<Awaited<R>> {
    for await (const [, g] of this.runEach(fn, items)) yield g.value as Awaited<R>;
  }

  /**
   * Waits until the group is empty, or `timeout` ms; resolves true when it became empty (at
   * least once: one may have been added by the time the caller runs). With `raiseError`, then
   * raises the error of the first greenlet, of those in the group when the call was made, that
   * failed.
   *
   * **Cancellation:** cancelling the waiting task (or aborting `signal`) ends the wait only.
   * @throws LoopExit when the main program waits and nothing is left that could end the wait.
   */
  async join(options?: GroupJoinOptions): Promise<boolean> {
    const { timeout, signal } = parseWait(`${this.kind}.join`, options);
    const raiseError = options?.raiseError ?? false;
    // What raiseError looks at: the members when the join began (gevent's snapshot).
    const present = raiseError ? [...this.greenlets] : null;
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
    if (present !== null) {
      const failed = present.find((g) => g.dead && !g.successful());
      if (failed) throw failed.exception;
    }
    return emptied;
  }

  /**
   * Kills every greenlet of the group (gevent's `Group.kill`): raises `exception` in each (see
   * `Greenlet.kill`), and with `block` (the default) waits until the group is empty — joining
   * them, then killing and joining those added meanwhile, as gevent's loop — or until `timeout`
   * ms have passed, when it resolves quietly with the greenlets that outlived it still in the
   * group (gevent's catches its own timeout).
   * @throws TypeError, RangeError for bad arguments (the promise rejects, nothing is killed).
   */
  async kill(options: KillOptions = {}): Promise<void> {
    const { block, timeout } = checkKill(options);
    const exception = options.exception;
    const deadline = timeout === null ? null : performance.now() + timeout;
    const remaining = (): number | null =>
      deadline === null ? null : Math.max(0, deadline - performance.now());
    // gevent's loop: kill every member not dying yet, join them all (a joinall: each greenlet's
    // death switches to this caller, before the slot its pool frees is handed on), and again
    // while members are left — those added meanwhile.
    for (;;) {
      for (const g of [...this.greenlets]) this.raiseInto(g, exception);
      if (!block || this.greenlets.size === 0) return;
      const members = [...this.greenlets];
      const dead = await joinallAs(`kill of ${this.describe()}`, members, { timeout: remaining() });
      if (dead.length < members.length) return; // the timeout passed: quietly, as gevent's
      // Dead, but their links (which take them out) not run yet: killed before their first
      // step, they die at once and leave on the next turn. gevent's joinall links to them too,
      // and switches here from that link, after the group's own (a Pool's slot freed, not yet
      // handed on): a spawn waiting for that slot gets it after this kill has returned.
      const staying = members.filter((g) => this.greenlets.has(g));
      if (staying.length > 0) {
        if (!(await this.untilLeft(staying, remaining()))) return;
      }
    }
  }

  /**
   * Resolves true once each of `members` (dead, still in the group) has left it, switching to
   * the caller from the last one's link, registered after the group's; false after `timeout` ms.
   */
  private untilLeft(members: Greenlet<any>[], timeout: number | null): Promise<boolean> {
    const w = new Waiter<boolean>(this);
    let left = members.length;
    const onLeft = (): typeof SWITCHED | undefined => {
      if (!w.pending || --left > 0) return undefined;
      w.wake(true);
      return SWITCHED;
    };
    for (const g of members) g.link(onLeft);
    if (timeout !== null) w.setTimeout(timeout, (x) => x.withdraw(true, false));
    return w.block().finally(() => {
      for (const g of members) g.unlink(onLeft);
    });
  }

  /**
   * Kills `greenlet` if the group tracks it and no kill of the group has reached it yet
   * (gevent's `killone`); with `block` (the default) waits until it is dead, or `timeout` ms
   * (a member that kills itself gets the kill from this call, as from its own `kill()`). Does
   * nothing for a greenlet not in the group.
   * @throws TypeError, RangeError for bad arguments (the promise rejects, nothing is killed).
   */
  async killone(greenlet: Greenlet<any>, options: KillOptions = {}): Promise<void> {
    const { block, timeout } = checkKill(options);
    if (!this.raiseInto(greenlet, options.exception)) return;
    if (!block) return;
    // A member killing itself: the kill is raised at this suspension, as gevent's `join`
    // switches to the hub (a join of itself would be a DeadlockError).
    if (getcurrent() === greenlet) await sleepDirect(0);
    else await greenlet.join({ timeout });
  }

  /** Raises into `g` unless it is not tracked or already dying; true when it did. */
  private raiseInto(g: Greenlet<any>, exception: KillOptions['exception']): boolean {
    if (this.dying.has(g) || !this.greenlets.has(g)) return false;
    this.dying.add(g);
    // Checked by the caller: this kill cannot reject.
    void g.kill(exception === undefined ? { block: false } : { exception, block: false });
    return true;
  }

  /** @internal Tracks `g` (and starts it, with `start`). */
  protected track(g: Greenlet<any>, start = true): void {
    this.greenlets.add(g);
    g.link(this.onDeath);
    if (start) g.start();
  }

  /** @internal A greenlet left the group (died or discarded): a Pool hands its slot on. */
  protected released(): void {}

  private release(g: Greenlet<any>): void {
    if (!this.greenlets.delete(g)) return;
    this.dying.delete(g);
    this.released();
    if (this.greenlets.size === 0) {
      for (let w = this.emptyWaiters.shift(); w !== null; w = this.emptyWaiters.shift()) {
        w.wake(true);
      }
    }
  }

  /** How messages name the class: "Group", "Pool". */
  protected abstract readonly kind: string;

  /**
   * Yields `[index, greenlet]` as the item greenlets die; kills what is left when stopped. With
   * `raise` (the default) a failed item's error is raised instead of its greenlet yielded.
   */
  private async *runEach<T, R>(
    fn: (item: T) => R,
    items: Iterable<T>,
    raise = true,
  ): AsyncGenerator<[number, Greenlet<Awaited<R>>]> {
    const what = this.kind;
    if (typeof fn !== 'function') {
      throw new TypeError(`${what}: expected a function to map: received ${describeValue(fn)}`);
    }
    if (items === null || typeof (items as any)?.[Symbol.iterator] !== 'function') {
      throw new TypeError(
        `${what}: expected an iterable of items: received ${describeValue(items)}`,
      );
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
        const s = this.spawn(fn, item);
        const g = s instanceof Promise ? await s : s;
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

let groupCounter = 0;

/**
 * A group of greenlets, without a limit (gevent's `gevent.pool.Group`): `spawn` starts one and
 * tracks it until it dies, `add`/`start` track one made elsewhere, `discard` stops tracking one;
 * `join` waits for the group to be empty, `kill` kills them all, `killone` one of them; `map`,
 * `imap`, `imapUnordered`, `apply`, `applyAsync` run a function in greenlets of the group.
 * `spawn`, `add` and `start` never wait, as gevent's: they return at once. `new Group(greenlets)`
 * tracks those (not starting them).
 *
 * **Cancellation:** cancelling a task waiting in `join` ends that wait only. Stopping a
 * `map`/`imap`/`imapUnordered` early (a cancelled caller, a `break`, an item that failed) kills
 * its greenlets still running.
 * @throws TypeError from the constructor for something that is not an iterable of greenlets.
 * @example
 * const group = new Group();
 * for (const url of urls) group.spawn(fetchPage, url);
 * await group.join();
 */
export class Group extends GroupBase {
  protected readonly kind: string = 'Group';
  private readonly id = ++groupCounter;

  constructor(greenlets?: Iterable<Greenlet<any>>) {
    super();
    if (greenlets !== undefined && greenlets !== null) {
      if (typeof (greenlets as any)?.[Symbol.iterator] !== 'function') {
        throw new TypeError(
          `Group expects an iterable of greenlets: received ${describeValue(greenlets)}`,
        );
      }
      const list = [...greenlets];
      for (const g of list) checkGreenlet('Group', g);
      for (const g of list) this.add(g);
    }
  }

  /**
   * Starts `fn(...args)` in a new greenlet tracked by the group and returns it (gevent's
   * `Group.spawn`).
   * @throws TypeError when `fn` is not a function.
   */
  spawn<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Greenlet<Awaited<R>> {
    const g = new Greenlet<Awaited<R>>(fn as (...a: any[]) => Awaited<R>, ...args);
    this.track(g);
    return g;
  }

  /**
   * Begins tracking `greenlet` without starting it (gevent's `Group.add`); one already tracked
   * stays tracked once; a dead one leaves on the next turn, as any greenlet of the group leaves
   * when it dies.
   * @throws TypeError for something that is not a Greenlet.
   */
  add(greenlet: Greenlet<any>): void {
    checkGreenlet('Group.add', greenlet);
    if (this.greenlets.has(greenlet)) return;
    this.track(greenlet, false);
  }

  /** `add(greenlet)`, then starts it (gevent's `Group.start`). @throws as `add`. */
  start(greenlet: Greenlet<any>): void {
    this.add(greenlet);
    greenlet.start();
  }

  /** Always false: a Group has no limit (gevent's). */
  full(): boolean {
    return false;
  }

  /** Resolves at once: a Group always has room (gevent's `wait_available`). */
  waitAvailable(options?: WaitOptions): Promise<void> {
    try {
      parseWait('Group.waitAvailable', options);
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve();
  }

  describe(): string {
    return `Group-${this.id}`;
  }

  get [Symbol.toStringTag](): string {
    return 'Group';
  }
}

function checkGreenlet(what: string, g: unknown): void {
  if (!(g instanceof Greenlet)) {
    throw new TypeError(`${what} expects a Greenlet: received ${describeValue(g)}`);
  }
}
