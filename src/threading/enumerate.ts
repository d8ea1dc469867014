import { aliveTids } from '../internal/shm/world.js';
import { handleFor, pruneHandles, type Thread } from './thread.js';

/**
 * Every thread alive now, in any thread of the process (the world's thread table): the main
 * thread first. Threads started elsewhere appear as handles that can be joined. A snapshot.
 */
export function enumerate(): Thread[] {
  const tids = aliveTids();
  pruneHandles(new Set(tids));
  return tids.map((tid) => handleFor(tid));
}

/** How many threads are alive now — a snapshot. */
export function activeCount(): number {
  return aliveTids().length;
}
