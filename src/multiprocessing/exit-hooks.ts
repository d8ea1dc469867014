/**
 * What a child must finish before it exits when `run()` returns, in Python's order
 * (util._exit_function): its daemon children are terminated first, whichever thread started
 * them; then its non-daemon children, whichever thread started them, are waited for; then the
 * queued items still on their way to the broker are handed over (Python joins a queue's feeder
 * thread last).
 */
import { awaitOthersNonDaemon } from './child-table.js';
import { Process } from './process.js';

const hooks = new Set<() => Promise<void>>();

export function onBeforeExit(fn: () => Promise<void>): void {
  hooks.add(fn);
}

export async function flushBeforeExit(): Promise<void> {
  Process._exitTerminate();
  // Pool and ProcessPoolExecutor workers are their pool's to end (Process._started leaves them out).
  for (const p of Process._started()) if (!p.daemon) await p.join();
  // The other threads' children too, as Python's child joins them all at its exit.
  await awaitOthersNonDaemon();
  for (const fn of hooks) await fn();
}
