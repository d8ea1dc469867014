/**
 * `p`, or a failure naming `what` once `ms` have passed without it settling: turns a hang into a
 * failed test. Not a speed check: the bound is far above what any wait takes on a loaded machine.
 */
export async function settles<T>(p: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still not settled after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether `p` is still unsettled after `ms` of wall time: for a wait that nothing releases until
 * the test does, so it tells a wait that waits from one that ends at once. Not a speed check: a
 * loaded machine only makes a wait that waits look more so.
 */
export async function pendingAfter(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((r) => setTimeout(r, ms));
  return !settled;
}
