/**
 * A weft Socket's timeout during `sendfile`, as Python's `socket.sendfile` keeps it: before
 * every send it waits at most `timeout` for room in the socket and raises
 * `TimeoutError('timed out')` if none came. So the timeout bounds each stall, not the transfer:
 * a slow reader that keeps taking bytes never times out.
 *
 * The transfer says what it is waiting on by setting `probe`, a function answering how many
 * milliseconds the socket has had no room (the addon's `sendfileIdle` on the kernel path; Node's
 * send queue, sampled, on the copy loop); with no probe (reading the file) nothing stalls. The
 * timer checks when the probe could first reach `ms` and re-arms for the rest; at `ms` it aborts
 * `signal` with the TimeoutError, which the transfer's waits observe as a cancel.
 */
import { TimeoutError } from '../internal/errors.js';

export class StallTimer {
  readonly #ctl = new AbortController();
  readonly #ms: number;
  #timer: NodeJS.Timeout | null = null;
  #probe: (() => number) | null = null;

  /** The caller's signal, followed by `signal` until `stop()`. */
  readonly #outer: AbortSignal | undefined;
  readonly #onOuterAbort = (): void => {
    this.#ctl.abort((this.#outer as AbortSignal).reason);
  };

  /**
   * @param outer the caller's signal: its abort aborts `signal` too. Followed by a listener that
   * `stop()` removes, not by `AbortSignal.any`, whose signals stay in a long-lived caller
   * signal's list of dependants on Node 20 (one per transfer, never shrinking).
   */
  constructor(ms: number, outer?: AbortSignal) {
    this.#ms = ms;
    this.#outer = outer;
    if (outer === undefined) return;
    if (outer.aborted) this.#ctl.abort(outer.reason);
    else outer.addEventListener('abort', this.#onOuterAbort, { once: true });
  }

  /**
   * Aborted with `TimeoutError('timed out')` once the current wait stalled for `ms`, or with the
   * caller's reason when the caller's signal aborts.
   */
  get signal(): AbortSignal {
    return this.#ctl.signal;
  }

  /** Starts watching a wait (`probe` answers the milliseconds without room), or stops (null). */
  set probe(probe: (() => number) | null) {
    this.#probe = probe;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (probe !== null && !this.#ctl.signal.aborted) this.#arm(this.#ms);
  }

  /** Ends the watch (call once the transfer is over). */
  stop(): void {
    this.probe = null;
    this.#outer?.removeEventListener('abort', this.#onOuterAbort);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#check(), Math.max(1, ms));
  }

  #check(): void {
    this.#timer = null;
    const probe = this.#probe;
    if (probe === null) return;
    const idle = probe();
    if (idle >= this.#ms) this.#ctl.abort(new TimeoutError('timed out'));
    else this.#arm(this.#ms - idle);
  }
}

/**
 * A probe for Node's send queue on `ns`: the queue's size and libuv's count of bytes not yet
 * handed to the kernel, sampled at each check; a change is room that came since the last check.
 */
export function sendQueueProbe(ns: {
  writableLength: number;
  _handle?: { writeQueueSize?: number } | null;
}): () => number {
  const sample = (): string => `${ns.writableLength}/${ns._handle?.writeQueueSize ?? -1}`;
  let seen = sample();
  let since = performance.now();
  return () => {
    const now = performance.now();
    const s = sample();
    if (s !== seen) {
      seen = s;
      since = now;
    }
    return now - since;
  };
}
