/**
 * Descriptors handed to a child process when it is forked: how a socket placed in a Process's
 * `args` arrives connected in the child (Python passes the descriptor, through `fork` or its
 * `DupFd` reduction, so that parent and child hold the same open socket).
 *
 *   parent: Process.start()                               child (fork of bootstrap.ts)
 *   ───────────────────────                               ─────
 *   collectHandoffs(encode(payload))
 *     socket[kShared]() → claimFdSlot(h) = k             fd PASSED_FD_BASE + k is the same
 *   prepare(): stop reading, take buffered bytes          open socket (dup2 at fork);
 *   fork(…, stdio: [0, 1, 2, ipc, fd0, fd1, …])           decode(payload) → revive(k) adopts
 *   commit(): release the parent's copy                   passedFd(k) with the bytes first
 *   (abort(): undo prepare when the fork failed)          …run() returns…
 *                                                         settlePassed(): what it queued on
 *                                                         them has left, then process.exit
 *
 * Why stdio slots and not `child.send(msg, handle)`: the descriptor is duplicated into the child
 * while `fork` runs, synchronously, so the parent can release its copy (and stop its event loop
 * watching it) before anything else happens; a handle sent over IPC would stay the parent's
 * until the child reads it (hundreds of ms: its start) while the parent's loop keeps reading or
 * accepting on it.
 *
 * Anything else that serialises (pool tasks, queues, threads) runs without a collector, and
 * `claimFdSlot` refuses: a socket must never arrive as a silent copy.
 */
import { NotCloneableError } from '../serialize.js';
import { PASSED_FD_BASE } from './protocol.js';

/** One object whose descriptor goes to the child. */
export interface Handoff {
  /** Readies the hand-off (may fail: nothing has changed then) and returns the descriptor. */
  prepare(): number;
  /** The child holds the descriptor now: the parent lets go of its copy. */
  commit(): void;
  /** The fork failed after `prepare()`: the object is as it was before. */
  abort(): void;
}

let collecting: Handoff[] | null = null;

/** Runs `encode` (which may claim slots) and returns its result with the claimed hand-offs. */
export function collectHandoffs<T>(encode: () => T): [T, Handoff[]] {
  const outer = collecting;
  const list: Handoff[] = [];
  collecting = list;
  try {
    return [encode(), list];
  } finally {
    collecting = outer;
  }
}

/**
 * Claims the next descriptor slot of the child being started; `what` names the object in the
 * error raised when no child is being started.
 * @throws NotCloneableError outside `Process.start()` (pool tasks, queues, threads).
 */
export function claimFdSlot(h: Handoff, what: string): number {
  if (collecting === null) {
    throw new NotCloneableError(
      `A ${what} can be handed only to a child process, in the args or kwargs of a multiprocessing Process: it cannot be sent to a pool task, a queue, a pipe or a thread. Start a Process with it, or send the data instead.`,
    );
  }
  collecting.push(h);
  return collecting.length - 1;
}

/** Prepares every hand-off; when one fails, the ones already prepared are undone. */
export function prepareHandoffs(list: readonly Handoff[]): number[] {
  const fds: number[] = [];
  try {
    for (const h of list) fds.push(h.prepare());
  } catch (err) {
    for (let i = fds.length - 1; i >= 0; i--) (list[i] as Handoff).abort();
    throw err;
  }
  return fds;
}

/** The child's descriptor for slot `k`. */
export function passedFd(k: number): number {
  return PASSED_FD_BASE + k;
}

const unsent = new Set<() => Promise<void>>();

/**
 * Child side: `untilSent` resolves once what the child queued on an adopted descriptor has
 * been handed to the kernel. A child ends with `process.exit()` as soon as `run()` returns,
 * which would drop bytes still queued in user space — bytes that Python's `sendall` would
 * already have given the kernel, which delivers them after close(2). Returns the unregister.
 */
export function holdExitUntilSent(untilSent: () => Promise<void>): () => void {
  unsent.add(untilSent);
  return () => unsent.delete(untilSent);
}

/** Child side, before it exits: waits for every adopted descriptor's queued bytes. */
export async function settlePassed(): Promise<void> {
  await Promise.all([...unsent].map((f) => f()));
}
