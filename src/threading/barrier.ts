/**
 * | idx | name       | writer           | readers | meaning                                        |
 * |  0  | GEN        | last arrival, break | waiters | generation; bumped when it passes or breaks (futex word) |
 * |  1  | COUNT      | arrivals (cas)   | any     | generation's low 12 bits << 20 | parties arrived |
 * |  2  | BROKEN     | abort/reset      | any     | 1 while the barrier is broken                  |
 * |  3  | BROKE_GEN  | abort/reset      | waiters | generation + 1 that broke (0: none yet)        |
 * |  4  | PARTIES    | creator          | any     | number of parties                              |
 * |  5  | WAITERS    | waiters (add)    | wakers  | parked or about to park on GEN                 |
 *
 * Invariants: COUNT's arrivals < PARTIES between generations; = PARTIES while the last arrival
 * runs the action and until it opens the next generation (GEN first, then COUNT, with the new
 * generation's bits). A party arriving then waits on COUNT for the next generation, as in Python
 * (`_enter`): counted into the passing one, it would take itself for a second last arrival and go
 * through alone. Arrivals count themselves with a CAS on COUNT, whose generation bits make a CAS
 * fail if a generation passed since the read, so a party always knows its generation. A waiter
 * reads BROKE_GEN before GEN's change to tell "passed" from "broken".
 */
import { add, cas, load, notify, store } from '../internal/atomics.js';
import { BrokenBarrierError, describeValue } from '../internal/errors.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import { AGAIN, type Attempt, type Parkable, waitAsync, waitSync } from '../internal/shm/wait.js';
import { resolveTaskRef, type TaskRef, toTaskRef } from '../internal/task-ref.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';

const GEN = 0;
const COUNT = 1;
const BROKEN = 2;
const BROKE_GEN = 3;
const PARTIES = 4;
const WAITERS = 5;
/** COUNT: arrivals in the low N_BITS, the generation's low bits above. */
const N_BITS = 20;
const N_MASK = (1 << N_BITS) - 1;
const GEN_MASK = (1 << (32 - N_BITS)) - 1;
/** COUNT's value opening generation `gen`. */
const opening = (gen: number): number => ((gen & GEN_MASK) << N_BITS) | 0;

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
 * (`task(import.meta, fn)`) or a self-contained one is rebuilt there.
 */
export class Barrier {
  /** @internal */ readonly _a: Int32Array;
  private _action: (() => void) | null = null;
  private _actionRef: TaskRef | null = null;
  private _timeout: number | null = null;

