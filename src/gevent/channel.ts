/**
 * gevent.queue's `Channel`: a queue of no size, where a `put` waits until a `get` takes its item
 * (a rendezvous).
 *
 * Implementation notes
 * --------------------
 * Getters and putters wait in a line each (waiting-line.ts). A `put` made while a getter waits,
 * or a `get` while a putter waits, queues one pass pairing the lines (gevent's `_unlock`, one at
 * a time per channel): it pairs the first getter with the first putter and wakes both in one
 * switch (scheduler.ts, `beginSwitch`), the getter first, so that they resume next, side by
 * side — the getter runs until it blocks, then its putter — and the pass goes on with the next
 * pair right behind them, before anything else runs: gevent's `_unlock` switches to the getter,
 * then to its putter, then loops. A `put` or `get` that pairs still yields before it returns, as
 * gevent's does.
 *
 *   put(x) ──► P waits ─┐                       ┌──► G resumes: takes x (or gives it back)
 *   get()  ──► G waits ─┴─ pass: pair, wake G, P ┴──► P resumes: done ──► pass: next pair
 *
 * The putter's outcome is decided by its getter, whose resume comes first: its continuation runs
 * before the putter's (in the getter's step, or, for a getter with no step of its own, as the
 * earlier microtask), and records on the putter whether the item was taken (`handed`). A getter
 * cancelled before it resumes, or cancelled after (a cancel that came before it went on), gives
 * the item back: the putter then returns to its place and is paired with the next getter. A
 * getter whose putter was cancelled in between takes nothing and goes back to its place. So no
 * item is lost, and none is received twice. A kill is a callback of its own on the ready queue
 * (greenlet.ts): a pair woken before its turn completes the hand-off first, as in gevent. One
 * order is not gevent's: a putter cancelled by other means (an asyncio `cancel()`, an aborted
 * signal) after its getter took the item, before the putter itself resumed, gets the cancel from
 * `put` (weft's rule, and CPython's: a cancel that reaches a task between its wake-up and its
 * step is raised at that await), though the item was delivered.
 */
import { describeValue } from '../internal/errors.js';
import { queuePass } from '../internal/scheduler.js';
import { parseBlocking, parseWait } from '../internal/wait-options.js';
import { CallWaits, tieCall, type Waiter } from '../internal/waiter.js';
import { Empty, Full } from './errors.js';
import { watchMainWait } from './loop-exit.js';
import { type QueueWaitOptions, StopIteration } from './queue.js';
import { switchInto } from './switch.js';
import { LineWaiter, WaitingLine } from './waiting-line.js';

/** A putter's hand-off, as its getter decides it (`Hand.handed`). */
const UNDECIDED = 0;
const TAKEN = 1;
const RETURNED = 2;

/** One side of a hand-off: a putter holds its item, a getter receives it. */
class Hand extends LineWaiter {
  item: unknown = undefined;
  /** The other side, while the item is on its way. */
  partner: Hand | null = null;
  /** A paired putter's: whether its getter took the item or gave it back. */
  handed: 0 | 1 | 2 = UNDECIDED;
}

// A Channel holds nothing: its Full and Empty say who was missing, where a queue's say the queue
// was full or empty (gevent's carry no message at all).
const NO_GETTER =
  'No greenlet took the item: a Channel holds nothing, and no getter came in time (block: false, or the timeout passed)';
const NO_PUTTER =
  'No greenlet put an item: a Channel holds nothing, and no putter came in time (block: false, or the timeout passed)';

function timedOut(w: Waiter<boolean>): void {
  w.withdraw(true, false);
}

function noop(): void {}

function runUnlock(c: Channel<unknown>): void {
  c._unlock();
}

function unlockFailed(c: Channel<unknown>): void {
  c._unlockFailed();
}

/** Wakes a pair, the getter `g` first: both run next, side by side (`Channel._unlock`). */
function wakePair(_c: Channel<unknown>, g: Hand): boolean {
  g.wake(true);
  (g.partner as Hand).wake(true);
  return true;
}

let channelCounter = 0;

