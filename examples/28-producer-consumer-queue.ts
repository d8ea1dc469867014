/**
 * Lesson 28: producer and consumers with a JoinableQueue.
 *
 * The producer puts jobs; two consumer threads take them, work, and call taskDone() for each;
 * the producer's join() resolves once every job was marked done. The queue lives in shared
 * memory: items cross between threads without a message per item. The consumers and the
 * producer meet at a Barrier first: a thread takes far longer to start than a job takes, so
 * without it the first consumer up would do every job before the second one began.
 */
import { JoinableQueue, Queue } from 'weft/queue';
import { Barrier, currentThread, Thread, task } from 'weft/threading';
import { defineLesson, runIfMain } from './lesson.js';

export const consumer = task(
  import.meta,
  async (
    jobs: JoinableQueue<{ id: number; size: number } | null>,
    log: Queue<string>,
    ready: Barrier,
  ) => {
    await ready.wait(); // every consumer is up before the first job is put
    for (;;) {
      const job = await jobs.get();
      if (job === null) {
        jobs.taskDone();
        return;
      }
      await new Promise((r) => setTimeout(r, job.size));
      log.putSync(`${currentThread().name} finished job ${job.id}`);
      jobs.taskDone();
    }
  },
);

const lesson = defineLesson({
  title: 'Producer/consumer: a JoinableQueue feeding two consumer threads',
  shows:
    "Consumers mark each job done with taskDone(); the producer's join() waits until all " +
    'are; a null per consumer tells them to stop.',
  module: 'queue',
  async main({ quick, log }) {
    const jobs = new JoinableQueue<{ id: number; size: number } | null>(4);
    const events = new Queue<string>();
    const ready = new Barrier(3);
    const consumers = ['consumer-A', 'consumer-B'].map(
      (name) => new Thread({ target: consumer, args: [jobs, events, ready], name }),
    );
    for (const t of consumers) t.start();
    await ready.wait();
    const n = quick ? 8 : 20;
    for (let id = 1; id <= n; id++) await jobs.put({ id, size: quick ? 20 : 50 });
    log(`Producer: put ${n} jobs (maxsize 4: put waited whenever the consumers fell behind).`);
    await jobs.join();
    log(`Producer: join() returned — all ${n} jobs are done.`);
    for (const _ of consumers) await jobs.put(null);
    for (const t of consumers) await t.join();
    const lines: string[] = [];
    while (!events.empty()) lines.push(await events.get());
    const by = (who: string) => lines.filter((l) => l.startsWith(who)).length;
    log(
      `consumer-A did ${by('consumer-A')} jobs, consumer-B did ${by('consumer-B')}; total ${lines.length}.`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
