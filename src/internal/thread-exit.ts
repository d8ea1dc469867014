/**
 * What a thread (a weft Thread, a pool worker) must finish before it ends, registered by the
 * machinery that needs it — multiprocessing's broker client registers "deliver what I queued" —
 * so that the thread's own code does not import that machinery (weft/threading stays free of
 * multiprocessing).
 */
import { sharedHooks } from './hooks.js';

const hooks = sharedHooks<() => Promise<void>>('beforeThreadExit');

export function beforeThreadExit(fn: () => Promise<void>): void {
  hooks.add(fn);
}

/** Runs every hook, one after another; never rejects. */
export function runBeforeThreadExit(): Promise<void> {
  return runEach(hooks);
}

/** One after another; a hook that fails must not keep the thread from ending. */
async function runEach(list: Iterable<() => Promise<void>>): Promise<void> {
  for (const fn of list) {
    try {
      await fn();
    } catch {
      // see above
    }
  }
}

const after = sharedHooks<() => Promise<void>>('afterThreadEnd');

/**
 * Runs `fn` once a weft Thread has ended (its joiners woke) and before its worker exits: what the
 * worker must keep alive past the thread's end — multiprocessing's non-daemon children started
 * there, whose channel and exit the worker holds, and which the process waits for at its exit.
 */
export function afterThreadEnd(fn: () => Promise<void>): void {
  after.add(fn);
}

/** Runs every hook, one after another; never rejects. */
export function runAfterThreadEnd(): Promise<void> {
  return runEach(after);
}
