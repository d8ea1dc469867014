/**
 * Lesson 12: gevent's Timeout and kill — stopping a greenlet that takes too long.
 */
import { GreenletExit, sleep, spawn, Timeout } from 'weft/gevent';
import { defineLesson, runIfMain } from './lesson.js';

const lesson = defineLesson({
  title: 'Timeout around a slow call, and kill() of a greenlet',
  shows:
    "A Timeout is gevent's deadline for a block of code: when it expires it is raised at the " +
    'await the greenlet is blocked on, and the greenlet decides what to do. kill() raises ' +
    'GreenletExit the same way; a killed greenlet counts as successful.',
  module: 'gevent',
  async main({ quick, log }) {
    const second = quick ? 40 : 1000;
    const slowCall = async (seconds: number) => {
      await sleep(seconds * second);
      return `answer after ${seconds} s`;
    };

    const patient = spawn(async () => {
      using t = new Timeout(2 * second).start();
      try {
        return await slowCall(5);
      } catch (e) {
        if (e !== t) throw e;
        log('  patient: my 2 s Timeout expired during the 5 s call; giving up on it');
        return 'fallback answer';
      }
    });
    log('The patient greenlet calls something slow under a 2 s Timeout.');
    // The times below are in the lesson's seconds: say so when a second is not one.
    if (quick) log(`(Quick mode: a second of this lesson lasts ${second} ms.)`);
    log(`patient returned: ${await patient.get()}`);

    const worker = spawn(async () => {
      try {
        for (let i = 1; ; i++) {
          await sleep(second);
          log(`  worker: finished chunk ${i}`);
        }
      } finally {
        log('  worker: GreenletExit arrived; cleaning up in finally');
      }
    });
    await sleep(2.5 * second);
    log('main: 2.5 s passed, killing the worker');
    await worker.kill();
    log(
      `worker: dead=${worker.dead}, successful()=${worker.successful()}, ` +
        `value is GreenletExit: ${worker.value instanceof GreenletExit}`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
