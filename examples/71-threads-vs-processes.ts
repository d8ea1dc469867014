/**
 * Lesson 71: CPU-bound work on threads versus processes. In Python only processes speed up
 * pure-Python CPU work (the GIL); in weft both are parallel — threads start faster and share
 * memory, processes are isolated. Both beat running the work one piece after another.
 */
import { availableParallelism } from 'node:os';
import { type Executor, ProcessPoolExecutor, ThreadPoolExecutor, task } from 'weft/futures';
import { defineLesson, runIfMain } from './lesson.js';

export const count = task(import.meta, (n: number) => {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x + (i % 7)) | 0;
  return x;
});

async function timed(ex: Executor, jobs: number, n: number): Promise<number> {
  // Warm the workers first: the comparison is about the work, not start-up.
  await Promise.all(Array.from({ length: jobs }, () => ex.submit(count, 1)));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: jobs }, () => ex.submit(count, n)));
  return performance.now() - t0;
}

const lesson = defineLesson({
  title: 'CPU-bound: threads versus processes versus sequential',
  shows:
    'Counting is pure CPU work: executors on threads and on processes both spread it over the cores.',
  module: 'concurrent.futures',
  async main({ quick, log }) {
    const cores = availableParallelism();
    const jobs = Math.max(2, cores);
    const n = quick ? 5_000_000 : 100_000_000;
    log(`${jobs} jobs, each counting to ${n.toLocaleString('en')}, on ${cores} cores.`);
    const t0 = performance.now();
    for (let k = 0; k < jobs; k++) count(n);
    log(`  sequential:          ${(performance.now() - t0).toFixed(0)} ms`);
    {
      await using ex = new ThreadPoolExecutor({ maxWorkers: jobs });
      log(`  ThreadPoolExecutor:  ${(await timed(ex, jobs, n)).toFixed(0)} ms`);
    }
    {
      await using ex = new ProcessPoolExecutor({ maxWorkers: jobs });
      log(`  ProcessPoolExecutor: ${(await timed(ex, jobs, n)).toFixed(0)} ms`);
    }
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
