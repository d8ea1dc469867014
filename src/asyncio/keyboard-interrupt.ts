/**
 * Ctrl-C (SIGINT) while `run()` or `Runner.run()` waits for its main task, handled as CPython
 * 3.11's `asyncio.Runner` handles it, and `KeyboardInterrupt`, the error that ends the call then.
 *
 * Implementation notes. CPython's Runner sets its own SIGINT handler for the length of one
 * `run()` when it runs in the main thread and SIGINT has Python's default handler; weft adds a
 * `process` listener under the same conditions, mapped to Node: the main thread
 * (`isMainThread`: a worker thread gets no signals) and no SIGINT listener when the call starts
 * (a program that listens keeps SIGINT to itself, as a handler set in Python is left alone).
 *
 *   SIGINT #1, main task pending  → cancel it; the call waits for it to end. Ended cancelled by
 *                                   that request (`uncancel()` leaves 0) → KeyboardInterrupt;
 *                                   swallowed (the task returned) → its value, as always.
 *   any other SIGINT              → the listener goes, and the call rejects with a
 *                                   KeyboardInterrupt at once (`run()` cancels the tasks left,
 *                                   the main task among them, and waits for them first)
 *   SIGINT once the listener went → Node's default action: the process dies by SIGINT
 *
 * CPython raises that second KeyboardInterrupt from its handler, in whatever Python code runs;
 * in Node no listener runs while JavaScript does, so the loop is always idle when it comes, and
 * the interrupt ends the wait for the main task — where CPython's, raised out of the idle
 * selector, ends `run_until_complete`. `asyncio.run`'s close then cancels the tasks again and
 * waits for them, as `run()` here. Node's signal handles never keep its loop alive, so the
 * listener hides no deadlock: it is still reported.
 *
 * A KeyboardInterrupt that nothing catches ends the process by SIGINT, as Python's interpreter
 * re-raises the signal on itself at exit (a shell sees 130, and stops a script it runs): see
 * `armUncaught`.
 */
import { writeSync } from 'node:fs';
import { inspect } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import { registerErrorClass } from '../internal/error-registry.js';
import { brandAs, CancelledError, isKindOf, kindName } from '../internal/errors.js';
import type { Task } from './task.js';

/**
 * Python's `KeyboardInterrupt`: Ctrl-C (SIGINT) stopped `run()` or `Runner.run()`. Its `cause` is
 * the main task's `CancelledError` when the first SIGINT cancelled it (Python chains the two).
 *
 * Python's derives from `BaseException`, not `Exception`, so that handlers of program errors let
 * it through. JavaScript has one `catch` for everything, so weft maps the distinction onto the
 * filters programs write: it is an `Error`, but **not a `WeftError`** (a filter for weft's
 * failures, `e instanceof WeftError`, lets it through) and **not a `CancelledError`** (code that
 * swallows cancellation does not swallow it). Uncaught, it ends the process by SIGINT (exit
 * status 130 in a shell), after the `exit` listeners and with the error printed, as Python.
 */
export class KeyboardInterrupt extends Error {
  static readonly kind: string = 'KeyboardInterrupt';
  readonly code: string = 'ERR_WEFT_KEYBOARD_INTERRUPT';

  constructor(message = 'interrupted by SIGINT (Ctrl-C)', options?: ErrorOptions) {
    super(message, options);
    this.name = kindName(new.target);
    brandAs(this, new.target);
    armUncaught();
  }

  static override [Symbol.hasInstance](x: unknown): boolean {
    return isKindOf(this, this.kind, x);
  }
}

// Rebuilt as itself when it comes back from a thread or a process (a pool's task that ran
// `run()` there): by its constructor, so that uncaught here it ends this process by SIGINT too.
registerErrorClass(KeyboardInterrupt);

let uncaughtArmed = false;

/**
 * From the first KeyboardInterrupt on (not at import: a program that never makes one gets no
 * listener of weft's), an uncaught one ends the process by SIGINT. Node would exit with 1;
 * Python exits by the signal, which a shell reports as 130 and a shell script takes as "stop",
 * where 1 reads as a failure to go on from. Only in the main thread: an uncaught error of a
 * worker thread ends that thread, not the process.
 */
