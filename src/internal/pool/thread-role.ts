/**
 * An executor worker on a worker thread: the runner over weft's port (worker/protocol.ts), not
 * parentPort, which belongs to the tasks.
 */
import { finishThread, registerSelf, selfTid } from '../shm/world.js';
import { finishExecutors } from '../thread-executors.js';
import { runBeforeThreadExit } from '../thread-exit.js';
import { weftPortToParent } from '../worker/protocol.js';
import type { RunnerBoot, ToRunner } from './protocol.js';
import { runRunner } from './runner.js';

export async function main(payload: unknown): Promise<void> {
  const port = weftPortToParent();
  // As a process's: the runner decodes the initializer's arguments, the one part that needs it
  // (decoded twice, an argument of the caller's shaped like weft's markers would be read as one).
  const boot = payload as RunnerBoot;
  // A worker thread like any other (Python's executor threads are threading.Threads): named in
  // deadlock reports and listed by threading.enumerate(). Not daemonic, as Python 3.9+'s: a
  // Thread a call starts defaults to daemon false; the exits do not wait for it as a non-daemon
  // thread, but shut its executor down, which waits for its calls (thread-executors.ts).
  registerSelf(boot.name, 'executor');
  await runRunner(boot, {
    carrier: 'message',
    post: (m) => port.postMessage(m),
    onMessage: (fn) => port.on('message', (m: ToRunner) => fn(m)),
    onUnreadable: (fn) => port.on('messageerror', (e: unknown) => fn(e)),
    // The executors its calls left running (Python's exit waits for their calls), then the
    // non-daemon threads they started (a hook of thread.ts); and what the tasks sent
    // multiprocessing's broker arrives before the worker is gone.
    exit: () =>
      void finishExecutors()
        .then(() => runBeforeThreadExit())
        .then(() => {
          // Last of the 'exit' listeners, after owner death has given back what calls left held;
          // so that a joiner blocked in this worker's parent need not wait for its 'exit' event.
          // (A worker ended otherwise is marked finished by the parent: engine.ts.)
          process.once('exit', () => finishThread(selfTid));
          process.exit(0);
        }),
  });
}
