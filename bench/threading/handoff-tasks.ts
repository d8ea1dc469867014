/**
 * Thread targets of primitives.bench.ts (a task module: no top-level effects). Each target serves
 * rounds (control.ts) as one of two sides, `me` 0 or 1, doing `n` operations a round; side 1
 * adds 1 to `tally[0]` per operation (the Barrier rows add their arrival index: 0 + 1 per
 * generation), so the main thread can check every round's count.
 */
import { type Barrier, type Condition, type Event, task } from '../../src/threading/index.js';
import { serveRounds } from './control.js';
import { barrierWait, takeTurn, takeTurnAsync } from './futex-floors.js';

/**
 * Side 0 pings: sets `ping`, waits for `pong`, clears it. Side 1 waits for `ping`, clears it,
 * sets `pong`. Each side clears the Event it waited on before it sets the other, so no set is
 * seen twice. One operation is a round trip.
 */
export const eventSync = task(
  import.meta,
  (ctl: Int32Array, me: number, ping: Event, pong: Event, tally: Int32Array) =>
    serveRounds(ctl, (n) => {
      if (me === 0) {
        for (let i = 0; i < n; i++) {
          ping.set();
          pong.waitSync();
          pong.clear();
        }
      } else {
        for (let i = 0; i < n; i++) {
          ping.waitSync();
          ping.clear();
          Atomics.add(tally, 0, 1);
          pong.set();
        }
      }
    }),
);

export const eventAsync = task(
  import.meta,
  (ctl: Int32Array, me: number, ping: Event, pong: Event, tally: Int32Array) =>
    serveRounds(ctl, async (n) => {
      if (me === 0) {
        for (let i = 0; i < n; i++) {
          ping.set();
          await pong.wait();
          pong.clear();
        }
      } else {
        for (let i = 0; i < n; i++) {
          await ping.wait();
          ping.clear();
          Atomics.add(tally, 0, 1);
          pong.set();
        }
      }
    }),
);

/**
 * Python's turn-taking with a Condition: under the lock, wait until `turn[0]` is mine, give the
 * turn to the other side, notify. One operation is a round trip (a turn of each side).
 */
export const conditionSync = task(
  import.meta,
  (ctl: Int32Array, me: number, cond: Condition, turn: Int32Array, tally: Int32Array) =>
    serveRounds(ctl, (n) => {
      const other = 1 - me;
      for (let i = 0; i < n; i++) {
        cond.acquireSync();
        try {
          while (turn[0] !== me) cond.waitSync();
          turn[0] = other;
          if (me === 1) tally[0]!++;
          cond.notify();
        } finally {
          cond.release();
        }
      }
    }),
);

export const conditionAsync = task(
  import.meta,
  (ctl: Int32Array, me: number, cond: Condition, turn: Int32Array, tally: Int32Array) =>
    serveRounds(ctl, async (n) => {
      const other = 1 - me;
      for (let i = 0; i < n; i++) {
        await cond.acquire();
        try {
          while (turn[0] !== me) await cond.wait();
          turn[0] = other;
          if (me === 1) tally[0]!++;
          cond.notify();
        } finally {
          cond.release();
        }
      }
    }),
);

/** The floor of both ping-pongs: one turn word, `Atomics.wait`/`notify`. */
export const turnSync = task(
  import.meta,
  (ctl: Int32Array, me: number, a: Int32Array, tally: Int32Array) =>
    serveRounds(ctl, (n) => {
      const other = 1 - me;
      for (let i = 0; i < n; i++) {
        takeTurn(a, me, other);
        if (me === 1) Atomics.add(tally, 0, 1);
      }
    }),
);

export const turnAsync = task(
  import.meta,
  (ctl: Int32Array, me: number, a: Int32Array, tally: Int32Array) =>
    serveRounds(ctl, async (n) => {
      const other = 1 - me;
      // A pending Atomics.waitAsync does not keep the thread's event loop alive (weft's waits
      // hold a handle for that): one timer for the round, not one per park.
      const alive = setInterval(() => {}, 1 << 30);
      try {
        for (let i = 0; i < n; i++) {
          await takeTurnAsync(a, me, other);
          if (me === 1) Atomics.add(tally, 0, 1);
        }
      } finally {
        clearInterval(alive);
      }
    }),
);

export const barrierSync = task(
  import.meta,
  (ctl: Int32Array, _me: number, b: Barrier, tally: Int32Array) =>
    serveRounds(ctl, (n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += b.waitSync();
      Atomics.add(tally, 0, sum);
    }),
);

export const barrierAsync = task(
  import.meta,
  (ctl: Int32Array, _me: number, b: Barrier, tally: Int32Array) =>
    serveRounds(ctl, async (n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += await b.wait();
      Atomics.add(tally, 0, sum);
    }),
);

export const futexBarrier = task(
  import.meta,
  (ctl: Int32Array, _me: number, a: Int32Array, tally: Int32Array) =>
    serveRounds(ctl, (n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += barrierWait(a, 2);
      Atomics.add(tally, 0, sum);
    }),
);
