/**
 * What a thread (a weft Thread, a pool worker) must finish before it ends, registered by the
 * machinery that needs it — multiprocessing's broker client registers "deliver what I queued" —
 * so that the thread's own code does not import that machinery (weft/threading stays free of
 * multiprocessing).
 */
// On globalThis under a registered symbol: two copies of weft in one thread (sources under tsx
// and dist/) share the broker client, so they must share its hook too.
const KEY = Symbol.for('weft.threadExitHooks');
const holder = globalThis as unknown as { [KEY]?: Set<() => Promise<void>> };
holder[KEY] ??= new Set();
const hooks = holder[KEY];

export function beforeThreadExit(fn: () => Promise<void>): void {
  hooks.add(fn);
}

/** Runs every hook, one after another; never rejects. */
export async function runBeforeThreadExit(): Promise<void> {
  for (const fn of hooks) {
    try {
      await fn();
    } catch {
      // a hook that fails must not keep the thread from ending
    }
  }
}
