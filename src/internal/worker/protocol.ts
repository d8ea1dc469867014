/**
 * What a parent hands a weft worker at spawn and what the worker says back. Shared by the parent
 * side (spawn.ts) and the worker side (bootstrap.ts), which never import each other.
 *
 *   parent                                            worker
 *   ──────                                            ──────
 *   spawnWorker(role, payload):
 *     start port ◀── mark, then payload               (queued before the worker exists)
 *     new Worker ── workerData: world, buffers, ──▶   bootstrap: take the mark and the payload
 *                   preload, role, start port         from the start port (queued: no wait),
 *                                                     adopt world + buffers, import shared
 *                                                     kinds, import role, role.main(payload)
 *          ◀── { type: 'startUnreadable', why } ──    or, the payload unreadable: no role,
 *                                                     exit code 1
 *          ◀── { type: 'exception', error } ──        (a role's own messages)
 *          ◀── 'exit' event ──                        worker ends
 *
 * Every message of weft's on parentPort carries the mark (MARK_KEY: the spawning thread's token),
 * and the parent takes for weft's only a message that does: the thread's own code may post
 * anything on parentPort, `{ type: 'exception', … }` included, and that is never taken for an
 * exception, a start failure or an end. The token is random per spawning thread and travels on
 * the start port, not in workerData (which the thread's code can read by accident, printing it);
 * a thread's code that digs it out of weft's internals can forge a message, but cannot make one
 * by mistake.
 *
 * Why the payload is not in workerData: it holds the user's data (a thread's args, a pool's
 * initargs), which can be nested deeper than the new thread's stack can read. A worker that
 * cannot read its workerData never runs a line: Node 20 ends it with code 0 before 'online',
 * Node 22 and 24 neither start nor end it (no event at all, so its start would hang). What stays
 * in workerData is flat (SharedArrayBuffers, numbers, strings, a port) and always readable. The
 * payload goes on a port of its own rather than the worker's parentPort: it is posted before
 * `new Worker`, so it is queued by the time the worker looks (never a race with the parent), an
 * uncloneable payload throws before a worker exists, and parentPort carries only the role's
 * messages, in the order the role's protocol counts them (pool/protocol.ts).
 */
import { type MessagePort, parentPort } from 'node:worker_threads';
import type { EncodedError } from '../serialize.js';
import { WORLD_KEY } from '../shm/world.js';
import type { WorkerTsLoader } from '../ts-loader.js';

export interface BootData {
  [WORLD_KEY]: SharedArrayBuffer;
  /** Shared buffers the parent knows (see shm/sab-registry.ts on late joiners). */
  sabs: Array<[number, SharedArrayBuffer]>;
  /**
   * Modules that register shared kinds, imported before the payload is decoded: in built dist/,
   * the bundles that hold them rather than their facades (spawn.ts).
   */
  preload: string[];
  /** URL of the role module; it exports `main(payload)`. */
  role: string;
  /**
   * Holds one message, the role's payload (encoded for the message carrier), queued before the
   * worker was made; the worker takes it and closes the port.
   */
  start: MessagePort;
  /**
   * The TypeScript loader the parent would give a worker (null: none found), and whether the
   * boot script registered it already; if not, the worker registers it before its first import
   * of a .ts module (ts-loader.ts).
   */
  tsLoader: WorkerTsLoader | null;
  tsLoaderOn: boolean;
}

/** Messages a worker posts to its parent. */
export type WorkerMessage =
  | { type: 'exception'; error: EncodedError }
  | { type: 'result'; value: unknown }
  /**
   * A weft Thread's run() has ended and its locks are handed back, and its worker lives on for
   * what the thread started that must outlive it (non-daemon child processes): `join()` returns
   * now (else at the worker's exit).
   */
  | { type: 'ended' }
  /**
   * A weft Thread's run() raised: its 'exception' message comes next. Flat, so always readable:
   * the parent can tell the exception it could not read ('messageerror' right after this) from a
   * message the thread's own code posted on parentPort.
   */
  | { type: 'raising' }
  /** The worker could not read its payload (bootstrap.ts, `why` the error's text) and exits. */
  | { type: 'startUnreadable'; why: string };

/** The key of the mark on weft's messages (protocol above): a plain string key survives cloning. */
const MARK_KEY = '__weftMark';

/** This thread's token for the workers it spawns; made at the first spawn. */
let ownMark: string | null = null;
/** The token of the thread that spawned this worker (bootstrap.ts adopts it); '' elsewhere. */
let parentMark = '';

/** The token spawn.ts sends each worker this thread starts. */
export function spawnerMark(): string {
  ownMark ??= globalThis.crypto.randomUUID();
  return ownMark;
}

/** Worker side: the spawning thread's token, read from the start port first. */
export function adoptParentMark(mark: string): void {
  parentMark = mark;
}

/** Worker side: posts one of weft's messages to the parent, marked as weft's. */
export function postToParent(m: WorkerMessage): void {
  parentPort?.postMessage({ ...m, [MARK_KEY]: parentMark });
}

/** Whether `m` is a message weft posted (postToParent) in a worker this thread spawned. */
export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return (
    ownMark !== null &&
    typeof m === 'object' &&
    m !== null &&
    (m as { [MARK_KEY]?: unknown })[MARK_KEY] === ownMark &&
    typeof (m as { type?: unknown }).type === 'string'
  );
}

/** The bootstrap's word that the worker could not read its start data (the role never ran). */
export function isStartUnreadable(
  m: unknown,
): m is Extract<WorkerMessage, { type: 'startUnreadable' }> {
  return isWorkerMessage(m) && m.type === 'startUnreadable';
}
