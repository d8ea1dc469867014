/**
 * How a weft child process starts: the parent side (spawn.ts) and the child side
 * (bootstrap.ts, channel.ts) share these shapes and never import each other.
 *
 *   parent                                           child (fork of bootstrap.ts)
 *   ──────                                           ─────
 *   fork(bootstrap, serialization: 'advanced',  ──▶  starts importing preload + role (all at
 *        env ENV_EARLY_MODULES = preload + role)      once); channel.ts listens on the channel
 *          ◀──────────── { t: 'hello' }               (buffering until the role listens)
 *   { t: 'boot', role, payload, daemon }        ──▶  awaits those imports, then
 *   (the role's own messages, both ways)              role.main(payload)
 *
 * The hello round trip exists because a message that reaches a child before anything listens
 * for it is dropped by Node: the parent speaks only after the child said it is listening.
 */
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
}

export type HelloMessage = { t: 'hello' };

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
 * Environment variable carrying, as JSON, the URLs a child imports before its role runs: the
 * modules that register shared kinds (error classes; imported before the payload is decoded) and
 * the role module, last. Set at fork, so the child loads them while hello and boot cross; the
 * child removes it at once.
 */
export const ENV_EARLY_MODULES = 'WEFT_EARLY_MODULES';
