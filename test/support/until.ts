/**
 * Polls `cond` until it holds; rejects naming `what` after `ms`. The bound is generous on
 * purpose: it only turns a hang into a failure, and a loaded 2-core machine can be slow (tests
 * assert order and state, never speed).
 */
export async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
