/**
 * Who still acts when this thread's event loop runs dry (Node's 'beforeExit').
 *
 * gevent's LoopExit (src/gevent/loop-exit.ts) fails a main-program wait at that moment, and the
 * code after the wait runs on; a weft Thread's worker (src/threading/thread-worker.ts) reports a
 * run() that can never settle at the same moment. Its listener is registered first, so without
 * this it would report a run() that LoopExit is about to resume. A claim says "a listener will
 * wake something at the next dry point": the stranded report waits for a dry point without one.
 */
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
