/**
 * Lesson 13: gevent's Queue — a boss and three workers (the gevent tutorial's example).
 */
import { Empty, joinall, Queue, sleep, spawn } from 'weft/gevent';
import { defineLesson, runIfMain } from './lesson.js';

const lesson = defineLesson({
  title: 'A boss and three workers share a gevent Queue of 3 slots',
  shows:
    'The boss puts 19 tasks into a Queue(3): put waits while 3 are queued, so the boss goes on ' +
    'only as the workers take tasks. The workers take turns, and get({ timeout }) raising Empty ' +
    'tells each one that the work is over. The order is the one gevent prints.',
  module: 'gevent',
  async main({ quick, log }) {
    const second = quick ? 50 : 1000;
    const tasks = new Queue<number>(3);
    const worker = async (name: string) => {
      try {
        for (;;) {
          const task = await tasks.get({ timeout: second }); // Empty after a second with none
          log(`  Worker ${name} got task ${task}`);
          await sleep(0); // let the others have a turn
        }
      } catch (e) {
        if (!(e instanceof Empty)) throw e;
        log(`  Worker ${name}: no task for 1 s — quitting time!`);
      }
    };
    const boss = async () => {
      for (let i = 1; i < 10; i++) await tasks.put(i); // waits while the queue is full
      log('  Boss: assigned all work in iteration 1');
      for (let i = 10; i < 20; i++) await tasks.put(i);
      log('  Boss: assigned all work in iteration 2');
    };
    log('A Queue(3), a boss putting tasks 1-19 and workers steve, john and bob taking them:');
    await joinall(
      [spawn(boss), spawn(worker, 'steve'), spawn(worker, 'john'), spawn(worker, 'bob')],
      { raiseError: true },
    );
    log(`Every task was taken; the queue is empty: qsize() = ${tasks.qsize()}.`);
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
