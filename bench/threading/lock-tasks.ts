/** Thread targets of lock.bench.ts (a task module: no top-level effects). */
import { type Lock, type SharedValue, task } from '../../src/threading/index.js';
import { serveRounds } from './control.js';
import { futexLock, futexUnlock } from './futex-mutex.js';

export const weftSyncContender = task(
  import.meta,
  (ctl: Int32Array, lock: Lock, counter: SharedValue) =>
    serveRounds(ctl, (n) => {
      const v = counter._view as Int32Array;
      for (let i = 0; i < n; i++) {
        lock.acquireSync();
        v[0]!++;
        lock.release();
      }
    }),
);

export const weftAsyncContender = task(
  import.meta,
  (ctl: Int32Array, lock: Lock, counter: SharedValue) =>
    serveRounds(ctl, async (n) => {
      const v = counter._view as Int32Array;
      for (let i = 0; i < n; i++) {
        await lock.acquire();
        v[0]!++;
        lock.release();
      }
    }),
);

export const futexContender = task(
  import.meta,
  (ctl: Int32Array, m: Int32Array, counter: Int32Array) =>
    serveRounds(ctl, (n) => {
      for (let i = 0; i < n; i++) {
        futexLock(m, 0);
        counter[0]!++;
        futexUnlock(m, 0);
      }
    }),
);
