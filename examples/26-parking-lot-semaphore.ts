/**
 * Lesson 26: a parking lot with 5 spaces and 25 cars — Semaphore(5).
 *
 * Each car is a thread. A Semaphore(5) holds the free spaces: a car acquires a space (waiting
 * while the lot is full), parks for a while, and releases it. A shared Value counts the cars
 * inside; it never goes above 5. The cars wait at a Barrier and reach the gate together: a
 * thread takes longer to start than a car to park, so without it the cars would come one by one
 * and the lot would never fill.
 */
import { Queue } from 'weft/queue';
import { Barrier, Semaphore, type SharedValue, Thread, task, Value } from 'weft/threading';
import { defineLesson, runIfMain } from './lesson.js';

export const car = task(
  import.meta,
  async (
    lot: Semaphore,
    inside: SharedValue,
    most: SharedValue,
    log: Queue<string>,
    id: number,
    ms: number,
    arrive: Barrier,
  ) => {
    await arrive.wait();
    if (!(await lot.acquire({ blocking: false }))) {
      log.putSync(`car ${String(id).padStart(2)} waits at the gate (the lot is full)`);
      await lot.acquire();
    }
    try {
      const now = Atomics.add(inside._view as Int32Array, 0, 1) + 1;
      for (let m = most.value; now > m; m = most.value)
        if (Atomics.compareExchange(most._view as Int32Array, 0, m, now) === m) break;
      log.putSync(`car ${String(id).padStart(2)} parks   (${now} inside)`);
      await new Promise((r) => setTimeout(r, ms));
      Atomics.sub(inside._view as Int32Array, 0, 1);
      log.putSync(`car ${String(id).padStart(2)} leaves`);
    } finally {
      lot.release();
    }
  },
);

const lesson = defineLesson({
  title: 'Parking lot: a Semaphore lets only so many car threads in at once',
  shows:
    'A Semaphore counts free spaces across threads: cars wait at the gate while the lot is ' +
    'full, and the number inside never exceeds the spaces.',
  module: 'threading',
  async main({ quick, log }) {
    const spaces = quick ? 3 : 5;
    const cars = quick ? 6 : 25;
    const lot = new Semaphore(spaces);
    const inside = Value('i', 0);
    const most = Value('i', 0);
    const events = new Queue<string>();
    log(`${cars} cars, ${spaces} spaces.`);
    const arrive = new Barrier(cars);
    const threads = Array.from(
      { length: cars },
      (_, i) =>
        new Thread({
          target: car,
          args: [lot, inside, most, events, i + 1, quick ? 200 : 400, arrive],
        }),
    );
    for (const t of threads) t.start();
    for (const t of threads) await t.join();
    while (!events.empty()) log(`  ${await events.get()}`);
    log(
      `Most cars inside at once: ${most.value} (spaces: ${spaces}); free spaces at the end: ${lot.value}`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
