/**
 * The worker side of `Thread` (the role module src/internal/worker/bootstrap.ts hands over to).
 * It never imports the parent-side spawning path beyond the Thread class itself.
 *
 * Order of the end of a thread: run() settles → an escaping exception is posted to the parent →
 * the non-daemon threads this thread started are joined → what it still holds is recovered
 * (owner death) → its slot is marked finished (joiners wake) → the worker exits.
 */
import { dryLoopClaimed } from '../internal/dry-loop.js';
import { RuntimeError } from '../internal/errors.js';
import { receiveRunTarget } from '../internal/run-target.js';
import { decode, encodeError } from '../internal/serialize.js';
import { finishThread, registerSelf, selfTid } from '../internal/shm/world.js';
import { untouchedThread, userCodeStarts } from '../internal/task-ref.js';
import { finishExecutors } from '../internal/thread-executors.js';
import { runAfterThreadEnd, runBeforeThreadExit } from '../internal/thread-exit.js';
import { postToParent } from '../internal/worker/protocol.js';
import { recoverAll } from './owner-death.js';
import { _setCurrentThread, Thread, type ThreadPayload } from './thread.js';

let ended = false;

/** `abnormal`: run() threw, or the thread exits with a non-zero code (owner-death.ts). */
function end(abnormal: boolean): void {
  if (ended) return;
  ended = true;
  recoverAll(abnormal);
  finishThread(selfTid);
}

/**
 * Posts what escaped run() to the parent, on weft's port: a message there that the parent cannot
 * read can only be this one (worker/protocol.ts).
 */
function postException(err: unknown): void {
  postToParent({ type: 'exception', error: encodeError(err) });
}

export async function main(encoded: unknown): Promise<void> {
  untouchedThread();
  const p = decode(encoded) as ThreadPayload;
  registerSelf(p.name, p.daemon);
  let settled = false;
  let stranded = false;
  // An async run() whose promise nothing will ever settle (it awaits something that has nothing
  // left to wake it: no timer, no I/O, no weft wait) would otherwise end the thread in silence
  // when its event loop runs dry, the rest of run() never executed. Node says so for a main
  // module's top-level await; here the excepthook hears it, and the end counts as abnormal.
  // A dry point another listener claims (gevent's LoopExit resuming a wait of run()) is not the
  // end: the check waits for one nobody claims.
  const onDry = (): void => {
    if (settled || dryLoopClaimed()) return;
    process.off('beforeExit', onDry);
    stranded = true;
    const error = new RuntimeError(
      `Thread ${p.name}: run() returned a promise that never settled: the thread's event loop had nothing left to do (no timer, I/O or weft wait pending), so the rest of run() can never run. Await something that will settle, or keep a timer, socket or weft wait pending until it does.`,
      'ERR_WEFT_THREAD_STRANDED',
    );
    postException(error);
  };
  process.on('beforeExit', onDry);
  // A target that calls process.exit() still hands back what it holds.
  process.once('exit', (code) => end(code !== 0 || stranded));
  let self: Thread | null = null;
  let threw = false;
  try {
    self = await receiveRunTarget(p, (cls, call) =>
      Thread._adopt(cls ?? Thread, selfTid, { ...call, name: p.name, daemon: p.daemon }),
    );
    _setCurrentThread(self);
    userCodeStarts();
    await self.run();
  } catch (err) {
    threw = true;
    postException(err);
  }
  settled = true;
  // Python's exit finishes the executors a thread left running, then joins the non-daemon
  // threads (threading._shutdown): a worker's workers end with it, so the thread's end does.
  await finishExecutors();
  await Thread._joinStarted();
  // What it queued elsewhere (multiprocessing's broker: a put, a release) arrives first.
  await runBeforeThreadExit();
  end(threw);
  // The thread has ended. Its worker lives on while what it started must (its non-daemon child
  // processes, which the process waits for at exit as Python's does): then it says so, and its
  // joiners return now rather than at its exit. Its async waits still parked keep their waiter
  // counts until that exit (shm/wait.ts), as they may yet be woken meanwhile.
  await runAfterThreadEnd(() => {
    postToParent({ type: 'ended' });
  });
  // Python's thread ends when run() returns, whatever timers it left behind.
  setImmediate(() => process.exit(0));
}
