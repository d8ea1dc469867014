/**
 * Python's `threading.Timer`: a Thread that waits `interval` milliseconds, then calls `function`
 * unless `cancel()` came first. The wait runs in the timer's own thread, on an `Event` both sides
 * share (`finished`), so `cancel()` works from any thread it reaches.
 */
import { describeValue } from '../internal/errors.js';
import { resolveTaskRef, type TaskRef, task, toTaskRef } from '../internal/task-ref.js';
import { Event } from './event.js';
import { Thread } from './thread.js';

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
export class Timer extends Thread {
  readonly interval: number;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown> | null;
  /** Set by `cancel()` and once the function has run. */
  readonly finished: Event;
  /** How the worker finds the function (a field, so it crosses with the subclass's fields). */
  readonly _ref: TaskRef;

  constructor(
    interval: number,
    fn: (...args: any[]) => unknown,
    args: readonly unknown[] = [],
    kwargs: Record<string, unknown> | null = null,
  ) {
    if (typeof interval !== 'number' || Number.isNaN(interval)) {
      throw new TypeError(
        `Timer interval must be a number of milliseconds: received ${describeValue(interval)}`,
      );
    }
    if (typeof fn !== 'function') {
      throw new TypeError(`Timer function must be a function: received ${describeValue(fn)}`);
    }
    super();
    this.interval = interval;
    this.args = [...args];
    this.kwargs = kwargs;
    this.finished = new Event();
    this._ref = toTaskRef(fn, `Timer function ${fn.name || '(anonymous)'}`);
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
      await (this.kwargs ? fn(...this.args, this.kwargs) : fn(...this.args));
    }
    this.finished.set();
  }
}

task(import.meta, Timer);
