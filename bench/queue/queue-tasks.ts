/** Thread targets of queue.bench.ts (a task module: no top-level effects). */
import type { Queue } from '../../src/queue/index.js';
import { task } from '../../src/threading/index.js';
import { serveRounds } from '../threading/control.js';

const KIB = 'x'.repeat(1024);

export const producer = task(
  import.meta,
  (ctl: Int32Array, q: Queue<unknown>, item: string, mode: string) =>
    serveRounds(ctl, async (n) => {
      if (mode === 'sync') {
        if (item === 'int') for (let i = 0; i < n; i++) q.putSync(i);
        else for (let i = 0; i < n; i++) q.putSync(KIB);
      } else {
        if (item === 'int') for (let i = 0; i < n; i++) await q.put(i);
        else for (let i = 0; i < n; i++) await q.put(KIB);
      }
    }),
);

export const consumer = task(import.meta, (ctl: Int32Array, q: Queue<unknown>, mode: string) =>
  serveRounds(ctl, async (n) => {
    if (mode === 'sync') for (let i = 0; i < n; i++) q.getSync();
    else for (let i = 0; i < n; i++) await q.get();
  }),
);

/** Produces a round, then waits until every item was marked done. */
export const joinProducer = task(import.meta, (ctl: Int32Array, q: Queue<number>) =>
  serveRounds(ctl, (n) => {
    for (let i = 0; i < n; i++) q.putSync(i);
    q.joinSync();
  }),
);

/** Gets and marks done until the sentinel -1. */
export const joinConsumer = task(import.meta, (q: Queue<number>) => {
  for (;;) {
    const x = q.getSync();
    q.taskDone();
    if (x === -1) return;
  }
});
