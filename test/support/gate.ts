/**
 * A native promise and the function that settles it: a wait weft does not know (as `fs` or
 * `fetch`), for tests of what reaches a task, or a greenlet, while it is on such a wait.
 */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}
