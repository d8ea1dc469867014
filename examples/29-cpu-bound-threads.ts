/**
 * Lesson 29: CPU-bound work on threads versus one after another.
 *
 * Python's threads cannot run Python code in parallel (the GIL): 8 threads counting to 10^8
 * take as long as counting 8 times in a row. weft's threads are Node workers, each with its
 * own engine: on a machine with several cores they really run at the same time. The threads
 * are started first and wait at a Barrier, so the timing measures the counting only.
 */
import { availableParallelism } from 'node:os';
import { Barrier, type SharedArray, Array as SharedArrayOf, Thread, task } from 'weft/threading';
import { defineLesson, runIfMain } from './lesson.js';

export function count(n: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x + (i % 7)) | 0;
  return x;
}

export const countInThread = task(
  import.meta,
  (start: Barrier, n: number, ends: SharedArray, k: number) => {
    start.waitSync();
    let x = 0;
    for (let i = 0; i < n; i++) x = (x + (i % 7)) | 0;
    // When this thread finished counting, on the clock all threads share.
    ends.set(k, performance.timeOrigin + performance.now());
    return x;
  },
);

const lesson = defineLesson({
  title: 'CPU-bound: 8 counting tasks on threads versus sequentially',
  shows:
    'Counting is pure CPU work. Sequentially the times add up; on weft threads they overlap ' +
    "across the cores — the speed-up Python's threads cannot give.",
  module: 'threading',
  async main({ quick, log }) {
    const tasks = quick ? 4 : 8;
    const n = quick ? 10_000_000 : 100_000_000;
    log(
      `${tasks} tasks, each counting to ${n.toLocaleString('en')}, on ${availableParallelism()} cores.`,
    );
    let t0 = performance.now();
    for (let k = 0; k < tasks; k++) count(n);
    const sequential = performance.now() - t0;
    log(`Sequential: ${sequential.toFixed(0)} ms`);
    const start = new Barrier(tasks + 1);
    const ends = SharedArrayOf('d', tasks);
    const threads = Array.from(
      { length: tasks },
      (_, k) => new Thread({ target: countInThread, args: [start, n, ends, k] }),
    );
    for (const t of threads) t.start();
    await start.wait();
    t0 = performance.timeOrigin + performance.now();
    for (const t of threads) await t.join();
    const parallel = Math.max(...ends.toArray()) - t0;
    log(`On ${tasks} threads: ${parallel.toFixed(0)} ms (after all had started)`);
    const speedup = sequential / parallel;
    log(
      `Speed-up: ${speedup.toFixed(1)}× — at most the number of cores (${availableParallelism()}).`,
    );
    if (speedup < 1.3) {
      log('Near 1× here: this machine gives its threads about one core of CPU time in all (shared');
      log('hardware threads or a CPU quota). On a machine with free cores the threads overlap.');
    }
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
