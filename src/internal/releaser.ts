/**
 * A handle whose disposal runs `release` once: `using _ = await lock.hold()`. Shared by the
 * asyncio and threading locks and semaphores: a second disposal (sync then async) does nothing.
 */
export function releaser(release: () => void): Disposable & AsyncDisposable {
  let done = false;
  const dispose = (): void => {
    if (done) return;
    done = true;
    release();
  };
  return { [Symbol.dispose]: dispose, [Symbol.asyncDispose]: async () => dispose() };
}
