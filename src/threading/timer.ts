/**
 * Python's `threading.Timer`: a Thread that waits `interval` milliseconds, then calls `function`
 * unless `cancel()` came first. The wait runs in the timer's own thread, on an `Event` both sides
 * share (`finished`), so `cancel()` works from any thread it reaches.
 */
import type { Accepting, AnyFn, ArgList, CallArgs, Kwargs } from '../internal/call-args.js';
import { describeValue } from '../internal/errors.js';
import { kModuleRefs, withKwargs } from '../internal/run-target.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import { resolveTaskRef, type TaskRef, task, toTaskRef } from '../internal/task-ref.js';
import { Event } from './event.js';
import { handleFor, Thread } from './thread.js';

/**
 * Calls `function(...args, kwargs?)` in a new thread after `interval` ms, unless cancelled.
 * `function` must reach a worker: a marked function (`task(import.meta, fn)`) or a
 * self-contained one, as a Thread target.
 *
 * @example
 * const t = new Timer(30_000, remind, ['stand up']);
 * t.start();
 * t.cancel();   // before it fires: nothing is called
 */
export class Timer<
  F extends AnyFn = AnyFn,
  const A extends ArgList = [],
  K extends Kwargs = undefined,
> extends Thread {
  readonly interval: number;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown> | null;
  /** Set by `cancel()` and once the function has run. */
  readonly finished: Event;
  /** How the worker finds the function (a field, so it crosses with the subclass's fields). */
  readonly _ref: TaskRef;

  /**
   * `fn` must accept `args` and then `kwargs` (a compile error otherwise, where Python raises
   * TypeError when the timer fires); `F`, `A` and `K` serve only that check.
   */
  constructor(
    interval: number,
    fn: Accepting<F, CallArgs<A, K>>,
    args: A | null = null,
    kwargs: K | null = null,
  ) {
    if (typeof interval !== 'number' || Number.isNaN(interval)) {
      throw new TypeError(
        `Timer interval must be a number of milliseconds: received ${describeValue(interval)}`,
      );
    }
    if (typeof fn !== 'function') {
      throw new TypeError(`Timer function must be a function: received ${describeValue(fn)}`);
    }
    // null is Python's None (`Timer(1.5, f, None, None)`); anything else is checked here, as a
    // Thread's args and kwargs are, rather than failing inside the timer's thread.
    if (args !== null && args !== undefined && !Array.isArray(args)) {
      throw new TypeError(`Timer args must be an array or null: received ${describeValue(args)}`);
    }
    if (
      kwargs !== null &&
      kwargs !== undefined &&
      (typeof kwargs !== 'object' || Array.isArray(kwargs))
    ) {
      throw new TypeError(
        `Timer kwargs must be an object or null: received ${describeValue(kwargs)}`,
      );
    }
    super();
    this.interval = interval;
    this.args = args ? [...args] : [];
    this.kwargs = (kwargs ?? null) as Record<string, unknown> | null;
    this.finished = new Event();
    this._ref = toTaskRef(fn, `Timer function ${fn.name || '(anonymous)'}`);
  }

  /** @internal Its function's reference, whose module the timer's thread loads (run-target.ts). */
  [kModuleRefs](): readonly TaskRef[] {
    return [this._ref];
  }

  /** Stops the timer if it is still waiting; no effect once the function has started. */
  cancel(): void {
    this.finished.set();
  }

  override async run(): Promise<void> {
    // Python: `finished.wait(interval); if not finished.is_set(): function(...)`.
    await this.finished.wait({ timeout: Math.max(0, this.interval) });
    if (!this.finished.isSet()) {
      const fn = (await resolveTaskRef(this._ref)) as (...a: unknown[]) => unknown;
      await fn(...withKwargs(this.args, this.kwargs));
    }
    this.finished.set();
  }

  /**
   * @internal A started Timer arrives in another thread as a Timer handle that can `cancel()`
   * (its `finished` arrives connected), not as a plain Thread handle.
   */
  override [kShared](): SharedState {
    const { state } = super[kShared]();
    return {
      kind: 'threading.Timer',
      state: {
        ...state,
        fields: {
          interval: this.interval,
          args: this.args,
          kwargs: this.kwargs,
          finished: this.finished,
          _ref: this._ref,
        },
      },
    };
  }
}

task(import.meta, Timer);

registerSharedKind(
  'threading.Timer',
  (s) =>
    handleFor(
      s.tid as number,
      { name: s.name as string, daemon: s.daemon as boolean },
      { cls: Timer, fields: s.fields as Record<string, unknown> },
    ),
  import.meta.url,
);