  constructor(parties: number, options: BarrierOptions = {}) {
    if (typeof parties !== 'number' || !Number.isInteger(parties)) {
      throw new TypeError(`Barrier parties must be an integer: received ${describeValue(parties)}`);
    }
    if (parties < 1) throw new RangeError(`Barrier parties must be >= 1: received ${parties}`);
    if (parties > N_MASK) {
      throw new RangeError(`Barrier parties must be <= ${N_MASK}: received ${parties}`);
    }
    const { action, timeout } = options;
    if (action !== undefined && typeof action !== 'function') {
      throw new TypeError(`Barrier action must be a function: received ${describeValue(action)}`);
    }
    this._timeout = parseWait('Barrier', { timeout }).timeout;
    this._a = new Int32Array(new SharedArrayBuffer(24));
    store(this._a, PARTIES, parties);
    if (action) {
      this._action = action;
      this._actionRef = toTaskRef(action, 'Barrier action');
    }
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

  /** Counts this party in: its index and generation, its index if it was last, null if the
   * barrier is passing (wait for `draining()`, then arrive again). */
  private arrive(): { index: number; gen: number } | number | null {
    const a = this._a;
    const parties = load(a, PARTIES);
    let c: number;
    for (;;) {
      if (load(a, BROKEN) === 1) throw new BrokenBarrierError();
      c = load(a, COUNT);
      if ((c & N_MASK) >= parties) return null;
      if (cas(a, COUNT, c, c + 1) === c) break;
    }
    const index = c & N_MASK;
    // GEN's low bits were COUNT's when the CAS succeeded; GEN may have moved on since.
    const now = load(a, GEN);
    const gen = (now - ((now - (c >>> N_BITS)) & GEN_MASK)) | 0;
    if (index < parties - 1) return { index, gen };
    if (this._action) {
      try {
        this._action();
      } catch (err) {
        this.abort();
        throw err;
      }
    } else if (this._actionRef) {
      this.abort();
      throw new BrokenBarrierError('The barrier action is not loaded in this thread yet');
    }
    // A mark "the next generation broke" can only be 2^32 generations old (BROKE_GEN starts at
    // 0, "generation -1 broke"): move it half the range away, where no waiter of a recent
    // generation looks (it is moved on again before it comes round), or the next generation's
    // waiters would see it.
    cas(a, BROKE_GEN, (gen + 2) | 0, (gen + 2 + 0x80000000) | 0);
    // GEN first (this generation's waiters go), then COUNT opens the next one.
    const next = (add(a, GEN, 1) + 1) | 0;
    store(a, COUNT, opening(next));
    // After GEN: a waiter counts itself before re-reading GEN.
    if (load(a, WAITERS) > 0) notify(a, GEN);
    notify(a, COUNT);
    return index;
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

  private parkable(gen: number, index: number): Parkable<number> {
    const a = this._a;
    const attempt = (): Attempt<number> => {
      if (load(a, BROKE_GEN) === ((gen + 1) | 0)) throw new BrokenBarrierError();
      return load(a, GEN) !== gen ? index : AGAIN;
    };
    return {
      a,
      i: GEN,
      w: WAITERS,
      attempt,
      timedOut: () => {
        this.abort();
        throw new BrokenBarrierError('The barrier timed out');
      },
    };
  }

  /**
   * Waits for all parties; resolves to this party's index.
   * @throws BrokenBarrierError when the barrier is or becomes broken (or this wait times out).
   */
  async wait(options?: WaitOptions): Promise<number> {
    const { timeout, signal } = parseWait('Barrier.wait', options);
    if (signal?.aborted) throw signal.reason;
    let r = this.arrive();
    while (r === null) {
      await waitAsync(this.draining(), null, signal);
      r = this.arrive();
    }
    if (typeof r === 'number') return r;
    try {
      return await waitAsync(this.parkable(r.gen, r.index), timeout ?? this._timeout, signal);
    } catch (err) {
      if (signal?.aborted && err === signal.reason) this.abort();
      throw err;
    }
  }

  /** Blocking twin of `wait`. **Blocking:** parks the thread; not on a server's main thread. */
  waitSync(options?: WaitOptions): number {
    const { timeout, signal } = parseWait('Barrier.waitSync', options);
    // A parked thread cannot see an abort: only one that already happened counts.
    if (signal?.aborted) throw signal.reason;
    let r = this.arrive();
    while (r === null) {
      waitSync(this.draining(), null, null);
      r = this.arrive();
    }
    if (typeof r === 'number') return r;
    return waitSync(this.parkable(r.gen, r.index), timeout ?? this._timeout, null);
  }

  /** Breaks the barrier: current and future waiters get BrokenBarrierError until `reset()`. */
  abort(): void {
    const a = this._a;
    const gen = load(a, GEN);
    store(a, BROKEN, 1);
    store(a, BROKE_GEN, gen + 1);
    cas(a, GEN, gen, gen + 1);
    // After GEN: whoever counts in from now on reads the generation it joins.
    store(a, COUNT, opening(load(a, GEN)));
    notify(a, GEN);
    notify(a, COUNT);
  }

  /** Back to the initial state; parties waiting now get BrokenBarrierError. */
  reset(): void {
    const a = this._a;
    const gen = load(a, GEN);
    if ((load(a, COUNT) & N_MASK) > 0) store(a, BROKE_GEN, gen + 1);
    cas(a, GEN, gen, gen + 1);
    store(a, COUNT, opening(load(a, GEN)));
    store(a, BROKEN, 0);
    notify(a, GEN);
    notify(a, COUNT);
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
    if (b._actionRef) {
      // Rebuilt in the background: by the time the barrier passes, the module is loaded.
      resolveTaskRef(b._actionRef).then(
        (fn) => {
          b._action = fn as () => void;
        },
        () => {},
      );
    }
    return b;
  }
}

registerSharedKind('threading.Barrier', (s) => Barrier._revive(s), import.meta.url);
