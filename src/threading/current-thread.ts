import { selfTid } from '../internal/shm/world.js';
import { handleFor } from './thread.js';

export { currentThread } from './thread.js';

/** The Thread object of the main thread (from any thread). */
export function mainThread(): import('./thread.js').Thread {
  return handleFor(1);
}

/** The calling thread's identifier (its Thread's `ident`); never 0. */
export function getIdent(): number {
  return selfTid;
}

/** The operating system's id of the calling thread. */
export { getNativeId } from './native-id.js';
