/**
 * The task a pool worker is running now, as seen by user code through `taskSignal()`
 * (src/futures/task-signal.ts). Kept on globalThis under a registered symbol because the
 * runner and the user's copy of `weft/futures` may be two module instances (sources under tsx
 * beside dist/), and both must see the same task.
 */
export interface TaskContext {
  signal(): AbortSignal;
}

const KEY = Symbol.for('weft.pool.currentTask');
const holder = globalThis as unknown as { [KEY]?: TaskContext | null };

export function currentTaskContext(): TaskContext | null {
  return holder[KEY] ?? null;
}

export function setCurrentTaskContext(ctx: TaskContext | null): void {
  holder[KEY] = ctx;
}
