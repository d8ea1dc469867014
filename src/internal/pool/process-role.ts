/** An executor worker in a child process: the runner over the IPC channel. */
import { identity, setIdentity } from '../../multiprocessing/process-identity.js';
import { onParentMessage, postToParent, sendToParent } from '../process/channel.js';
import { anyChildRecorded, otherNonDaemonAlive } from '../shm/world.js';
import { liveExecutors } from '../thread-executors.js';
import { runBeforeThreadExit } from '../thread-exit.js';
import type { FromRunner, ProcessKey, RunnerBoot, ToRunner } from './protocol.js';
import { runRunner } from './runner.js';

export async function main(payload: unknown): Promise<void> {
  const boot = payload as RunnerBoot;
  const key = boot.key as number;
  // A ProcessPoolExecutor's worker is not daemonic, as Python 3.11's; a Pool's is (the boot's
  // flag). The process's identity says so — currentProcess().daemon, in every thread of it, and
  // the default `daemon` of a Process started here, as Python's is current_process()'s — though
  // either is booted a daemon all the same: it ends when its parent ends (bootstrap.ts).
  const id = identity();
  if (id.daemon !== boot.daemon) setIdentity({ ...id, daemon: boot.daemon });
  // The parent going away ends a pool child whatever it was doing (it is a daemon).
  process.on('disconnect', () => process.exit(0));
  // Every message of the runner's is marked, so that the engine tells them from what the tasks
  // send (protocol.ts): the last one, sent at exit, too.
  const marked = (m: FromRunner): FromRunner & ProcessKey => {
    (m as FromRunner & ProcessKey).key = key;
    return m as FromRunner & ProcessKey;
  };
  await runRunner(boot, {
    carrier: 'process',
    post: (m) => postToParent(marked(m)),
    onMessage: (fn) => onParentMessage((m) => fn(m as ToRunner)),
    exit: () => {
      // Python's worker leaves through its process's exit (util._exit_function, then
      // threading._shutdown): the daemon children its calls started are terminated, its
      // non-daemon children and threads waited for, so that shutdown({ wait: true }) returns
      // after them. Then what the tasks sent multiprocessing's broker; then every earlier send
      // to the parent is queued before this one: once it is written, all are.
      void finishStarted()
        .catch(() => {})
        .then(() => runBeforeThreadExit())
        .then(() => sendToParent(marked({ t: 'res', r: [], end: -1 })))
        .then(
          () => process.exit(0),
          () => process.exit(0),
        );
    },
  });
}

/**
 * Waits for what the calls left running that the process's end waits for (exit-hooks.ts). Most
 * workers start nothing: the world's tables say so, and multiprocessing is then not loaded.
 */
async function finishStarted(): Promise<void> {
  if (!anyChildRecorded() && !otherNonDaemonAlive() && !liveExecutors()) return;
  const { flushBeforeExit } = await import('../../multiprocessing/exit-hooks.js');
  await flushBeforeExit();
}
