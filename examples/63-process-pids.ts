/**
 * Lesson 63: process ids. Every process has its own pid; a child's parent pid is the pid of the
 * process that started it, and `parentProcess()` names it.
 */
import { currentProcess, Process, parentProcess, Queue, task } from 'weft/multiprocessing';
import { defineLesson, runIfMain } from './lesson.js';

export const report = task(import.meta, async (out: Queue<string>) => {
  await out.put(
    `${currentProcess().name}: pid ${process.pid}, parent pid ${process.ppid} (${parentProcess()?.name})`,
  );
});

const lesson = defineLesson({
  title: 'pids and parent pids',
  shows: 'Each child reports its own pid and its parent pid — the pid of this process.',
  module: 'multiprocessing',
  async main({ log }) {
    log(`${currentProcess().name}: pid ${process.pid}, parent ${parentProcess()}`);
    const out = new Queue<string>();
    const ps = [1, 2].map(() => new Process({ target: report, args: [out] }));
    for (const p of ps) p.start();
    const lines = [await out.get(), await out.get()].sort();
    for (const line of lines) log(`  ${line}`);
    for (const p of ps) await p.join();
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
