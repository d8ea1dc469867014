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

/** A snapshot of the live handles, by kind. */
export function liveHandles(): Map<string, number> {
  return new Map(counts);
}