/**
 * gevent's `Channel()`: `put(item)` waits until a greenlet `get`s it; `get()` waits for a
 * putter. Waiting greenlets are served in the order they came, each side. With `block: false`
 * (and `putNowait`/`getNowait`) the call still lets the loop turn once before it gives up —
 * gevent's use a timeout of 0 — so they return Promises, unlike a Queue's. It holds nothing:
 * `qsize()` is 0, `empty()` and `full()` true; `balance` is the putters waiting minus the
 * getters waiting. `for await (const item of channel)` gets items until it gets
 * `StopIteration`.
 *
 * **Cancellation:** a greenlet killed (or a task cancelled, a `signal` aborted, a `Timeout`
 * expired) while it waits in `put` or `get` gets that error there; its item is not delivered,
 * or it received none, and an item on its way to a getter that was killed goes to the next
 * getter. Not guaranteed: a putter killed in the moment between its getter receiving the item
 * and its own resumption gets the kill although the item was delivered.
 *
 * @throws LoopExit from a wait of the main program (outside every greenlet and task) that
 *   nothing is left to end.
 */
export class Channel<T = unknown> implements AsyncIterable<Exclude<T, typeof StopIteration>> {
  private readonly getters = new WaitingLine(noop);
  private readonly putters = new WaitingLine(noop);
  private readonly id = ++channelCounter;
  /** The putter of the hand-off under way, until it has resumed: no other pair is made before. */
  private inFlight: Hand | null = null;
  /** gevent's `_event_unlock`: a pass pairing the lines (`_unlock`) is queued or under way. */
  private unlocking = false;
  /**
   * A getter woken with an item was cancelled before it resumed: the item goes back; its putter,
   * whose resume comes next, returns to its place then.
   */
  private readonly revoke = (g: Waiter<boolean>): void => {
    giveBack(g as Hand);
  };
  private readonly mainGet = (): string =>
    `the main program waits for an item of ${this.describe()}, which nothing puts`;
  private readonly mainPut = (): string =>
    `the main program waits for a greenlet to get its item from ${this.describe()}, and none does`;

  /** @throws TypeError, RangeError for a `maxsize` other than 1 (gevent's ValueError). */
  constructor(maxsize = 1) {
    if (typeof maxsize !== 'number') {
      throw new TypeError(`Channel maxsize must be 1: received ${describeValue(maxsize)}`);
    }
    if (maxsize !== 1) throw new RangeError(`Channel maxsize must be 1: received ${maxsize}`);
  }

  /** Putters waiting minus getters waiting (a snapshot). */
  get balance(): number {
    return this.putters.size - this.getters.size;
  }

  /** Always 0: a Channel holds no item. */
  qsize(): number {
    return 0;
  }

  /** Always true. */
  empty(): boolean {
    return true;
  }

  /** Always true: a `put` always waits for a getter. */
  full(): boolean {
    return true;
  }

