import { currentTaskSignal } from '../internal/context.js';
import { checkBarrierOptions, describeValue } from '../internal/errors.js';
import { broker } from '../internal/process/broker-client.js';
import { brokerSync } from '../internal/process/broker-sync.js';
import { kShared, type SharedState } from '../internal/serialize.js';
import {
  resolveTaskRef,
  resolveTaskRefSync,
  type TaskRef,
  TaskReferenceError,
  toTaskRef,
} from '../internal/task-ref.js';
import type { WaitOptions } from '../internal/wait-options.js';
import { BrokenBarrierError } from './errors.js';
import {
  checkSignal,
  checkTimeout,
  registerKind,
  type SharedInit,
  SharedObject,
} from './shared-object.js';

/**
 * The actions of the barriers made in this thread, by id: a handle on one of them revived here
 * again (from a queue item) runs the very function — a closure included — not a copy rebuilt from
 * its source.
 */
const localActions = new Map<string, WeakRef<() => unknown>>();
const forgetAction = new FinalizationRegistry<string>((id) => {
  if (localActions.get(id)?.deref() === undefined) localActions.delete(id);
});

export interface BarrierOptions {
  /**
   * Run by the last party to arrive (index parties − 1, in its process) before any party of its
   * generation goes on; if it throws, the barrier breaks.
   */
  action?: (() => unknown) | null;
  /** Default timeout of `wait`, in ms: used by a `wait` whose timeout is absent or null. */
  timeout?: number | null;
}

/**
 * Python's `multiprocessing.Barrier` across processes: `parties` callers of `wait` are released
 * together, each with a distinct index in 0…parties−1 (the order they arrived in, as in Python).
 * A timeout breaks the barrier (BrokenBarrierError for every waiter), as in Python.
 *
 * The `action` runs as in Python: in the process (and thread) of the last party to arrive, before
 * any party of that generation is released. If it throws, the barrier breaks: that party gets
 * the error, the others BrokenBarrierError. An `abort()` or `reset()` made elsewhere while it
 * runs waits for it, as Python's waits for the barrier's lock; one the action makes breaks its
 * own generation (every party of it, the last one included, gets BrokenBarrierError). The
 * action's process dying before the action is done breaks the barrier too.
 *
 * **Cancellation:** an aborted `signal` rejects a waiting party with its reason and breaks the
 * barrier, as a timeout does (and as weft's threading Barrier does): the other parties would
 * wait for it for ever, so they get BrokenBarrierError, and so does every `wait` until `reset()`.
 * A generation that passed in the same instant stays passed (the barrier is not broken), and if
 * the withdrawn party was its last, its `action` still runs before the rejection; a party
 * withdrawn while its generation's action runs breaks nothing either. A wait
 * aborted before its request left this process (in the turn it was made) never arrived, and
 * breaks nothing.
 */
export class Barrier extends SharedObject {
  readonly parties: number;
  #action: (() => unknown) | null;
  /** How the action is found in another process or thread (computed when first sent there). */
  #actionRef: TaskRef | null = null;
  readonly #timeout: number | null;

