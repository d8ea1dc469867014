/**
 * gevent's `LoopExit` for the waits of the main program: a join (or `get`, `joinall`, a pool's
 * `join` or slot) made outside every greenlet and task is failed with `LoopExit` when nothing is
 * left that could end it.
 *
 * Implementation notes
 * --------------------
 * gevent raises `LoopExit` in the main greenlet when it waits in the hub and the hub's loop has
 * no watcher left: nothing could ever switch back to it. Node's counterpart of that moment is
 * `beforeExit`: its loop has nothing left (no timer, socket, child or other ref'd handle), and
 * here weft's ready queue is empty too, so no greenlet or task will run again. A wait made in a
 * task is left alone, as gevent leaves a greenlet waiting (inside `run()`, asyncio's deadlock
 * report covers those); only the waits made outside every task — the main program's — are
 * failed, and the code after them runs. Whether the greenlet was ever started does not matter,
 * as in gevent: one blocked for ever on an Event nobody sets is the same case.
 */
import { onDryLoop } from '../internal/dry-loop.js';
import { describeValue } from '../internal/errors.js';
import { readyCount } from '../internal/scheduler.js';
import type { Waiter } from '../internal/waiter.js';
import { LoopExit } from './errors.js';

/** The pending waits of the main program, with what each waits for (described when failed). */
const mainWaits = new Map<Waiter<any>, () => string>();
/** While waits are watched: stops watching the loop's dry points (../internal/dry-loop.ts). */
let stop: (() => void) | null = null;

/**
 * @internal Watches `w` if it was made outside every task: when nothing is left that could end
 * it, it fails with `LoopExit`. `what` describes the wait (called only then).
 */
export function watchMainWait(w: Waiter<any>, what: () => string): void {
  if (w.task !== null || !w.pending) return;
  mainWaits.set(w, what);
  const forget = (): void => {
    mainWaits.delete(w);
    if (mainWaits.size === 0) stopListening();
  };
  w.promise.then(forget, forget);
  stop ??= onDryLoop(onDry);
}

function stopListening(): void {
  if (stop === null) return;
  stop();
  stop = null;
}

function onDry(): void {
  // One wait at a time, the oldest first: the code it resumes (a catch that starts the greenlet
  // another wait is for) may end the others. The loop turns once, and Node's next beforeExit
  // comes back here if nothing else is left.
  for (const [w, what] of mainWaits) {
    mainWaits.delete(w);
    if (!w.pending) continue;
    const exc = new LoopExit(
      `This operation would block forever: ${what()}, and nothing is left that could end the wait (no greenlet or task is ready, and Node's loop has no timer, socket or other work pending)`,
    );
    quiet(exc);
    w.fail(exc);
    break;
  }
  if (mainWaits.size === 0) queueMicrotask(stopListening);
  // The code the wait resumes may wait again: one more turn lets Node's next beforeExit come.
  setImmediate(afterTurn);
}

// ── an unobserved LoopExit ends nothing ──────────────────────────────────────────────────────
//
// A wait the program abandoned (`g.join().then(cb)`, a `pool.spawn` nobody awaits) is failed
// like any other: nothing tells which ones are awaited. Its LoopExit then rejects promises
// nobody handles — the wait's own, and those derived from it (`.then(cb)`) — which would end
// the program with an unhandled rejection where, with nothing left to run, it exited quietly.
// So while LoopExits are being delivered, an `unhandledRejection` listener drops those whose
// reason is one of them; an awaited one still raises where it is awaited. Any other reason it
// hands on as Node's default mode (`throw`) would, unless the program has a listener of its own;
// under another `--unhandled-rejections` mode no listener is added (Node's mode decides).

/** The LoopExits delivered: their unhandled rejections are dropped. */
const delivered = new WeakSet<object>();
let quieting = false;

function quiet(exc: LoopExit): void {
  delivered.add(exc);
  if (quieting || !defaultRejectionMode()) return;
  quieting = true;
  process.on('unhandledRejection', onUnhandledRejection);
}

function defaultRejectionMode(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return !flags.some(
    (f) => f.startsWith('--unhandled-rejections=') && f !== '--unhandled-rejections=throw',
  );
}

function onUnhandledRejection(reason: unknown): void {
  if (typeof reason === 'object' && reason !== null && delivered.has(reason)) return;
  // The program's own listener takes it.
  if (process.listenerCount('unhandledRejection') > 1) return;
  // As Node's default mode: an uncaught exception.
  if (reason instanceof Error) throw reason;
  throw new Error(`Unhandled promise rejection: ${describeValue(reason)}`);
}

/**
 * A loop turn after a LoopExit was delivered: the promises derived from it have settled by now
 * (microtasks, and weft's ready queue once it is empty), so the listener goes.
 */
function afterTurn(): void {
  if (readyCount() > 0) {
    setImmediate(afterTurn);
    return;
  }
  if (quieting) {
    quieting = false;
    process.off('unhandledRejection', onUnhandledRejection);
  }
}
