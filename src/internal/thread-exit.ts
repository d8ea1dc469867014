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
      // a hook that fails must not keep the thread from ending
    }
  }
}

const after = sharedHooks<() => Promise<void> | null>('afterThreadEnd');

/**
 * Runs `fn` once a weft Thread has ended and before its worker exits: what the worker must keep
 * alive past the thread's end — multiprocessing's non-daemon children started there, whose
 * channel and exit the worker holds, and which the process waits for at its exit. `fn` returns
 * null when there is nothing to wait for.
 */
export function afterThreadEnd(fn: () => Promise<void> | null): void {
  after.add(fn);
}

/**
 * Runs every hook, one after another; never rejects. `lingers` is called once, before the first
 * wait, when some hook has something to wait for (the worker then outlives its thread).
 */
export async function runAfterThreadEnd(lingers: () => void): Promise<void> {
  let said = false;
  for (const fn of after) {
    try {
      const p = fn();
      if (p === null) continue;
      if (!said) {
        said = true;
        lingers();
      }
      await p;
    } catch {
      // a hook that fails must not keep the worker from exiting
    }
  }
}
