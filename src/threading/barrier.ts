/**
 * | idx   | name       | writer        | readers     | meaning                                   |
 * |  0    | GEN        | the owner     | waiters     | generation; bumped when it passes or breaks (futex word) |
 * |  1    | COUNT      | arrivals (cas), the owner | any | generation's low 11 bits << 21 | CAPABLE << 20 | parties arrived |
 * |  2    | BROKEN     | the owner     | any         | 1 while the barrier is broken             |
 * |  3    | PARTIES    | creator       | any         | number of parties                         |
 * |  4    | WAITERS    | waiters (add) | wakers      | parked or about to park on GEN            |
 * |  5    | OWNER_TID  | the owner, a claimant (cas) | abort/reset | tid of the thread that owns the state (see below), 0 when none or not yet known |
 * |  6    | ACTOR      | the owner, a claimant (cas) | waiters | the action handed over: 0 none, OFFERED, or the tid of the claimant running it |
 * | 7…38  | OUTCOMES   | the owner     | waiters     | one bit per generation, generation mod 1024: 1 if it broke, 0 if it passed |
 *
 * The action in a thread that cannot run it yet. A barrier revived in a worker rebuilds its
 * action in the background (a marked function's module is imported; the import cannot finish
 * while the thread is parked). An async `wait` waits for that first. A `waitSync` made right
 * after the barrier arrived (in a queue item, in the args of an inline target) cannot: if that
 * party is the last, it hands the action over instead of breaking the barrier. Each arrival says
 * in COUNT's CAPABLE bit, in the same CAS that counts it, whether its thread has the action; a
 * last party without it, when CAPABLE is set, stays the owner and stores ACTOR = OFFERED, and
 * waits like any other party. A waiting party (or an abort()/reset() caller) whose thread has
 * the action claims it (CAS ACTOR OFFERED → its tid, then CAS OWNER_TID from the offerer to
 * itself), runs it and ends the generation as the last party would have: the action still runs
 * once, before anyone goes on, in a thread that has it. An offer nobody has claimed yet is
 * withdrawn by a CAS on ACTOR (the offerer's timeout or abort: it owns the state again and
 * breaks the generation). When no waiting party can run the action the barrier breaks at once,
 * as before, with a BrokenBarrierError that says why.
 *
 * Invariants: COUNT's arrivals < PARTIES between generations; ≥ PARTIES while one thread owns
 * the barrier's state: the last arrival from its CAS (which made it PARTIES) while it runs the
 * action and until it opens the next generation, or an abort()/reset() from the CAS that set the
 * arrivals to N_MASK until it opens one. Only that owner writes GEN, BROKEN and OUTCOMES, so a
 * pass, an abort and a reset happen one after another, as under Python's lock: an abort that
 * comes while a generation passes waits for the pass and breaks the next one, and never breaks
 * a generation whose last party has gone through. The owner ends a generation by writing its
 * outcome bit, then GEN, then COUNT with the new generation's bits. A party arriving while the
 * state is owned waits on COUNT for the next generation, as in Python (`_enter`): counted into
 * the passing one, it would take itself for a second last arrival and go through alone.
 * Arrivals count themselves with a CAS on COUNT, whose generation bits make a CAS fail if a
 * generation passed since the read, so a party always knows its generation. The owner names
 * itself in OWNER_TID just after its CAS and clears it just before it opens COUNT; an abort() or
 * reset() that finds the state owned by a thread that has ended (a worker killed in the action)
 * takes the owner's place with a CAS on OWNER_TID, instead of waiting for ever.
 *
 * A waiter reads GEN, then its generation's bit, then GEN again. Once GEN has moved, the bit is
 * its generation's outcome until generation + 1024 ends; the second read of GEN proves that has
 * not happened (a party that slept through 1024 generations gets BrokenBarrierError saying so).
 * One bit per generation, not one "last broken" word: a party that wakes late, after its
 * generation broke and later ones broke too, would otherwise read the later break and take its
 * own for a pass. Why Python needs none of this: its reset waits until the parties of a broken
 * generation have left; here an abort() may come from the thread of such a party, whose own
 * async wait could then never leave.
 */
