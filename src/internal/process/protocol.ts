/**
 * How a weft child process starts: the parent side (spawn.ts) and the child side
 * (bootstrap.ts, channel.ts) share these shapes and never import each other.
 *
 *   parent                                           child (fork of bootstrap.ts)
 *   ──────                                           ─────
 *   fork(bootstrap, serialization: 'advanced',  ──▶  early-inbox.cjs (--require) listens on the
 *        env ENV_EARLY_MODULES = preload + role)      channel before anything loads; bootstrap
 *   { t: 'boot', role, payload, daemon }  (at once)   starts importing preload + role (all at
 *   (the role's own messages, both ways)              once); channel.ts takes the messages over;
 *                                                     those imports awaited, role.main(payload)
 *
 * Node drops a message that reaches a child while nothing listens for it, and a child's ES
 * modules load while its event loop already reads the channel: the CommonJS inbox, which runs
 * before any of them, is what lets the parent send at fork instead of waiting for the child to
 * say it listens (a round trip a parent that blocks right after `start()` never served).
 */
import type { WorkerTsLoader } from '../ts-loader.js';

export interface BootMessage {
  t: 'boot';
  /** URL of the role module; it exports `main(payload)`. */
  role: string;
  payload: unknown;
  /** A daemon child ends when its parent ends, however the parent ends. */
  daemon: boolean;
  /** The parent's pid, watched by a daemon child. */
  parentPid: number;
  /** The child's name (multiprocessing's Process.name). */
  name: string;
  /** The parent's name, for the child's `parentProcess()`. */
  parentName: string;
  /** The child's `_identity`, when its name does not say it (a ProcessPoolExecutor's worker). */
  ident?: number[];
  /**
   * The TypeScript loader the child registers when it must import a .ts module it was not
   * started for (a pool's task submitted later), null when the parent found none; `tsLoaderOn`
   * when the child was started with it (ts-loader.ts).
   */
  tsLoader: WorkerTsLoader | null;
  tsLoaderOn: boolean;
}

/**
 * The child's first descriptor passed at fork (fd-handoff.ts): after stdin, stdout, stderr and
 * the IPC channel (3). `ChildSpawnOptions.fds[k]` becomes descriptor PASSED_FD_BASE + k.
 */
export const PASSED_FD_BASE = 4;

/** Environment variable a child reads to know it is a weft child (and its parent's name). */
export const ENV_PARENT = 'WEFT_PARENT';

/**
 * Environment variable: "1" when the child is a daemon. The boot message says so too, but a
 * child whose parent ended before sending it must know which silence is expected (a daemon's).
 */
export const ENV_DAEMON = 'WEFT_DAEMON';

/**
 * Environment variable: "1" when a worker thread (a weft Thread, a thread pool worker) forked
 * the child. The channel is that thread's, and closes when the thread ends while the process it
 * belongs to runs on: the child then judges its parent by its parent pid alone.
 */
export const ENV_FROM_THREAD = 'WEFT_FROM_THREAD';

/**
 * Environment variable carrying, as JSON, the URLs a child imports before its role runs: the
 * modules that register the shared kinds and error classes a child may decode (serialize.ts's
 * `processModules`; imported before the payload is decoded) and the role module, last. Set at
 * fork, so the child loads them while the boot message crosses; the child removes it at once.
 */
export const ENV_EARLY_MODULES = 'WEFT_EARLY_MODULES';
