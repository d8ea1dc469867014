/**
 * Lesson 04: `asCompleted` — results in the order they finish, not the order they started.
 */
import { asCompleted, createTask, run, sleep } from 'weft/asyncio';
import { defineLesson, runIfMain } from './lesson.js';

const lesson = defineLesson({
  title: 'asCompleted() yields results in completion order',
  shows:
    'Three downloads start in the order slow, fast, medium. for await over asCompleted() hands ' +
    'each result over as soon as it is ready, so they come out fast, medium, slow.',
  module: 'asyncio',
  async main({ quick, log }) {
    const unit = quick ? 100 : 1000;
    const jobs: [string, number][] = [
      ['slow', 3],
      ['fast', 1],
      ['medium', 2],
    ];
    await run(async () => {
      const started = performance.now();
      const tasks = jobs.map(([name, units]) =>
        createTask(async () => {
          // Until a finish time counted from one start, not from when this task first runs: a
          // stall of the machine between the tasks' first steps must not reorder them.
          await sleep(Math.max(0, started + units * unit - performance.now()));
          return name;
        }),
      );
      log(
        `Started in this order: ${jobs.map(([n, u]) => `${n} (${u} unit${u === 1 ? '' : 's'})`).join(', ')}`,
      );
      const order: string[] = [];
      for await (const name of asCompleted(tasks)) {
        const at = ((performance.now() - started) / unit).toFixed(1);
        log(`  ${name.padEnd(6)} arrived after ${at} units`);
        order.push(name);
      }
      log(`Completion order: ${order.join(', ')}`);
      log('Each result was used as soon as it existed, without waiting for the slowest one.');
    });
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
