/**
 * Lesson 72: the deadlock of lesson 25, with processes — reported instead of hanging — and the
 * fix that needs no RLock: one lock order for everyone.
 *
 * Two processes take two Locks in opposite order; a Barrier makes sure each holds its first lock
 * before it asks for the second. Python hangs here for ever. weft's broker knows who holds each
 * multiprocessing Lock and who waits for it, so the wait that would close the cycle rejects with
 * DeadlockError naming both processes and both locks; that process lets go of its lock, and the
 * other one finishes. Then both take the locks in the same order, and there is no cycle to close.
 */
import {
  Barrier,
  currentProcess,
  DeadlockError,
  Lock,
  Process,
  Queue,
  task,
} from 'weft/multiprocessing';
import { defineLesson, runIfMain } from './lesson.js';

export const transfer = task(
  import.meta,
  async (first: Lock, second: Lock, ready: Barrier | null, out: Queue<string>) => {
    const me = currentProcess().name;
    await first.acquire();
    try {
      await ready?.wait(); // both processes now hold their first lock
      try {
        await second.acquire();
        out.put(`${me}: got both locks`);
        second.release();
      } catch (err) {
        if (!(err instanceof DeadlockError)) throw err;
        out.put(`${me}: DeadlockError: ${err.message}`);
      }
    } finally {
      first.release();
    }
    await out.joinThread();
  },
);

/**
 * teller-1 takes a then b; teller-2 takes b then a, or a then b too when `sameOrder` (then
 * without the Barrier: a teller waiting there holding a would wait for one that waits for a).
 */
async function round(sameOrder: boolean): Promise<string[]> {
  const a = new Lock();
  const b = new Lock();
  const ready = sameOrder ? null : new Barrier(2);
  const out = new Queue<string>();
  const tellers = [
    new Process({ target: transfer, args: [a, b, ready, out], name: 'teller-1' }),
    new Process({
      target: transfer,
      args: sameOrder ? [a, b, ready, out] : [b, a, ready, out],
      name: 'teller-2',
    }),
  ];
  for (const p of tellers) p.start();
  const lines = [await out.get(), await out.get()];
  for (const p of tellers) await p.join();
  return lines.sort();
}

const lesson = defineLesson({
  title: 'Deadlock with processes: reported as DeadlockError; one lock order fixes it',
  shows:
    'Two processes taking two multiprocessing Locks in opposite order: the wait that closes the ' +
    'cycle rejects with DeadlockError naming both processes and both locks, instead of hanging ' +
    'as in Python. Taking the locks in one order everywhere removes the cycle.',
  module: 'multiprocessing',
  async main({ log }) {
    log('teller-1 takes lock a then lock b; teller-2 takes b then a:');
    for (const line of await round(false)) log(`  ${line}`);
    log('The process told of the deadlock let go of its lock, so the other one finished.');
    log('Both take a then b:');
    for (const line of await round(true)) log(`  ${line}`);
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
