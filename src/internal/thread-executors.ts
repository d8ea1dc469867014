/**
 * The ThreadPoolExecutors of this thread that were not shut down, for Python 3.9+'s
 * `concurrent.futures.thread._python_exit` (run by `threading._shutdown` before the non-daemon
 * threads are joined): at the end the executors are shut down, their calls — queued ones too —
 * run to the end and their workers (which end after the non-daemon threads their calls started)
 * exit. Who ends where: the root's main thread when its event loop runs dry
 * (thread-pool-executor.ts), a child process when run() returns and a process pool's worker
 * (exit-hooks.ts), a thread pool's or a Thread's worker before it exits (thread-role.ts,
 * thread-worker.ts), each first among what it waits for. Each thread has its own executors:
 * Node ends a worker's workers with it, so they cannot outlive the thread that made them.
 *
 * Kept apart from the executor so that the exits can ask without loading the pool engine, and on
 * globalThis (sharedHooks) so that two copies of weft in one thread share it.
 */
import { sharedHooks } from './hooks.js';

/** Each live executor's `shutdown({ wait: true })`. */
const live = sharedHooks<() => Promise<void>>('threadExecutors');

export function trackExecutor(finish: () => Promise<void>): void {
  live.add(finish);
}

export function untrackExecutor(finish: () => Promise<void>): void {
  live.delete(finish);
}

/** Whether an executor of this thread was not shut down. */
export function liveExecutors(): boolean {
  return live.size > 0;
}

/**
 * Shuts down every executor of this thread not shut down yet, together (Python wakes every
 * executor's workers, then joins them), and resolves once their workers have exited; never
 * rejects. Executors made meanwhile (by this thread's own async code) are shut down too.
 */
export async function finishExecutors(): Promise<void> {
  while (live.size > 0) {
    const all = [...live];
    live.clear();
    // A subclass's shutdown() that throws at once must not end the loop, nor reject.
    await Promise.all(
      all.map((finish) =>
        Promise.resolve()
          .then(finish)
          .catch(() => {}),
      ),
    );
  }
}
