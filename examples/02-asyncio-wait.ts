/**
 * Lesson 02: `asyncio.wait` — wait for several tasks, and decide when "enough" is done.
 */
import {
  ALL_COMPLETED,
  createTask,
  FIRST_COMPLETED,
  run,
  sleep,
  type Task,
  wait,
} from 'weft/asyncio';
import { defineLesson, runIfMain } from './lesson.js';

const lesson = defineLesson({
  title: 'wait() on several tasks: FIRST_COMPLETED, a timeout, then ALL_COMPLETED',
  shows:
    'wait() returns { done, pending } Sets and never raises or cancels: with FIRST_COMPLETED it ' +
    'returns at the first finished task, with a timeout it returns what is done by then, and ' +
    'the tasks still pending keep running until you wait again.',
  module: 'asyncio',
  async main({ quick, log }) {
    const unit = quick ? 100 : 1000;
    // wait() gives back the objects it was given: here, the named tasks.
    const names = (set: Set<unknown>) =>
      [...set]
        .map((t) => (t as Task<string>).getName())
        .sort()
        .join(', ') || 'none';
    await run(async () => {
      // Every time below is counted from this one start, not from when a task or a wait begins:
      // a stall of the machine in between (a loaded one has them) must not change what is done.
      const started = performance.now();
      const until = (units: number) => Math.max(0, started + units * unit - performance.now());
      const tasks = [1, 2, 3].map((k) =>
        createTask(
          async () => {
            await sleep(until(k));
            return `job ${k}`;
          },
          { name: `job-${k}` },
        ),
      );
      log(`Started three jobs that take 1, 2 and 3 units (a unit is ${unit} ms).`);

      let r = await wait(tasks, { returnWhen: FIRST_COMPLETED });
      log(`FIRST_COMPLETED: done = ${names(r.done)}; pending = ${names(r.pending)}`);

      // A timeout that ends half a unit after job 1 finished, half a unit before job 2 does.
      r = await wait(r.pending, { timeout: until(1.5) });
      log(`timeout at 1.5 units: done = ${names(r.done)}; pending = ${names(r.pending)}`);
      log('  (a timeout is not an error: wait() just reports what is finished so far)');

      r = await wait(tasks, { returnWhen: ALL_COMPLETED });
      log(`ALL_COMPLETED: done = ${names(r.done)}; pending = ${names(r.pending)}`);
      log(`Results: ${tasks.map((t) => t.result()).join(', ')}`);
    });
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
