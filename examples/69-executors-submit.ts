/**
 * Lesson 69: executors. A ThreadPoolExecutor and a ProcessPoolExecutor run the same function:
 * `submit` returns a Future; `result()` waits for it; `addDoneCallback` runs when it is done.
 */
import {
  type Executor,
  type Future,
  ProcessPoolExecutor,
  ThreadPoolExecutor,
  task,
} from 'weft/futures';
import { defineLesson, runIfMain } from './lesson.js';

export const slowSquare = task(import.meta, async (x: number, ms: number) => {
  await new Promise((r) => setTimeout(r, ms));
  return x * x;
});

async function demo(
  ex: Executor,
  label: string,
  ms: number,
  log: (...a: unknown[]) => void,
): Promise<void> {
  const fs: Future<number>[] = [1, 2, 3].map((x) => ex.submit(slowSquare, x, ms * x));
  for (const f of fs)
    f.addDoneCallback((done) => log(`  [${label}] callback: done = ${done.done()}`));
  for (const [i, f] of fs.entries())
    log(`  [${label}] result of task ${i + 1}: ${await f.result()}`);
}

const lesson = defineLesson({
  title: 'ThreadPoolExecutor and ProcessPoolExecutor: submit, result, addDoneCallback',
  shows:
    'The same calls on threads and on processes; callbacks run in the caller as each future completes.',
  module: 'concurrent.futures',
  async main({ quick, log }) {
    const ms = quick ? 20 : 200;
    {
      await using ex = new ThreadPoolExecutor({ maxWorkers: 2 });
      await demo(ex, 'threads', ms, log);
    }
    {
      await using ex = new ProcessPoolExecutor({ maxWorkers: 2 });
      await demo(ex, 'processes', ms, log);
    }
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
