/**
 * Hook lists that machinery registers into so that the code running them need not import it
 * (a thread's end runs multiprocessing's "deliver what I queued" without weft/threading importing
 * multiprocessing). Kept on globalThis under a registered symbol: two copies of weft in one
 * thread (sources under tsx and dist/) share the broker client, so they share its hooks too.
 */
export function sharedHooks<F extends (...a: never[]) => unknown>(name: string): Set<F> {
  const key = Symbol.for(`weft.hooks.${name}`);
  const holder = globalThis as unknown as Record<symbol, Set<F> | undefined>;
  let hooks = holder[key];
  if (hooks === undefined) {
    hooks = new Set();
    holder[key] = hooks;
  }
  return hooks;
}
