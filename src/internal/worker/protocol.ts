/**
 * What a parent hands a weft worker at spawn and what the worker says back. Shared by the parent
 * side (spawn.ts) and the worker side (bootstrap.ts), which never import each other.
 *
 *   parent                                            worker
 *   ──────                                            ──────
 *   spawnWorker(role, payload):
 *     weft's port ◀── payload                         (queued before the worker exists)
 *     new Worker ── workerData: world, buffers, ──▶   bootstrap: take the payload from weft's
 *                   preload, role, weft's port        port (queued: no wait), adopt world +
 *                                                     buffers, import shared kinds, import
 *                                                     role, role.main(payload)
 *          ◀── { type: 'startUnreadable', why } ──    or, the payload unreadable: no role,
 *                                                     exit code 1
 *          ◀── { type: 'exception', error } ──        (a role's own messages)
 *          ◀── 'exit' event ──                        worker ends; the parent reads what is
 *                                                     left on weft's port, then says so
 *
 * weft's messages travel on a port of their own (the start port, kept open), never on the
 * worker's parentPort, for two reasons:
 * - The thread's own code may post anything on parentPort, `{ type: 'exception' }` included, and
 *   nothing there can be taken for weft's.
 * - Nothing weft says is lost at the worker's exit. When a message cannot be read
 *   ('messageerror': nested deeper than the reading thread's stack), Node stops reading that port
 *   for the turn; at a worker's exit it reads the worker's own port once, to the first such
 *   message, and what came after it is gone. (A thread that posts a deep value on parentPort and
 *   then raises, its parent busy meanwhile: Node 20 delivered the messageerror and 'exit', never
 *   the exception.) weft's port outlives the worker: at 'exit' the parent reads it to the end
 *   with `receiveMessageOnPort`, an unreadable message counted as such, before anyone hears
 *   that the worker ended (spawn.ts).
 *
 * Why the payload is not in workerData: it holds the user's data (a thread's args, a pool's
 * initargs), which can be nested deeper than the new thread's stack can read. A worker that
 * cannot read its workerData never runs a line: Node 20 ends it with code 0 before 'online',
 * Node 22 and 24 neither start nor end it (no event at all, so its start would hang). What stays
 * in workerData is flat (SharedArrayBuffers, numbers, strings, a port) and always readable. On
 * weft's port the payload is posted before `new Worker`, so it is queued by the time the worker
 * looks (never a race with the parent), and an uncloneable payload throws before a worker
 * exists.
 *
 * A pool's runner speaks its own protocol (pool/protocol.ts) on weft's port too, both ways, for
 * the same reasons: a task may post anything on parentPort (null, or a value shaped like an
 * outcome), and the outcomes a worker posted before a task ended it (`process.exit()`) are read
 * to the end at 'exit', an unreadable one among them or not. Its messages have `t` where these
 * have `type`. The worker's end, unref'd by the bootstrap, is ref'd again by the runner's
 * listener: a runner waits for work until it is told to stop.
 */
import type { MessagePort } from 'node:worker_threads';
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
   * weft's port: holds one message, the role's payload (encoded for the message carrier), queued
   * before the worker was made; then carries weft's messages to the parent (WorkerMessage).
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
  /** The worker could not read its payload (bootstrap.ts, `why` the error's text) and exits. */
  | { type: 'startUnreadable'; why: string };

/** Worker side: weft's port to the parent (bootstrap.ts adopts it); null elsewhere. */
let weftPort: MessagePort | null = null;

/** Worker side: the port weft's messages to the parent go on, from the bootstrap. */
export function adoptWeftPort(port: MessagePort): void {
  weftPort = port;
}

/** Worker side: weft's port itself, for a role that listens on it (a pool's runner). */
export function weftPortToParent(): MessagePort {
  if (weftPort === null) throw new Error('weft worker: no port to its parent (not a weft worker)');
  return weftPort;
}

/** Worker side: posts one of weft's messages to the parent, on weft's port. */
export function postToParent(m: WorkerMessage): void {
  weftPortToParent().postMessage(m);
}
