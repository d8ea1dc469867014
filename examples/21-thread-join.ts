/**
 * Lesson 21: join() waits for a thread to finish.
 *
 * Without join, the main thread goes on at once; with join({ timeout }) it waits at most that
 * long and then checks isAlive(). In weft, join() returns a Promise: the event loop keeps
 * running while it waits (joinSync() parks the thread for real, for worker code).
 */
import { Thread, task } from 'weft/threading';
import { defineLesson, runIfMain } from './lesson.js';

export const work = task(import.meta, async (ms: number) => {
  await new Promise((r) => setTimeout(r, ms));
});

const lesson = defineLesson({
  title: 'join(): waiting for a thread, with and without a timeout',
  shows:
    'join() resolves when the thread ends; join({ timeout }) gives up waiting (the thread ' +
    'goes on) and isAlive() tells which happened.',
  module: 'threading',
  async main({ quick, log }) {
    const ms = quick ? 400 : 2000;
    const t = new Thread({ target: work, args: [ms], name: 'worker' });
    t.start();
    log(`Started ${t.name}, which works for ${ms} ms.`);
    await t.join({ timeout: ms / 4 });
    log(`join({ timeout: ${ms / 4} }) returned: ${t.name} alive = ${t.isAlive()} — still working`);
    await t.join();
    log(`join() returned: ${t.name} alive = ${t.isAlive()} — finished`);
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
