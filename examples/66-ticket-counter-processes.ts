/**
 * Lesson 66: the ticket counter, with processes. Four processes sell tickets from one shared
 * counter (a `Value`). Read-then-write without a lock loses sales when two processes interleave;
 * with the value's lock around the read-modify-write, every sale counts. The sellers wait at a
 * Barrier and start together: a process takes far longer to start than to make its sales, so
 * without it each would sell alone and the race would never show.
 */
import { Barrier, Lock, Process, type SharedValue, task, Value } from 'weft/multiprocessing';
import { defineLesson, runIfMain } from './lesson.js';

export const sell = task(
  import.meta,
  async (sold: SharedValue, lock: Lock | null, n: number, open: Barrier) => {
    await open.wait(); // the counter opens: every seller starts at once
    for (let i = 0; i < n; i++) {
      const once = async (): Promise<void> => {
        const x = await sold.get();
        // Another process may read the same x right now: without the lock, one sale is lost.
        await new Promise((r) => setImmediate(r));
        await sold.set(x + 1);
      };
      if (lock) await lock.run(once);
      else await once();
    }
  },
);

async function round(withLock: boolean, n: number): Promise<number> {
  const sold = Value('i', 0);
  const lock = withLock ? new Lock() : null;
  const open = new Barrier(4);
  const ps = Array.from(
    { length: 4 },
    () => new Process({ target: sell, args: [sold, lock, n, open] }),
  );
  for (const p of ps) p.start();
  for (const p of ps) await p.join();
  return sold.get();
}

const lesson = defineLesson({
  title: 'Ticket counter with processes: a race, then a Lock',
  shows: 'Four processes update one shared Value; only the lock makes the total exact.',
  module: 'multiprocessing',
  async main({ quick, log }) {
    const n = quick ? 50 : 200;
    log(`4 processes × ${n} sales each = ${4 * n} tickets expected.`);
    const racy = await round(false, n);
    log(
      `Without a lock: ${racy} tickets counted — ${racy < 4 * n ? `${4 * n - racy} sales lost` : 'lucky this time'}`,
    );
    const safe = await round(true, n);
    log(`With a Lock:    ${safe} tickets counted — ${safe === 4 * n ? 'exact' : 'WRONG'}`);
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