  constructor(parties: number, options: BarrierOptions = {}, init?: SharedInit) {
    if (init === undefined && (!Number.isInteger(parties) || parties < 1)) {
      throw new RangeError(
        `Barrier parties must be an integer >= 1: received ${describeValue(parties)}`,
      );
    }
    if (init === undefined) checkBarrierOptions(options, true);
    super('barrier', { parties }, init);
    this.parties = this._params.parties as number;
    if (init === undefined) {
      this.#action = options.action ?? null;
      this.#timeout = checkTimeout('Barrier', options.timeout);
      if (this.#action !== null) {
        localActions.set(this._id, new WeakRef(this.#action));
        forgetAction.register(this.#action, this._id);
      }
      return;
    }
    // A handle another process or thread sent: the default timeout and the action travel with
    // it, as Python's Barrier pickles both — the action runs in whichever process arrives last.
    this.#timeout = (init.params.timeout as number | null | undefined) ?? null;
    const ref = (init.params.action as TaskRef | null | undefined) ?? null;
    this.#actionRef = ref;
    // Found when this party first arrives last (its module loaded then if need be): a process
    // that never runs it never loads it.
    this.#action = localActions.get(this._id)?.deref() ?? null;
  }

  override [kShared](): SharedState {
    if (this.#action !== null) this.#actionRef ??= toTaskRef(this.#action, 'Barrier action');
    return {
      kind: this._kind(),
      state: {
        id: this._id,
        params: { parties: this.parties, timeout: this.#timeout, action: this.#actionRef },
      },
    };
  }

  /** Whether a party must run an action when it arrives last (the broker then waits for it). */
  get #hasAction(): boolean {
    return this.#action !== null || this.#actionRef !== null;
  }

  /** Runs the action (this party arrived last), loading its module first if it was sent here. */
  async #runAction(): Promise<void> {
    if (this.#action === null && this.#actionRef !== null)
      this.#action = (await resolveTaskRef(this.#actionRef)) as () => unknown;
    if (this.#action !== null) await this.#action();
  }

  /**
   * The last party of generation `gen`: runs the action, then releases the generation — or
   * breaks the barrier and throws what the action threw.
   * @throws BrokenBarrierError when the barrier broke while the action ran.
   */
  async #act(gen: number): Promise<void> {
    try {
      await this.#runAction();
    } catch (e) {
      await broker().request('barrierPass', this._id, [gen, false]);
      throw e;
    }
    try {
      await broker().request('barrierPass', this._id, [gen, true]);
    } catch (e) {
      throw asBroken(e);
    }
  }

  #actSync(gen: number): void {
    try {
      this.#runActionSync();
    } catch (e) {
      brokerSync().request('barrierPass', this._id, [gen, false]);
      throw e;
    }
    try {
      brokerSync().request('barrierPass', this._id, [gen, true]);
    } catch (e) {
      throw asBroken(e);
    }
  }

  #runActionSync(): void {
    if (this.#action === null && this.#actionRef !== null) {
      const fn = resolveTaskRefSync(this.#actionRef);
      if (fn === null)
        throw new TaskReferenceError(
          `Barrier action ${this.#actionRef.name || '(anonymous)'} cannot be found in this thread without loading its module, which waitSync cannot wait for: import that module first, or use wait()`,
        );
      this.#action = fn as () => unknown;
    }
    if (this.#action !== null) this.#action();
  }
  protected _kind(): string {
    return 'mp:Barrier';
  }
  /**
   * Waits for all parties; resolves to this party's index. Without a `signal`, inside a
   * `weft/asyncio` task it takes the task's.
   * @throws BrokenBarrierError when the barrier is or becomes broken (abort, reset, timeout,
   * another party's aborted signal, or the action threw in another party); what the action threw,
   * in the party that ran it.
   */
  async wait(options: WaitOptions = {}): Promise<number> {
    const timeout = this.#timeoutOf('Barrier.wait', options.timeout);
    const signal = checkSignal('Barrier.wait', options.signal) ?? currentTaskSignal();
    let answer: Arrival;
    let late: Arrival | null = null;
    try {
      answer = (await broker().requestSettled(
        'barrierWait',
        this._id,
        [timeout, this.#hasAction],
        signal,
        (v) => {
          late = v as Arrival;
        },
      )) as Arrival;
    } catch (e) {
      // Withdrawn as its generation tripped with this party last: the action is still this
      // party's to run, or nobody of its generation would go on.
      const granted = late as Arrival | null;
      if (Array.isArray(granted)) await this.#act(granted[1]);
      if (e === signal?.reason) throw e;
      throw asBroken(e);
    }
    if (!Array.isArray(answer)) return answer;
    await this.#act(answer[1]);
    return answer[0];
  }
  /**
   * Blocking twin of `wait`: parks this thread until all parties arrived; returns this party's
   * index. The action (in the last party to arrive) runs synchronously; a Promise it returns is
   * not awaited.
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server.
   * @throws BrokenBarrierError when the barrier breaks, is aborted or times out.
   */
  waitSync(options: { timeout?: number | null } = {}): number {
    const timeout = this.#timeoutOf('Barrier.waitSync', options.timeout);
    let answer: Arrival;
    try {
      answer = brokerSync().request('barrierWait', this._id, [timeout, this.#hasAction]) as Arrival;
    } catch (e) {
      throw asBroken(e);
    }
    if (!Array.isArray(answer)) return answer;
    this.#actSync(answer[1]);
    return answer[0];
  }

  /**
   * A wait's timeout: absent or null (Python's `None`) is the barrier's default, as in Python's
   * `wait(timeout=None)`; `Infinity` waits for ever whatever the default.
   */
  #timeoutOf(what: string, timeout: unknown): number | null {
    return timeout === undefined || timeout === null ? this.#timeout : checkTimeout(what, timeout);
  }
  /** Breaks the barrier: current and future waiters get BrokenBarrierError until `reset`. */
  abort(): void {
    broker().post('barrierAbort', this._id, []);
  }
  async reset(): Promise<void> {
    await broker().request('barrierReset', this._id, []);
  }
  /**
   * How many parties are waiting now (a snapshot; Python's `n_waiting`): 0 while the barrier is
   * broken, as in Python — its waiters were all answered with BrokenBarrierError.
   */
  nWaiting(): number {
    return (brokerSync().request('barrierState', this._id, []) as [number, boolean])[0];
  }
  /** Whether the barrier is broken (a snapshot). */
  broken(): boolean {
    return (brokerSync().request('barrierState', this._id, []) as [number, boolean])[1];
  }
  /** @internal */
  static _revive(init: SharedInit): Barrier {
    return new Barrier(0, {}, init);
  }
}

/** The broker's answer to an arrival: the index, or [index, generation] for a last party that
 * must run the action before its generation is released. */
type Arrival = number | [index: number, gen: number];

/** The broker's BrokenBarrierError as this module's class (other errors as they are). */
function asBroken(e: unknown): unknown {
  return (e as Error)?.name === 'BrokenBarrierError'
    ? new BrokenBarrierError((e as Error).message)
    : e;
}

registerKind('mp:Barrier', (s) => Barrier._revive(s), import.meta.url);
