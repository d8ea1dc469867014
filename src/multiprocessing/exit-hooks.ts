/**
 * What a child must finish before it exits when `run()` returns — and a pool's worker when its
 * pool ends it, as Python's worker leaves through the same exit — in Python's order
 * (util._exit_function, then threading._shutdown): its daemon children are terminated first,
 * whichever thread started them; then its non-daemon children, whichever thread started them,
 * are waited for; then the calls of its ThreadPoolExecutors not shut down (Python's
 * concurrent.futures.thread._python_exit); then its non-daemon threads (and the non-daemon
 * children they started meanwhile); then the queued items still on their way to the broker are
 * handed over (Python joins a queue's feeder thread last).
 */
import { pollUntil } from '../internal/poll-until.js';
import { otherNonDaemonAlive } from '../internal/shm/world.js';
import { finishExecutors } from '../internal/thread-executors.js';
import { awaitOthersNonDaemon, CHILD_POLL_MS } from './child-table.js';
import { Process } from './process.js';

const hooks = new Set<() => Promise<void>>();

export function onBeforeExit(fn: () => Promise<void>): void {
  hooks.add(fn);
}

export async function flushBeforeExit(): Promise<void> {
  Process._exitTerminate();
  await joinNonDaemonChildren();
  // Python's threading._shutdown, after the children: first the ThreadPoolExecutors not shut
  // down (concurrent.futures.thread._python_exit), whose calls, queued ones too, run to the end;
  // their workers end after the non-daemon threads those started. Then every non-daemon thread
  // of the process, whichever thread started it (a Thread ends after its own non-daemon threads
  // anyway).
  await finishExecutors();
  await awaitNonDaemonThreads();
  // A thread's non-daemon children outlive it, and the process waits for them (process.ts).
  await joinNonDaemonChildren();
  for (const fn of hooks) await fn();
}

async function joinNonDaemonChildren(): Promise<void> {
  // Pool and ProcessPoolExecutor workers are their pool's to end (Process._started leaves them out).
  for (const p of Process._started()) if (!p.daemon) await p.join();
  // The other threads' children too, as Python's child joins them all at its exit.
  await awaitOthersNonDaemon();
}

/**
 * Resolves once no non-daemon thread of this process but this one is alive; polls (a thread's
 * end wakes only the threads parked on its slot), and holds the event loop meanwhile.
 */
function awaitNonDaemonThreads(): Promise<void> {
  return pollUntil(() => !otherNonDaemonAlive(), CHILD_POLL_MS);
}
