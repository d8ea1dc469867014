/**
 * Lesson 67: inter-process communication through a Queue. A child computes squares and puts
 * them on a Queue; the parent gets them, in order.
 */
import { Process, Queue, task } from 'weft/multiprocessing';
import { defineLesson, runIfMain } from './lesson.js';

export const squares = task(import.meta, async (out: Queue<[number, number] | null>, n: number) => {
  for (let i = 1; i <= n; i++) await out.put([i, i * i]);
  await out.put(null);
});

const lesson = defineLesson({
  title: 'IPC through a Queue',
  shows:
    'A child sends results to its parent through a multiprocessing Queue; items arrive in order.',
  module: 'multiprocessing',
  async main({ quick, log }) {
    const q = new Queue<[number, number] | null>();
    const p = new Process({ target: squares, args: [q, quick ? 5 : 10] });
    p.start();
    for (let item = await q.get(); item !== null; item = await q.get())
      log(`  ${item[0]}² = ${item[1]}`);
    await p.join();
    log(`The child exited with ${p.exitcode}.`);
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