import { add, and, cas, load, notify, or, store } from '../internal/atomics.js';
import { BrokenBarrierError, checkBarrierOptions, describeValue } from '../internal/errors.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import { AGAIN, type Attempt, type Parkable, waitAsync, waitSync } from '../internal/shm/wait.js';
import { DEAD_HOLDER_RECHECK_MS, selfTid, threadEnded } from '../internal/shm/world.js';
import {
  resolveTaskRef,
  resolveTaskRefSync,
  type TaskRef,
  toTaskRef,
} from '../internal/task-ref.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { type Recoverable, track } from './owner-death.js';
import { inspectCustom } from './repr.js';

const GEN = 0;
const COUNT = 1;
const BROKEN = 2;
const PARTIES = 3;
const WAITERS = 4;
const OWNER_TID = 5;
const ACTOR = 6;
const OUTCOMES = 7;
/** ACTOR: the last party offers the action to a party that can run it. */
const OFFERED = -1;
/** What `own()` answers besides COUNT. */
const IN_ACTION = Symbol('in action');
const RESCUED = Symbol('rescued');
/** What `own(false)` answers when another thread owns the state (it does not wait then). */
const OWNED_ELSEWHERE = Symbol('owned elsewhere');
/** One async wait of this thread, counted in its generation's arrivals until it settles. */
interface PendingWait {
  /** False once the wait settled, or was withdrawn because its thread ended. */
  live: boolean;
  gen: number;
}
/** What a withdrawn wait's attempt answers: it never settles (see `recoverFromDeath`). */
const WITHDRAWN = -1;
const NEVER = new Promise<never>(() => {});
/** Generations whose outcome a waiter can still read: 32 words of 32 bits. */
const WINDOW = 1024;
const WORDS = OUTCOMES + WINDOW / 32;
/** The word and bit of generation `gen`'s outcome. */
const outcomeWord = (gen: number): number => OUTCOMES + ((gen >>> 5) & (WINDOW / 32 - 1));
const outcomeBit = (gen: number): number => 1 << (gen & 31);
/** COUNT: arrivals in the low N_BITS, then CAPABLE, then the generation's low bits. */
const N_BITS = 20;
const N_MASK = (1 << N_BITS) - 1;
/** Set by an arrival whose thread can run the action (see the notes on handing it over). */
const CAPABLE = 1 << N_BITS;
const GEN_SHIFT = N_BITS + 1;
const GEN_MASK = (1 << (32 - GEN_SHIFT)) - 1;
/** COUNT's value opening generation `gen`. */
const opening = (gen: number): number => ((gen & GEN_MASK) << GEN_SHIFT) | 0;

export interface BarrierOptions {
  /** Called by one party (the last to arrive) when the barrier passes, before the others go on. */
  action?: () => void;
  /** Default timeout (ms) of `wait`. */
  timeout?: number | null;
}

/**
 * Python's `threading.Barrier` across threads: `parties` threads wait until all have arrived,
 * then all go on. `wait()` resolves to a distinct index 0…parties−1 for each.
 *
 * A wait that times out or is aborted breaks the barrier (as in Python: the others would wait
 * for a party that is not coming): every waiter, and every later `wait` until `reset()`, gets a
 * `BrokenBarrierError`.
 *
 * The `action` runs in the thread that arrives last; in a worker, a marked function
 * (`task(import.meta, fn)`) or a self-contained one is rebuilt there. A last party whose thread
 * has not rebuilt it yet (a `waitSync` right after the barrier arrived) hands it to a waiting
 * party whose thread has it, which runs it before anyone goes on.
 */
export class Barrier implements Recoverable {
  /** @internal */ readonly _a: Int32Array;
  /** This thread's async waits still parked in a generation (see `recoverFromDeath`). */
  private pending: Set<PendingWait> | undefined;
  private _action: (() => void) | null = null;
  private _actionRef: TaskRef | null = null;
  /** The action being rebuilt in this thread (a revived barrier), until it is. */
  private _loading: Promise<void> | null = null;
  private _loadError: unknown = null;
  private _timeout: number | null = null;

  constructor(parties: number, options: BarrierOptions = {}) {
    if (typeof parties !== 'number' || !Number.isInteger(parties)) {
      throw new TypeError(`Barrier parties must be an integer: received ${describeValue(parties)}`);
    }
    if (parties < 1) throw new RangeError(`Barrier parties must be >= 1: received ${parties}`);
    if (parties > N_MASK) {
      throw new RangeError(`Barrier parties must be <= ${N_MASK}: received ${parties}`);
    }
    checkBarrierOptions(options);
    const { action, timeout } = options;
    this._timeout = parseWait('Barrier', { timeout }).timeout;
    this._a = new Int32Array(new SharedArrayBuffer(WORDS * 4));
    store(this._a, PARTIES, parties);
    if (action) {
      this._action = action;
      this._actionRef = toTaskRef(action, 'Barrier action');
    }
    track(this);
  }

