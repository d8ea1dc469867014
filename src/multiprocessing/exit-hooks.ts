/**
 * What a child must finish before it exits when `run()` returns: queued items still on their way
 * to the broker (Python joins a queue's feeder thread), and its non-daemon children, whichever
 * thread started them.
 */
import { awaitOthersNonDaemon } from './child-table.js';
import { Process } from './process.js';

const hooks = new Set<() => Promise<void>>();

export function onBeforeExit(fn: () => Promise<void>): void {
  hooks.add(fn);
}

export async function flushBeforeExit(): Promise<void> {
  for (const p of Process._active()) if (!p.daemon) await p.join();
  // The other threads' children too, as Python's child joins them all at its exit.
  await awaitOthersNonDaemon();
  for (const fn of hooks) await fn();
}