function armUncaught(): void {
  if (uncaughtArmed || !isMainThread) return;
  uncaughtArmed = true;
  process.on('uncaughtExceptionMonitor', (error) => {
    if (!(error instanceof KeyboardInterrupt)) return;
    // A listener of the program's, or a capture callback (a domain, the REPL), handles it: the
    // process goes on, and its exit later, whenever it comes, must stay a normal one.
    if (process.listenerCount('uncaughtException') > 0) return;
    if (process.hasUncaughtExceptionCaptureCallback()) return;
    // Node emits 'exit' next, then prints the error: the program's exit listeners run first, as
    // Python runs its atexit handlers before it kills itself.
    process.once('exit', () => dieBySigint(error));
  });
}

function dieBySigint(error: KeyboardInterrupt): void {
  // A listener of the program's would catch the signal, and the process would exit with 1 after
  // all. No JavaScript runs after the exit listeners, so none could act on it now: Python puts
  // the default action back before it kills itself too. The last listener gone, Node restores it.
  process.removeAllListeners('SIGINT');
  // Node prints an uncaught error after the exit listeners, which this one ends: as it would.
  try {
    writeSync(2, `${inspect(error)}\n`);
  } catch {
    // stderr is gone or full: the exit status still tells.
  }
  process.kill(process.pid, 'SIGINT');
}

/** @internal What `run()` and `Runner.run()` do with Ctrl-C while their main task runs. */
export interface InterruptWatch {
  /**
   * Rejects with a KeyboardInterrupt when an interrupt ends the call at once (a second SIGINT);
   * null when no listener was installed.
   */
  readonly raised: Promise<never> | null;
  /** What the call raises for its main task's error `e`: a KeyboardInterrupt or `e`. */
  translate(e: unknown): unknown;
  /** Removes the listener (once; later calls do nothing). */
  stop(): void;
}

const INERT: InterruptWatch = {
  raised: null,
  translate: (e) => e,
  stop: () => {},
};

/**
 * @internal Listens for SIGINT while `main` is the main task of a call in progress, if this is
 * the main thread and nobody listens for SIGINT yet (CPython's Runner: the main thread, and
 * SIGINT's handler the default one); otherwise does nothing. The caller calls `stop()` when its
 * wait for `main` is over, whichever way.
 */
export function watchInterrupts(main: Task<unknown>): InterruptWatch {
  if (!isMainThread || process.listenerCount('SIGINT') > 0) return INERT;
  let count = 0;
  /** An interrupt has ended the call (the error it raised is the one `raised` rejects with). */
  let ended = false;
  let stopped = false;
  let reject!: (e: unknown) => void;
  const raised = new Promise<never>((_, r) => {
    reject = r;
  });
  // Rejected only when the call still waits on it (its race holds a handler); it may never be.
  raised.catch(() => {});
  const raise = (e: unknown): void => {
    stop();
    ended = true;
    reject(e);
  };
  /**
   * Whether a listener of the program's left since this turn of the loop began: one that
   * `prependOnceListener` put before this one has removed itself by the time this one runs for
   * the same signal, and still had the signal. Node emits a signal in a turn of its own, and no
   * microtask runs between the listeners of one emit, so the flag says "during this emit".
   */
  let otherLeft = false;
  const onRemoved = (event: string | symbol, listener: unknown): void => {
    if (event !== 'SIGINT' || listener === onSigint || otherLeft) return;
    otherLeft = true;
    queueMicrotask(() => {
      otherLeft = false;
    });
  };
  const onSigint = (): void => {
    // A listener added since (the program's own, or runApp's) takes SIGINT over, as a handler
    // set in Python replaces the Runner's: one still there, or one that ran before this one
    // for this signal and went (a once listener put first).
    if (process.listenerCount('SIGINT') > 1 || otherLeft) return;
    count++;
    if (count === 1 && !main.done()) {
      try {
        main.cancel();
      } catch (e) {
        // A cancel() that throws (a future of the user's the task awaits): CPython's handler
        // lets it out of the loop, and so out of the call.
        raise(e);
      }
      return;
    }
    raise(new KeyboardInterrupt());
  };
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    process.off('SIGINT', onSigint);
    process.off('removeListener', onRemoved);
  };
  process.on('removeListener', onRemoved);
  process.on('SIGINT', onSigint);
  return {
    raised,
    translate(e) {
      // CPython's test: the main task ended cancelled, an interrupt came, and taking back one
      // request leaves none: the interrupt's was the only one. Cancelled by its own code too,
      // or by another task, it raises CancelledError as before.
      if (count > 0 && !ended && e instanceof CancelledError && main.uncancel() === 0)
        return new KeyboardInterrupt(undefined, { cause: e });
      return e;
    },
    stop,
  };
}
