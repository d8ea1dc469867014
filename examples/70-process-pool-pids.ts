/**
 * Lesson 70: a process pool reuses its processes. Ten tasks report the pid that ran them: at
 * most as many distinct pids as the pool has workers — no process is started per task.
 */
import { ProcessPoolExecutor, task } from 'weft/futures';
import { defineLesson, runIfMain } from './lesson.js';

export const whoRuns = task(import.meta, async (i: number) => {
  await new Promise((r) => setTimeout(r, 20));
  return [i, process.pid] as const;
});

const lesson = defineLesson({
  title: "The process pool's pids stay the same across tasks",
  shows:
    'Workers are started on demand and reused: ten tasks run in no more processes than the ' +
    'pool has workers (2), not in a process each.',
  module: 'concurrent.futures',
  async main({ log }) {
    await using ex = new ProcessPoolExecutor({ maxWorkers: 2 });
    const pids = new Set<number>();
    for await (const [i, pid] of ex.map(whoRuns, [Array.from({ length: 10 }, (_, i) => i)])) {
      pids.add(pid);
      log(`  task ${i} ran in pid ${pid}`);
    }
    // Not always 2: a worker that is ready takes the next calls, and the first one may have run
    // them all before the second is up.
    log(
      `${pids.size} distinct ${pids.size === 1 ? 'pid' : 'pids'} for 10 tasks, at most the pool's ` +
        `2 workers (this process is ${process.pid}).`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