  get parties(): number {
    return load(this._a, PARTIES);
  }

  /** Parties waiting now — a snapshot. */
  get nWaiting(): number {
    return Math.min(load(this._a, COUNT) & N_MASK, load(this._a, PARTIES) - 1);
  }

  get broken(): boolean {
    return load(this._a, BROKEN) === 1;
  }

  /**
   * Counts this party in: its index and generation; its index if it was last and the generation
   * passed; null if the barrier is passing (wait for `draining()`, then arrive again). A last
   * party that handed the action over waits like the others: it gets its index and generation.
   */
  private arrive(): { index: number; gen: number } | number | null {
    const a = this._a;
    const parties = load(a, PARTIES);
    const capable = this._action !== null ? CAPABLE : 0;
    let c: number;
    for (;;) {
      if (load(a, BROKEN) === 1) throw new BrokenBarrierError();
      c = load(a, COUNT);
      if ((c & N_MASK) >= parties) return null;
      if (cas(a, COUNT, c, (c + 1) | capable) === c) break;
    }
    const index = c & N_MASK;
    // GEN's low bits were COUNT's when the CAS succeeded; GEN may have moved on since.
    const now = load(a, GEN);
    const gen = (now - ((now - (c >>> GEN_SHIFT)) & GEN_MASK)) | 0;
    if (index < parties - 1) return { index, gen };
    // The last arrival: this thread owns the state until it opens the next generation. Said in
    // OWNER_TID, so that an abort() or reset() the action makes (through any copy of this
    // barrier in this thread) does not wait for the pass it is part of, and so that one made
    // elsewhere can take over if this thread is killed meanwhile.
    store(a, OWNER_TID, selfTid);
    if (this._action === null && this._actionRef !== null) {
      if ((c & CAPABLE) !== 0) {
        // A party already waiting has the action: it runs it and ends the generation. After
        // OWNER_TID (a claimant takes the state over from it), then wake the waiters to look.
        store(a, ACTOR, OFFERED);
        notify(a, GEN);
        return { index, gen };
      }
      this.breakOwned();
      throw new BrokenBarrierError(
        `The barrier action${this._actionRef.name ? ` ${this._actionRef.name}` : ''} cannot run: it is not loaded in this thread yet (a waitSync right after the barrier arrived; an async wait waits for it), and no waiting party's thread has it`,
        this._loadError === null ? undefined : { cause: this._loadError },
      );
    }
    this.pass(gen);
    return index;
  }

  /**
   * The owner ends generation `gen`: runs the action (if any), then passes. Throws what the
   * action threw (the barrier broken), or BrokenBarrierError when the action itself broke or
   * reset the barrier (its generation's parties got that too).
   */
  private pass(gen: number): void {
    const a = this._a;
    if (this._action) {
      try {
        this._action();
      } catch (err) {
        // An action that throws leaves the barrier broken, as Python's `_release` breaks it
        // last: even after a reset() of its own, which gave the state back (so it is taken
        // again, as abort() takes it). After an abort() of its own it is broken already.
        if (load(a, GEN) === gen) this.breakOwned();
        else if (load(a, BROKEN) === 0) this.abort();
        throw err;
      }
      // The action called abort() or reset(): this generation's parties got BrokenBarrierError,
      // and so does this one; the barrier is already in its new state.
      if (load(a, GEN) !== gen) throw new BrokenBarrierError();
    }
    // Passed, then GEN (this generation's waiters go), then COUNT opens the next one.
    and(a, outcomeWord(gen), ~outcomeBit(gen));
    const next = (add(a, GEN, 1) + 1) | 0;
    store(a, ACTOR, 0);
    store(a, OWNER_TID, 0);
    store(a, COUNT, opening(next));
    // After GEN: a waiter counts itself before re-reading GEN.
    if (load(a, WAITERS) > 0) notify(a, GEN);
    notify(a, COUNT);
  }

