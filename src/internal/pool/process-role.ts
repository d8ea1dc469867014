/** An executor worker in a child process: the runner over the IPC channel. */
import { onParentMessage, postToParent, sendToParent } from '../process/channel.js';
import { runBeforeThreadExit } from '../thread-exit.js';
import type { RunnerBoot, ToRunner } from './protocol.js';
import { runRunner } from './runner.js';

export async function main(payload: unknown): Promise<void> {
  const boot = payload as RunnerBoot;
  // A ProcessPoolExecutor's worker says `daemon` false in currentProcess(), as Python 3.11's
  // does; a Pool's says true, as Python's (the boot's flag). Either is booted a daemon all the
  // same: it ends when its parent ends (multiprocessing/current-process.ts).
  if (!boot.daemon) {
    (globalThis as Record<symbol, unknown>)[Symbol.for('weft.executor-worker')] = true;
  }
  // The parent going away ends a pool child whatever it was doing (it is a daemon).
  process.on('disconnect', () => process.exit(0));
  await runRunner(boot, {
    carrier: 'process',
    post: (m) => postToParent(m),
    onMessage: (fn) => onParentMessage((m) => fn(m as ToRunner)),
    exit: () => {
      // What the tasks sent multiprocessing's broker first; then every earlier send to the
      // parent is queued before this one: once it is written, all are.
      void runBeforeThreadExit()
        .then(() => sendToParent({ t: 'res', r: [], end: -1 }))
        .then(
          () => process.exit(0),
          () => process.exit(0),
        );
    },
  });
}
