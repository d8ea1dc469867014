/**
 * Lesson 05: a `Future` — a result that does not exist yet, set later by someone else.
 */
import { createTask, Future, run, sleep } from 'weft/asyncio';
import { defineLesson, runIfMain } from './lesson.js';

const lesson = defineLesson({
  title: 'A Future set by another task',
  shows:
    'A Future is an empty box with a promise to be filled. One task awaits it and is suspended; ' +
    'another task computes the answer and calls setResult(), which wakes the first one.',
  module: 'asyncio',
  async main({ quick, log }) {
    const unit = quick ? 30 : 1000;
    await run(async () => {
      const answer = new Future<number>();
      log(`A new Future: done() = ${answer.done()}`);

      createTask(
        async () => {
          log('  producer: thinking for a while…');
          await sleep(unit);
          log('  producer: setResult(42)');
          answer.setResult(42);
        },
        { name: 'producer' },
      );

      log('consumer: awaiting the future (this task is suspended, the producer runs)');
      const value = await answer;
      log(`consumer: got ${value}; done() = ${answer.done()}, result() = ${answer.result()}`);
      log('A future is set once: a second setResult() would raise InvalidStateError.');
    });
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
