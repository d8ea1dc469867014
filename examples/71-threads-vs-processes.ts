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

/** The wall time of `jobs` counts to `n` on the executor's workers, all submitted at once. */
async function timed(ex: Executor, jobs: number, n: number): Promise<number> {
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
    // Large enough that the counting, not a message to a worker or a time slice of the
    // scheduler, is what the clock measures; and the best of a few rounds, each way in turn, so
    // that a burst of other work on the machine does not decide the comparison.
    const n = quick ? 25_000_000 : 100_000_000;
    const rounds = quick ? 3 : 1;
    log(`${jobs} jobs, each counting to ${n.toLocaleString('en')}, on ${cores} cores.`);
    await using threads = new ThreadPoolExecutor({ maxWorkers: jobs });
    await using processes = new ProcessPoolExecutor({ maxWorkers: jobs });
    // Start every worker and compile its loop first: the comparison is about the work.
    const warm = (ex: Executor) =>
      Promise.all(Array.from({ length: jobs }, () => ex.submit(count, 1_000_000)));
    await Promise.all([warm(threads), warm(processes)]);
    count(1_000_000);
    const best = { sequential: Infinity, threads: Infinity, processes: Infinity };
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      for (let k = 0; k < jobs; k++) count(n);
      best.sequential = Math.min(best.sequential, performance.now() - t0);
      best.threads = Math.min(best.threads, await timed(threads, jobs, n));
      best.processes = Math.min(best.processes, await timed(processes, jobs, n));
    }
    const of = rounds > 1 ? ` (best of ${rounds} rounds)` : '';
    const speedup = (ms: number) => Number((best.sequential / ms).toFixed(1));
    log(`  sequential:          ${best.sequential.toFixed(0).padStart(5)} ms${of}`);
    log(
      `  ThreadPoolExecutor:  ${best.threads.toFixed(0).padStart(5)} ms${of}: ${speedup(best.threads).toFixed(1)}×`,
    );
    log(
      `  ProcessPoolExecutor: ${best.processes.toFixed(0).padStart(5)} ms${of}: ${speedup(best.processes).toFixed(1)}×`,
    );
    if (speedup(best.threads) >= 1.3 && speedup(best.processes) >= 1.3) {
      log('Both executors beat running the jobs one after another: the work ran on several cores.');
    } else {
      log('Little speed-up here: this machine did not give the workers several free cores (other');
      log('work on it, one core, or a CPU quota). On free cores both executors spread the work.');
    }
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
