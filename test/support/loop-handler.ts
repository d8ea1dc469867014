/** Test helper: a fresh EventLoop with an exception handler of the test's, for the loop tests. */
import { EventLoop, type ExceptionContext } from '../../src/asyncio/index.js';

/** Runs `fn` with `handler` as the exception handler of a new loop, then puts none back. */
export async function withHandler(
  handler: (ctx: ExceptionContext) => void,
  fn: (loop: EventLoop) => Promise<void>,
): Promise<void> {
  const loop = new EventLoop();
  loop.setExceptionHandler(handler);
  try {
    await fn(loop);
  } finally {
    loop.setExceptionHandler(null);
    loop.close();
  }
}
