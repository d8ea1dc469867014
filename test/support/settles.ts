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
