/**
 * Lesson 03: `createTask` with names, and `currentTask()` from inside a task.
 */
import { createTask, currentTask, gather, run, sleep } from 'weft/asyncio';
import { defineLesson, runIfMain } from './lesson.js';

const lesson = defineLesson({
  title: 'createTask() with names, and currentTask() inside each task',
  shows:
    'A task runs a function concurrently with its creator, starting when the creator next ' +
    'awaits. Named tasks say who they are through currentTask(), across every await; unnamed ones ' +
    'get Task-N.',
  module: 'asyncio',
  async main({ quick, log }) {
    const unit = quick ? 10 : 300;
    async function worker(rounds: number): Promise<string> {
      const me = currentTask()!;
      for (let i = 1; i <= rounds; i++) {
        log(`  ${me.getName()}: round ${i} of ${rounds}`);
        await sleep(unit);
      }
      return `${me.getName()} finished`;
    }
    await run(async () => {
      log(`The main task is ${currentTask()!.getName()}.`);
      const a = createTask(() => worker(2), { name: 'downloader' });
      const b = createTask(() => worker(2), { name: 'parser' });
      const c = createTask(() => worker(1));
      log(`Created ${a.getName()}, ${b.getName()} and an unnamed one, ${c.getName()}.`);
      log('Nothing has run yet: tasks start when the main task awaits.');
      const results = await gather(a, b, c);
      log(`gather() collected: ${results.join('; ')}`);
    });
    log(`Back outside every task, currentTask() is ${currentTask()}.`);
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