  /**
   * Claims an action the last party offered (see the notes) and ends its generation with it;
   * false when there is none to claim or this thread does not have the action. Throws as `pass`.
   */
  private runOffered(): boolean {
    const a = this._a;
    if (this._action === null || load(a, ACTOR) !== OFFERED) return false;
    // The offerer stored OWNER_TID before OFFERED.
    const offerer = load(a, OWNER_TID);
    if (offerer === 0 || cas(a, ACTOR, OFFERED, selfTid) !== OFFERED) return false;
    // The offerer's place; a CAS: an abort() that found the offerer killed may have taken it
    // (then its own opening clears ACTOR, and the action does not run).
    if (cas(a, OWNER_TID, offerer, selfTid) !== offerer) return false;
    this.pass(load(a, GEN));
    return true;
  }

  /** A wait for the passing generation to open the next one (or for the barrier to break). */
  private draining(): Parkable<null> {
    const a = this._a;
    const parties = load(a, PARTIES);
    return {
      a,
      i: COUNT,
      w: -1,
      attempt: () => ((load(a, COUNT) & N_MASK) < parties || load(a, BROKEN) === 1 ? null : AGAIN),
      timedOut: () => null,
    };
  }

  private parkable(gen: number, index: number, w: PendingWait | null = null): Parkable<number> {
    const a = this._a;
    const attempt = (): Attempt<number> => {
      if (w !== null && !w.live) return WITHDRAWN;
      // The last party offered the action and this thread has it: end the generation with it.
      if (load(a, ACTOR) === OFFERED && load(a, GEN) === gen && this.runOffered()) return index;
      return this.outcome(gen, index);
    };
    return {
      a,
      i: GEN,
      w: WAITERS,
      attempt,
      timedOut: () => {
        if (w !== null && !w.live) return WITHDRAWN;
        // The generation may have passed (or broken) since the wait gave up: then that is the
        // outcome, and the barrier is left as it is.
        if (this.abortGeneration(gen)) throw new BrokenBarrierError('The barrier timed out');
        return this.outcome(gen, index) as number;
      },
    };
  }

  /** How generation `gen` ended for the party with `index`, or AGAIN while it has not. */
  private outcome(gen: number, index: number): Attempt<number> {
    const a = this._a;
    // GEN first: the owner that ends a generation writes its bit before GEN.
    if (load(a, GEN) === gen) return AGAIN;
    const broke = (load(a, outcomeWord(gen)) & outcomeBit(gen)) !== 0;
    // The bit is rewritten only by the owner that ends generation gen + WINDOW, which owns the
    // state only once GEN has reached that generation.
    if (((load(a, GEN) - gen) | 0) >>> 0 >= WINDOW) {
      throw new BrokenBarrierError(
        `The barrier went through ${WINDOW} generations while this party waited: whether its own passed is no longer known`,
      );
    }
    if (broke) throw new BrokenBarrierError();
    return index;
  }

  /**
   * Takes the barrier's state for an abort or reset (see the invariants): waits while another
   * thread owns it (a generation passing, its action running). Returns COUNT as it was (the
   * generation's arrivals in its low bits); IN_ACTION when this thread owns the state already
   * (called from the action); RESCUED when the owner was a thread that has ended (killed while
   * it owned the state), whose place this thread took: nobody else would ever open the barrier.
   * With `wait` false, OWNED_ELSEWHERE instead of waiting for another thread's pass or abort.
   */
  private own(wait = true): number | typeof IN_ACTION | typeof RESCUED | typeof OWNED_ELSEWHERE {
    const a = this._a;
    const parties = load(a, PARTIES);
    for (;;) {
      const c = load(a, COUNT);
      if ((c & N_MASK) < parties) {
        if (cas(a, COUNT, c, c | N_MASK) === c) {
          store(a, OWNER_TID, selfTid);
          return c;
        }
        continue;
      }
      const owner = load(a, OWNER_TID);
      if (owner === selfTid) {
        const actor = load(a, ACTOR);
        // Our own pass (its action calls us), or an offer of ours nobody took: withdrawn by the
        // CAS, the state is ours alone again. Claimed by another thread: it takes OWNER_TID over
        // in a moment; wait for its pass like anyone else.
        if (actor === 0 || actor === selfTid) return IN_ACTION;
        if (actor === OFFERED && cas(a, ACTOR, OFFERED, 0) === OFFERED) return IN_ACTION;
      }
      // An offered action this thread has: nobody else may be there to run it (this thread's
      // own waiting party cannot while this call blocks it).
      if (this.runOffered()) continue;
      if (owner !== 0 && threadEnded(owner) && cas(a, OWNER_TID, owner, selfTid) === owner) {
        return RESCUED;
      }
      if (!wait) return OWNED_ELSEWHERE;
      // Short, unless the owner is killed: it runs an action or opens a generation. A bounded
      // park looks at the owner again (a killed thread's end is marked by the one that saw it).
      waitSync(
        {
          a,
          i: COUNT,
          w: -1,
          attempt: () => ((load(a, COUNT) & N_MASK) < parties ? null : AGAIN),
          timedOut: () => null,
        },
        DEAD_HOLDER_RECHECK_MS,
        null,
      );
    }
  }

