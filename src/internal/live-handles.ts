/**
 * The live-handle registry: every weft object that keeps work alive (a task, a thread, a child
 * process, a server) counts itself in here while it is alive, by kind. Tests read it to fail a
 * test that leaves something behind; `weft` itself never depends on the counts.
 */
// Kept on globalThis under a registered symbol so that two copies of weft in one process (the
// sources under tsx and the built dist/, say) share one registry.
const KEY = Symbol.for('weft.liveHandles');
const store = globalThis as unknown as { [KEY]?: Map<string, number> };
store[KEY] ??= new Map<string, number>();
const counts: Map<string, number> = store[KEY];

export function handleOpened(kind: string): void {
  counts.set(kind, (counts.get(kind) ?? 0) + 1);
}

export function handleClosed(kind: string): void {
  const n = (counts.get(kind) ?? 0) - 1;
  if (n <= 0) counts.delete(kind);
  else counts.set(kind, n);
}

const COUNTERS = Symbol.for('weft.liveHandleCounters');
const cstore = globalThis as unknown as { [COUNTERS]?: Map<string, () => number> };
cstore[COUNTERS] ??= new Map<string, () => number>();
const counters: Map<string, () => number> = cstore[COUNTERS];

/**
 * Registers a kind whose live count its owner keeps itself (the tasks, on their hot path, keep
 * a count rather than call handleOpened/handleClosed for each task).
 */
export function registerLiveCounter(kind: string, count: () => number): void {
  counters.set(kind, count);
}

/** A snapshot of the live handles, by kind. */
export function liveHandles(): Map<string, number> {
  const snapshot = new Map(counts);
  for (const [kind, count] of counters) {
    const n = count();
    if (n > 0) snapshot.set(kind, (snapshot.get(kind) ?? 0) + n);
  }
  return snapshot;
}
