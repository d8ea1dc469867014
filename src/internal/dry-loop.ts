/**
 * Who still acts when this thread's event loop runs dry (Node's 'beforeExit').
 *
 * gevent's LoopExit (src/gevent/loop-exit.ts) fails a main-program wait at that moment, and the
 * code after the wait runs on; a weft Thread's worker (src/threading/thread-worker.ts) reports a
 * run() that can never settle at the same moment. Its listener is registered first, so without
 * this it would report a run() that LoopExit is about to resume. A claim says "a listener will
 * wake something at the next dry point": the stranded report waits for a dry point without one.
 */
import { readyCount } from './scheduler.js';

let claims = 0;

/** Claims the next dry points until the returned function is called (once). */
export function claimDryLoop(): () => void {
  claims++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    claims--;
  };
}

/** Whether some listener will still wake something when the loop runs dry. */
export function dryLoopClaimed(): boolean {
  return claims > 0;
}

/**
 * Calls `onDry` at each dry point of this thread's loop — Node's `beforeExit`, with weft's ready
 * queue empty too, so no task or greenlet will run again by itself — until the returned function
 * is called (once; later calls do nothing). Holds a claim on the dry points meanwhile.
 *
 * When weft's ready queue is not empty, what it runs may end the wait or start more work; it runs
 * in microtasks, which alone would not make Node's loop turn again, so the next dry point would
 * never come: one more turn of the loop is asked for instead.
 */
export function onDryLoop(onDry: () => void): () => void {
  const release = claimDryLoop();
  const listener = (): void => {
    if (readyCount() > 0) {
      setImmediate(noop);
      return;
    }
    onDry();
  };
  process.on('beforeExit', listener);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    process.off('beforeExit', listener);
    release();
  };
}

function noop(): void {}