  /**
   * Hands `item` to a getter: resolves once one has received it.
   * @throws Full when no getter took it before `timeout` (with `block: false`, before the loop
   *   has turned once); LoopExit (see the class).
   */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    const call = new CallWaits();
    return tieCall(this.putSlow(item, options, call), call);
  }

  /** `put(item, { block: false })`: a getter must take it before the loop has turned once. */
  putNowait(item: T): Promise<void> {
    return this.put(item, { block: false });
  }

  /**
   * Receives the item of a putter, waiting for one.
   * @throws Empty when none came before `timeout` (with `block: false`, before the loop has
   *   turned once); LoopExit (see the class).
   */
  get(options?: QueueWaitOptions): Promise<T> {
    const call = new CallWaits();
    return tieCall(this.getSlow(options, call), call);
  }

  /** `get({ block: false })`: a putter must come before the loop has turned once. */
  getNowait(): Promise<T> {
    return this.get({ block: false });
  }

  /** Gets items until it gets `StopIteration` (gevent's `for x in channel`). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Exclude<T, typeof StopIteration>> {
    for (;;) {
      const item = await this.get();
      if (item === StopIteration) return;
      yield item as Exclude<T, typeof StopIteration>;
    }
  }

  /** `Channel-3`, for messages. */
  describe(): string {
    return `Channel-${this.id}`;
  }

  get [Symbol.toStringTag](): string {
    return 'Channel';
  }

  private async putSlow(
    item: T,
    options: QueueWaitOptions | undefined,
    call: CallWaits,
  ): Promise<void> {
    const parsed = parseWait('Channel.put', options);
    const block = parseBlocking('Channel.put', options?.block, 'block');
    const signal = parsed.signal;
    signal?.throwIfAborted();
    const timeout = block ? parsed.timeout : 0;
    const deadline = timeout === null ? null : performance.now() + timeout;
    let seq = 0;
    for (;;) {
      let left: number | null = null;
      if (deadline !== null) {
        left = Math.max(0, deadline - performance.now());
        if (left === 0 && seq !== 0) {
          this.scheduleUnlock(); // the hand-off it gave back is over
          throw new Full(NO_GETTER);
        }
      }
      const p = new Hand(this);
      p.item = item;
      this.putters.enter(p, seq);
      if (this.getters.size > 0) this.scheduleUnlock();
      // Paired already (woken): no timer is armed, and the main program's wait is not watched.
      if (left !== null) p.setTimeout(left, timedOut);
      if (signal !== null) p.setSignal(signal);
      call.add(p);
      watchMainWait(p, this.mainPut);
      let ok: boolean;
      try {
        ok = await p.block();
      } catch (e) {
        this.handOffDone(p);
        throw e;
      }
      if (!ok) throw new Full(NO_GETTER); // timed out before it was paired
      if (p.handed === RETURNED) {
        // Its getter did not take the item: back to this wait's place, before the next pair.
        seq = p.seq;
        if (this.inFlight === p) this.inFlight = null;
        continue;
      }
      this.handOffDone(p);
      // The item was received; a cancel that came after that is raised all the same, as CPython
      // raises one that reaches a task between its wake-up and its step.
      call.raiseLate();
      return;
    }
  }

  private async getSlow(options: QueueWaitOptions | undefined, call: CallWaits): Promise<T> {
    const parsed = parseWait('Channel.get', options);
    const block = parseBlocking('Channel.get', options?.block, 'block');
    const signal = parsed.signal;
    signal?.throwIfAborted();
    const timeout = block ? parsed.timeout : 0;
    const deadline = timeout === null ? null : performance.now() + timeout;
    let seq = 0;
    for (;;) {
      let left: number | null = null;
      if (deadline !== null) {
        left = Math.max(0, deadline - performance.now());
        if (left === 0 && seq !== 0) throw new Empty(NO_PUTTER);
      }
      const g = new Hand(this);
      this.getters.enter(g, seq);
      if (this.putters.size > 0) this.scheduleUnlock();
      if (left !== null) g.setTimeout(left, timedOut);
      if (signal !== null) g.setSignal(signal);
      call.add(g);
      watchMainWait(g, this.mainGet);
      if (!(await g.block())) throw new Empty(NO_PUTTER);
      const putter = g.partner as Hand;
      const late = call.takeCancel();
      if (late !== null) {
        giveBack(g);
        throw late;
      }
      g.partner = null;
      putter.partner = null;
      // Its putter's resume has not run yet, or has run without a cancel (see the notes): `ok`
      // false means the putter was cancelled meanwhile and raises that.
      if (putter.ok) {
        putter.handed = TAKEN;
        return g.item as T;
      }
      seq = g.seq; // its putter gave up while the item was on its way: back in line
    }
  }

  /** Queues a pass pairing the lines, unless one is queued or under way (gevent's). */
  private scheduleUnlock(): void {
    if (this.unlocking) return;
    this.unlocking = true;
    queuePass(runUnlock, this);
  }

  /**
   * @internal gevent's `_unlock`, one pair at a time: the first getter and the first putter are
   * paired and woken to run next, the getter first; once the putter has blocked again, this goes
   * on with the next pair (scheduler.ts, `endSwitch`). A hand-off still under way (its putter
   * outside every task, whose resumption has no step to wait for) holds the pass until it ends.
   */
  _unlock(): void {
    const g = this.getters.head as Hand | null;
    const p = this.putters.head as Hand | null;
    if (this.inFlight !== null || g === null || p === null) {
      this.unlocking = false;
      return;
    }
    g.item = p.item;
    g.partner = p;
    p.partner = g;
    g.onRevoke = this.revoke;
    this.inFlight = p;
    switchInto(wakePair, this, g, runUnlock, true, unlockFailed);
  }

  /** @internal A wake-up threw (not expected: it runs no code of the user's). */
  _unlockFailed(): void {
    this.unlocking = false;
  }

  /** `p`'s hand-off is over: the next pair may be made. */
  private handOffDone(p: Hand): void {
    if (this.inFlight !== p) return;
    this.inFlight = null;
    if (this.getters.size > 0 && this.putters.size > 0) this.scheduleUnlock();
  }
}

/** `g`'s putter gets its item back: it returns to its place when it resumes (after `g`). */
function giveBack(g: Hand): void {
  const p = g.partner;
  g.partner = null;
  if (p === null) return;
  p.partner = null;
  p.handed = RETURNED;
}
