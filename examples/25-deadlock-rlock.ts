/**
 * Lesson 25: a deadlock, reported instead of hanging — and the RLock fix.
 *
 * Two threads take two locks in opposite order: each holds one and waits for the other for
 * ever. Python hangs; weft's locks record their holders and what each thread waits for in
 * shared memory, so the wait that would close the cycle rejects with DeadlockError naming the
 * threads and the locks. The second half is the other classic: a function that takes a Lock and
 * calls a helper taking the same Lock — a thread waiting for itself. An RLock fixes it.
 */
import { Queue } from 'weft/queue';
import {
  type Barrier,
  Barrier as BarrierClass,
  DeadlockError,
  Lock,
  RLock,
  Thread,
  task,
} from 'weft/threading';
import { defineLesson, runIfMain } from './lesson.js';

export const transfer = task(
  import.meta,
  async (from: Lock, to: Lock, ready: Barrier, out: Queue<string>) => {
    await from.acquire();
    await ready.wait(); // both threads now hold their first lock
    try {
      await to.acquire();
      out.putSync('got both locks');
      to.release();
    } catch (err) {
      out.putSync(`${(err as Error).name}: ${(err as Error).message}`);
    } finally {
      from.release();
    }
  },
);

function deposit(lock: Lock | RLock, log: (s: string) => void): void {
  lock.runSync(() => {
    log('    deposit: holding the lock, calling audit()');
    audit(lock, log);
  });
}

function audit(lock: Lock | RLock, log: (s: string) => void): void {
  lock.runSync(() => log('    audit: holding the lock too'));
}

const lesson = defineLesson({
  title: 'Deadlock: two locks in opposite order reported as DeadlockError; RLock for re-entry',
  shows:
    'Instead of hanging, the wait that closes a wait-for cycle across threads rejects with ' +
    'DeadlockError naming both threads and both locks. A Lock re-taken by its holder is the ' +
    'same error; an RLock lets the owner re-enter.',
  module: 'threading',
  async main({ log }) {
    const a = new Lock();
    const b = new Lock();
    const ready = new BarrierClass(2);
    const out = new Queue<string>();
    log(
      `Thread "teller-1" takes ${a.name} then ${b.name}; "teller-2" takes ${b.name} then ${a.name}.`,
    );
    const t1 = new Thread({ target: transfer, args: [a, b, ready, out], name: 'teller-1' });
    const t2 = new Thread({ target: transfer, args: [b, a, ready, out], name: 'teller-2' });
    t1.start();
    t2.start();
    const results = [await out.get(), await out.get()];
    await t1.join();
    await t2.join();
    for (const r of results) log(`  ${r}`);
    log('The thread that got DeadlockError let go of its lock, so the other one finished.');

    log('A function holding a Lock calls a helper that takes the same Lock:');
    try {
      deposit(new Lock(), log);
    } catch (err) {
      log(
        `  ${err instanceof DeadlockError ? 'DeadlockError' : 'error'}: ${(err as Error).message}`,
      );
    }
    log('The same with an RLock:');
    deposit(new RLock(), log);
    log('  no deadlock: the owner may acquire an RLock again.');
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
