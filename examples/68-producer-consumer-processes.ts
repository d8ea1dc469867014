/**
 * Lesson 68: producers and consumers. Two producer processes put work on a JoinableQueue; two
 * daemon consumer processes take it and call `taskDone()`. The parent's `join()` returns once
 * every item has been handled — the daemons are then simply left to end with the parent.
 */
import { JoinableQueue, Process, Queue, task } from 'weft/multiprocessing';
import { defineLesson, runIfMain } from './lesson.js';

export const produce = task(
  import.meta,
  async (q: JoinableQueue<string>, name: string, n: number) => {
    for (let i = 1; i <= n; i++) await q.put(`${name}#${i}`);
  },
);

export const consume = task(
  import.meta,
  async (q: JoinableQueue<string>, log: Queue<string>, name: string) => {
    for (;;) {
      const item = await q.get();
      await new Promise((r) => setTimeout(r, 10));
      await log.put(`${name} handled ${item}`);
      q.taskDone();
    }
  },
);

const lesson = defineLesson({
  title: 'Producer/consumer: two producers, two daemon consumers, JoinableQueue.join()',
  shows: 'join() waits until every item put has been marked done by a consumer process.',
  module: 'multiprocessing',
  async main({ quick, log }) {
    const n = quick ? 3 : 6;
    const q = new JoinableQueue<string>();
    const lines = new Queue<string>();
    const consumers = ['consumer-1', 'consumer-2'].map(
      (name) => new Process({ target: consume, args: [q, lines, name], name, daemon: true }),
    );
    const producers = ['A', 'B'].map(
      (name) => new Process({ target: produce, args: [q, name, n], name: `producer-${name}` }),
    );
    for (const p of [...consumers, ...producers]) p.start();
    for (const p of producers) await p.join();
    await q.join();
    log(`All ${2 * n} items are done. Who handled what:`);
    for (let i = 0; i < 2 * n; i++) log(`  ${await lines.get()}`);
    for (const c of consumers) c.terminate();
    for (const c of consumers) await c.join();
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