  /** Opens generation `gen` (the owner's last step) and wakes everyone who waits. */
  private open(gen: number): void {
    const a = this._a;
    store(a, ACTOR, 0);
    store(a, OWNER_TID, 0);
    store(a, COUNT, opening(gen));
    notify(a, GEN);
    notify(a, COUNT);
  }

  /** Breaks the current generation and the barrier; the caller owns the state. */
  private breakOwned(): void {
    const a = this._a;
    const gen = load(a, GEN);
    store(a, BROKEN, 1);
    or(a, outcomeWord(gen), outcomeBit(gen));
    store(a, GEN, (gen + 1) | 0);
    this.open((gen + 1) | 0);
  }

  /**
   * A waiter of generation `gen` gives up (timeout, abort signal): breaks the barrier if that
   * generation is still the current one; returns false, leaving the barrier as it is, when the
   * generation has ended meanwhile. With `wait` false (a thread that ends), also false when
   * another thread owns the state: that owner ends the generation itself.
   */
  private abortGeneration(gen: number, wait = true): boolean {
    const a = this._a;
    const c = this.own(wait);
    if (c === OWNED_ELSEWHERE) return false;
    if (load(a, GEN) === gen) {
      this.breakOwned();
      return true;
    }
    // Passed or broken already: give the state back untouched, or open the generation a killed
    // owner left closed.
    if (c === RESCUED) this.open(load(a, GEN));
    else if (c !== IN_ACTION) {
      store(a, OWNER_TID, 0);
      store(a, COUNT, c);
      notify(a, COUNT);
    }
    return false;
  }

  /**
   * Waits for all parties; resolves to this party's index. A `timeout` that is absent or null
   * (Python's `None`) is the barrier's default; `Infinity` waits for ever.
   * @throws BrokenBarrierError when the barrier is or becomes broken (or this wait times out).
   */
  async wait(options?: WaitOptions): Promise<number> {
    const parsed = parseWait('Barrier.wait', options);
    const { signal } = parsed;
    const timeout = this.timeoutOf(options, parsed.timeout);
    if (signal?.aborted) throw signal.reason;
    // Arrive able to run the action, if this thread is still rebuilding it.
    if (this._loading !== null) {
      await this._loading;
      if (signal?.aborted) throw signal.reason;
    }
    let r = this.arrive();
    while (r === null) {
      await waitAsync(this.draining(), null, signal);
      r = this.arrive();
    }
    if (typeof r === 'number') return r;
    const w: PendingWait = { live: true, gen: r.gen };
    (this.pending ??= new Set()).add(w);
    let index: number;
    try {
      index = await waitAsync(this.parkable(r.gen, r.index, w), timeout, signal);
    } catch (err) {
      // The others would wait for this party for ever, unless its generation ended meanwhile.
      if (w.live && signal?.aborted && err === signal.reason) this.abortGeneration(r.gen);
      if (w.live) throw err;
      return NEVER;
    } finally {
      this.pending.delete(w);
    }
    // Withdrawn as its thread ended: the thread is gone, nothing may run on.
    if (!w.live) return NEVER;
    w.live = false;
    return index;
  }

  /**
   * @internal The calling thread is ending, however it ends, with async waits of it still
   * parked (a wait nothing awaited when run() returned, a process.exit() meanwhile). Each such
   * party is not coming: its generation breaks, as when its wait is aborted. Counted on, it let
   * the next arrival pass the barrier with this party gone.
   */
  recoverFromDeath(): void {
    if (this.pending === undefined) return;
    for (const w of this.pending) {
      if (!w.live) continue;
      w.live = false;
      // Without waiting for another thread that owns the state: the last party passing this
      // generation (this party was counted: it passes), or an abort()/reset() that ends it. That
      // thread may be waiting for this one's end (an action that joins it): a deadlock.
      this.abortGeneration(w.gen, false);
    }
    this.pending.clear();
  }

