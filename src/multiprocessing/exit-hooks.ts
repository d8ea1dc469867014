/**
 * What a child must finish before it exits when `run()` returns: queued items still on their way
 * to the broker (Python joins a queue's feeder thread), and its own non-daemon children.
 */
import { Process } from './process.js';

const hooks = new Set<() => Promise<void>>();

export function onBeforeExit(fn: () => Promise<void>): void {
  hooks.add(fn);
}

export async function flushBeforeExit(): Promise<void> {
  for (const p of Process._active()) if (!p.daemon) await p.join();
  for (const fn of hooks) await fn();
}
