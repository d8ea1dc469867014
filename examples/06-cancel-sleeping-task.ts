/**
 * Lesson 06: cancelling a task that sleeps, and catching `CancelledError` inside it.
 */
import { CancelledError, createTask, run, sleep } from 'weft/asyncio';
import { defineLesson, runIfMain } from './lesson.js';

const lesson = defineLesson({
  title: 'Cancelling a sleeping task',
  shows:
    'task.cancel(msg) raises CancelledError(msg) at the await where the task is blocked, at once ' +
    'even if it sleeps for an hour. The task may clean up in catch/finally; if it lets the error ' +
    'go, it ends cancelled and awaiting it raises CancelledError.',
  module: 'asyncio',
  async main({ quick, log }) {
    const unit = quick ? 20 : 1000;
    await run(async () => {
      const sleeper = createTask(
        async () => {
          log('  sleeper: going to sleep for an hour');
          try {
            await sleep(3_600_000);
            log('  sleeper: woke up naturally (this line is never printed)');
          } catch (e) {
            if (e instanceof CancelledError) {
              log(`  sleeper: caught CancelledError("${e.message}"), cleaning up`);
            }
            throw e;
          }
        },
        { name: 'sleeper' },
      );
      await sleep(unit);
      log(`main: the sleeper is done? ${sleeper.done()}. Cancelling it.`);
      sleeper.cancel('time to wake up');
      try {
        await sleeper;
      } catch (e) {
        log(`main: awaiting it raised ${(e as Error).name}("${(e as Error).message}")`);
      }
      log(`main: sleeper.cancelled() = ${sleeper.cancelled()}`);
      log('The hour-long timer is gone too: cancelling a sleep clears its timer.');
    });
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
