import { currentTaskSignal } from '../internal/context.js';
import { describeValue } from '../internal/errors.js';
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
  /** Run by the party that gets index 0 when the barrier trips (in that party's process). */
  action?: (() => unknown) | null;
  /** Default timeout of `wait`, in ms. */
  timeout?: number | null;
}

/**
 * Python's `multiprocessing.Barrier` across processes: `parties` callers of `wait` are released
 * together, each with a distinct index in 0…parties−1. A timeout breaks the barrier
 * (BrokenBarrierError for every waiter), as in Python. Unlike Python, `action` runs in the
 * process of the party with index 0, as that party is released.
 *
 * **Cancellation:** an aborted `signal` rejects a waiting party with its reason and breaks the
 * barrier, as a timeout does (and as weft's threading Barrier does): the other parties would
 * wait for it for ever, so they get BrokenBarrierError, and so does every `wait` until `reset()`.
 * A generation that passed in the same instant stays passed (the barrier is not broken), and if
 * the withdrawn party was its index 0, its `action` still runs before the rejection. A wait
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
    // it, as Python's Barrier pickles both — the action runs in whichever process gets index 0.
    this.#timeout = (init.params.timeout as number | null | undefined) ?? null;
    const ref = (init.params.action as TaskRef | null | undefined) ?? null;
    this.#actionRef = ref;
    // Found when this party first gets index 0 (its module loaded then if need be): a process
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

  /** Runs the action (this party got index 0), loading its module first if it was sent here. */
  async #runAction(): Promise<void> {
    if (this.#action === null && this.#actionRef !== null)
      this.#action = (await resolveTaskRef(this.#actionRef)) as () => unknown;
    if (this.#action !== null) await this.#action();
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
   * @throws BrokenBarrierError when the barrier is or becomes broken (abort, reset, timeout, or
   * another party's aborted signal).
   */
  async wait(options: WaitOptions = {}): Promise<number> {
    const timeout =
      options.timeout === undefined ? this.#timeout : checkTimeout('Barrier.wait', options.timeout);
    const signal = checkSignal('Barrier.wait', options.signal) ?? currentTaskSignal();
    let index: number;
    let late: number | null = null;
    try {
      index = (await broker().requestSettled('barrierWait', this._id, [timeout], signal, (v) => {
        late = v as number;
      })) as number;
    } catch (e) {
      // Withdrawn as its generation passed: that generation's action is this party's to run.
      if (late === 0) await this.#runAction();
      if (e !== signal?.reason && (e as Error)?.name === 'BrokenBarrierError')
        throw new BrokenBarrierError((e as Error).message);
      throw e;
    }
    if (index === 0) await this.#runAction();
    return index;
  }
  /**
   * Blocking twin of `wait`: parks this thread until all parties arrived; returns this party's
   * index. The action (party 0) runs synchronously; a Promise it returns is not awaited.
   *
   * **Blocking:** it stops the whole thread, event loop included — worker or child CPU code,
   * never the main thread of a server.
   * @throws BrokenBarrierError when the barrier breaks, is aborted or times out.
   */
  waitSync(options: { timeout?: number | null } = {}): number {
    const timeout =
      options.timeout === undefined
        ? this.#timeout
        : checkTimeout('Barrier.waitSync', options.timeout);
    let index: number;
    try {
      index = brokerSync().request('barrierWait', this._id, [timeout]) as number;
    } catch (e) {
      if ((e as Error)?.name === 'BrokenBarrierError')
        throw new BrokenBarrierError((e as Error).message);
      throw e;
    }
    if (index === 0) this.#runActionSync();
    return index;
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
    const [n, broken] = brokerSync().request('barrierState', this._id, []) as [number, boolean];
    // The broker keeps the count of a generation that broke until `reset`; nobody waits in it.
    return broken ? 0 : n;
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

registerKind('mp:Barrier', (s) => Barrier._revive(s), import.meta.url);
