/**
 * Lesson 22: sharing data between threads with Value.
 *
 * Python's threads share every variable; Node's workers are isolates that share no heap, so a
 * module-level counter would be a different variable in each thread. Shared memory has to be
 * asked for: Value('i', 0) is one integer in a SharedArrayBuffer that every thread it is
 * passed to reads and writes — and, as in Python, `+=` on it needs its lock.
 */
import { type SharedValue, Thread, task, Value } from 'weft/threading';
import { defineLesson, runIfMain } from './lesson.js';

let moduleCounter = 0;

export const addMany = task(import.meta, (shared: SharedValue, n: number) => {
  const lock = shared.getLock();
  for (let i = 0; i < n; i++) {
    lock.runSync(() => {
      shared.value += 1;
    });
    moduleCounter += 1; // this thread's own copy of the module variable
  }
});

const lesson = defineLesson({
  title: 'Shared data through Value, since threads share no heap',
  shows:
    'Four threads add to a Value under its lock and to a module variable: the Value ends at ' +
    "the exact total, the main thread's module variable stays 0 (each worker has its own).",
  module: 'threading',
  async main({ quick, log }) {
    const n = quick ? 5_000 : 100_000;
    const shared = Value('i', 0);
    const threads = [1, 2, 3, 4].map(() => new Thread({ target: addMany, args: [shared, n] }));
    for (const t of threads) t.start();
    for (const t of threads) await t.join();
    log(`4 threads × ${n} increments`);
    log(`Value('i') under its lock: ${shared.value} (expected ${4 * n})`);
    log(
      `module variable in the main thread: ${moduleCounter} — the workers changed their own copies`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
