/**
 * Lesson 24: the ticket counter — a race, then a Lock.
 *
 * Eight threads sell tickets from one JSON file: read the count, pause (serving the customer),
 * write the count minus one. Without a lock two threads read the same count and both sell "the
 * last ticket": the file says tickets were left while more were sold than existed. With a Lock
 * around read-modify-write, the sales add up exactly. The threads really run in parallel here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Barrier, Lock, type SharedValue, Thread, task, Value } from 'weft/threading';
import { defineLesson, runIfMain } from './lesson.js';

export const sell = task(
  import.meta,
  (file: string, lock: Lock | null, sold: SharedValue, pauseMs: number, open: Barrier) => {
    const pause = new Int32Array(new SharedArrayBuffer(4));
    open.waitSync(); // the counter opens: every seller starts at once
    for (;;) {
      lock?.acquireSync();
      try {
        let left: number;
        try {
          left = (JSON.parse(readFileSync(file, 'utf8')) as { left: number }).left;
        } catch {
          continue; // without the lock, another seller may be half-way through writing the file
        }
        if (left <= 0) return;
        Atomics.wait(pause, 0, 0, pauseMs); // serving the customer
        writeFileSync(file, JSON.stringify({ left: left - 1 }));
        Atomics.add(sold._view as Int32Array, 0, 1);
      } finally {
        lock?.release();
      }
    }
  },
);

async function sale(
  withLock: boolean,
  tickets: number,
  pauseMs: number,
  sellersCount: number,
): Promise<{ sold: number; left: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-tickets-'));
  const file = join(dir, 'tickets.json');
  writeFileSync(file, JSON.stringify({ left: tickets }));
  const sold = Value('i', 0);
  const lock = withLock ? new Lock() : null;
  const open = new Barrier(sellersCount);
  const sellers = Array.from(
    { length: sellersCount },
    (_, i) =>
      new Thread({
        target: sell,
        args: [file, lock, sold, pauseMs, open],
        name: `seller-${i + 1}`,
      }),
  );
  for (const t of sellers) t.start();
  for (const t of sellers) await t.join();
  const { left } = JSON.parse(readFileSync(file, 'utf8')) as { left: number };
  rmSync(dir, { recursive: true, force: true });
  return { sold: sold.value, left };
}

const lesson = defineLesson({
  title: 'The ticket counter: threads overselling without a Lock, exact with one',
  shows:
    'Read-modify-write of a shared file by parallel threads loses updates; a threading.Lock ' +
    'makes each sale atomic, so sold + left equals the tickets there were.',
  module: 'threading',
  async main({ quick, log }) {
    const tickets = quick ? 12 : 100;
    const sellers = quick ? 4 : 8;
    const pauseMs = quick ? 2 : 5;
    log(`${tickets} tickets, ${sellers} sellers.`);
    const racy = await sale(false, tickets, pauseMs, sellers);
    log(
      `Without a lock: sold ${racy.sold}, file says ${racy.left} left — ${racy.sold > tickets ? `oversold by ${racy.sold - tickets}` : 'lucky this time'}`,
    );
    const safe = await sale(true, tickets, pauseMs, sellers);
    log(
      `With a Lock:    sold ${safe.sold}, file says ${safe.left} left — ${safe.sold === tickets && safe.left === 0 ? 'exact' : 'WRONG'}`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