  /** Blocking twin of `wait`. **Blocking:** parks the thread; not on a server's main thread. */
  waitSync(options?: WaitOptions): number {
    const parsed = parseWait('Barrier.waitSync', options);
    const { signal } = parsed;
    const timeout = this.timeoutOf(options, parsed.timeout);
    // A parked thread cannot see an abort: only one that already happened counts.
    if (signal?.aborted) throw signal.reason;
    let r = this.arrive();
    while (r === null) {
      waitSync(this.draining(), null, null);
      r = this.arrive();
    }
    if (typeof r === 'number') return r;
    return waitSync(this.parkable(r.gen, r.index), timeout, null);
  }

  /**
   * A wait's timeout: absent or null (Python's `None`) is the barrier's default, as in Python's
   * `wait(timeout=None)`; `Infinity` waits for ever whatever the default (as in weft's asyncio
   * and multiprocessing Barriers).
   */
  private timeoutOf(options: WaitOptions | undefined, parsed: number | null): number | null {
    const t = options?.timeout;
    return t === undefined || t === null ? this._timeout : parsed;
  }

  /**
   * Breaks the barrier: current and future waiters get BrokenBarrierError until `reset()`.
   * A generation passing in another thread (its action running) is let through first: the abort
   * breaks the next one. Called from the action, it breaks the passing generation: every party
   * of it, the last one included, gets BrokenBarrierError (Python's would deadlock there).
   */
  abort(): void {
    this.own();
    this.breakOwned();
  }

  /**
   * Back to the initial state; parties waiting now get BrokenBarrierError. Like `abort`, it waits
   * for a generation passing in another thread; called from the action, the passing generation's
   * parties get BrokenBarrierError.
   */
  reset(): void {
    const a = this._a;
    const c = this.own();
    const gen = load(a, GEN);
    // Parties to tell (the action's own generation, or the one a killed owner held: every
    // party of it is waiting); a generation nobody waits in is recorded as passed (no one reads
    // it).
    if (typeof c !== 'number' || (c & N_MASK) > 0) or(a, outcomeWord(gen), outcomeBit(gen));
    else and(a, outcomeWord(gen), ~outcomeBit(gen));
    store(a, BROKEN, 0);
    store(a, GEN, (gen + 1) | 0);
    this.open((gen + 1) | 0);
  }

  /**
   * Python's repr: `<weft.threading.Barrier: waiters=1/3>`, or `<weft.threading.Barrier: broken>`
   * — a snapshot.
   */
  toString(): string {
    return this.broken
      ? '<weft.threading.Barrier: broken>'
      : `<weft.threading.Barrier: waiters=${this.nWaiting}/${this.parties}>`;
  }

  /** util.inspect shows the repr, not the shared words and the action. */
  [inspectCustom](): string {
    return this.toString();
  }

  /** @internal */
  [kShared](): SharedState {
    return {
      kind: 'threading.Barrier',
      state: { sab: this._a.buffer, action: this._actionRef, timeout: this._timeout },
    };
  }

  /** @internal */
  static _revive(s: Record<string, unknown>): Barrier {
    const b = Object.create(Barrier.prototype) as Barrier;
    (b as { _a: Int32Array })._a = new Int32Array(s.sab as SharedArrayBuffer);
    b._timeout = (s.timeout as number | null) ?? null;
    b._action = null;
    b._actionRef = (s.action as TaskRef | null) ?? null;
    b._loading = null;
    b._loadError = null;
    track(b);
    const known = b._actionRef ? resolveTaskRefSync(b._actionRef) : null;
    if (known !== null) b._action = known as () => void;
    else if (b._actionRef) {
      // Rebuilt in the background (a module import cannot be waited for synchronously): an async
      // wait waits for it; a last party of a waitSync that comes first hands the action over.
      b._loading = resolveTaskRef(b._actionRef).then(
        (fn) => {
          b._action = fn as () => void;
          b._loading = null;
        },
        (err: unknown) => {
          b._loadError = err;
          b._loading = null;
        },
      );
    }
    return b;
  }
}

registerSharedKind('threading.Barrier', (s) => Barrier._revive(s), import.meta.url);
