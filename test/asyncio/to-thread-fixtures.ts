/** Marked functions for to-thread.test.ts: the pool's workers import this module to find them. */
import { GreenletExit } from '../../src/gevent/errors.js';
import { CancelledError } from '../../src/internal/errors.js';
import { task } from '../../src/internal/task-ref.js';

/** Raises a CancelledError of its own in the thread (no cancellation was requested). */
export const throwCancelled = task(import.meta, (msg: string) => {
  throw new CancelledError(msg);
});

/** Raises gevent's GreenletExit (a CancelledError) in the thread. */
export const throwGreenletExit = task(import.meta, (msg: string) => {
  throw new GreenletExit(msg);
});
