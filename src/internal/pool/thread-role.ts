/** An executor worker on a worker thread: the runner over `parentPort`. */
import { parentPort } from 'node:worker_threads';
import { decode } from '../serialize.js';
import { runBeforeThreadExit } from '../thread-exit.js';
import type { RunnerBoot, ToRunner } from './protocol.js';
import { runRunner } from './runner.js';

export async function main(payload: unknown): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('weft pool thread-role: not in a worker thread');
  const boot = decode(payload) as RunnerBoot;
  await runRunner(boot, {
    post: (m) => port.postMessage(m),
    onMessage: (fn) => port.on('message', (m: ToRunner) => fn(m)),
    // What the tasks sent multiprocessing's broker arrives before the worker is gone.
    exit: () => void runBeforeThreadExit().then(() => process.exit(0)),
  });
}
