/**
 * What a parent hands a weft worker at spawn (`workerData`) and what the worker says back. Shared
 * by the parent side (spawn.ts) and the worker side (bootstrap.ts), which never import each other.
 *
 *   parent                                         worker
 *   ──────                                         ──────
 *   spawnWorker(role, payload) ── workerData ──▶  bootstrap: adopt world + buffers,
 *                                                  import shared kinds, import role,
 *                                                  role.main(payload)
 *          ◀── { type: 'exception', error } ──     (a role's own messages)
 *          ◀── 'exit' event ──                     worker ends
 */
import type { EncodedError } from '../serialize.js';
import { WORLD_KEY } from '../shm/world.js';

export interface BootData {
  [WORLD_KEY]: SharedArrayBuffer;
  /** Shared buffers the parent knows (see shm/sab-registry.ts on late joiners). */
  sabs: Array<[number, SharedArrayBuffer]>;
  /** Modules that register shared kinds; imported before the payload is decoded. */
  preload: string[];
  /** URL of the role module; it exports `main(payload)`. */
  role: string;
  /** Role-specific, encoded for the message carrier. */
  payload: unknown;
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
  | { type: 'ended' };

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
