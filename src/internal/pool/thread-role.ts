/** An executor worker on a worker thread: the runner over `parentPort`. */
import { parentPort } from 'node:worker_threads';
import { decode } from '../serialize.js';
import { finishThread, registerSelf, selfTid } from '../shm/world.js';
import { runBeforeThreadExit } from '../thread-exit.js';
import type { RunnerBoot, ToRunner } from './protocol.js';
import { runRunner } from './runner.js';

export async function main(payload: unknown): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('weft pool thread-role: not in a worker thread');
  const boot = decode(payload) as RunnerBoot;
  // A worker thread like any other (Python's executor threads are threading.Threads): named in
  // deadlock reports and listed by threading.enumerate(); a daemon, as its pool ends it.
  registerSelf(boot.name, true);
  await runRunner(boot, {
    carrier: 'message',
    post: (m) => port.postMessage(m),
    onMessage: (fn) => port.on('message', (m: ToRunner) => fn(m)),
    // What the tasks sent multiprocessing's broker arrives before the worker is gone.
    exit: () =>
      void runBeforeThreadExit().then(() => {
        // Last of the 'exit' listeners, after owner death has given back what calls left held;
        // so that a joiner blocked in this worker's parent need not wait for its 'exit' event.
        // (A worker ended otherwise is marked finished by the parent: engine.ts.)
        process.once('exit', () => finishThread(selfTid));
        process.exit(0);
      }),
  });
}
