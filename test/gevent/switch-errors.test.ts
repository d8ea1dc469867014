import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { Greenlet, Queue, Semaphore, sleep, spawn } from '../../src/gevent/index.js';
import { setExceptionHandler } from '../../src/internal/scheduler.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** Runs `fn` in a greenlet, as gevent code runs (the test's own code is in no task). */
function inGreenlet(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    await spawn(fn).get();
  };
}

/** Collects what the loop reports instead of printing it. */
function collectReports(): string[] {
  const seen: string[] = [];
  setExceptionHandler((ctx) => {
    seen.push(String((ctx.exception as Error)?.message ?? ctx.exception));
  });
  return seen;
}

afterEach(() => setExceptionHandler(null));

/**
 * Ordinary gevent scheduling, after the error: a semaphore handed from greenlet to greenlet and
 * a queue chain, in gevent's order (22.10.2: ['a1', 'got 1', 'a2', 'got 2', 'b1', 'b2']).
 */
async function schedulingStillWorks(): Promise<void> {
  const log: string[] = [];
  const sem = new Semaphore(1);
  const q = new Queue<number>(1);
  const worker = (name: string) => async () => {
    for (let i = 1; i <= 2; i++) {
      await sem.run(async () => {
        log.push(`${name}${i}`);
        await sleep(0);
      });
    }
  };
  const a = spawn(worker('a'));
  const b = spawn(worker('b'));
  const consumer = spawn(async () => {
    for (let i = 0; i < 2; i++) log.push(`got ${await q.get()}`);
  });
  await q.put(1);
  await q.put(2);
  await Promise.all([a.join(), b.join(), consumer.join()]);
  assert.deepEqual(log, ['a1', 'got 1', 'a2', 'got 2', 'b1', 'b2']);
}

/** A greenlet that cannot be described: reporting a failing link of it throws too. */
class Nameless<T> extends Greenlet<T> {
  override describe(): string {
    throw new Error('no name');
  }
}

/** A semaphore that cannot be described: reporting a failing rawlink of it throws too. */
class NamelessSemaphore extends Semaphore {
  override describe(): string {
    throw new Error('no name');
  }
}

// A callback of the ready queue that throws between `beginSwitch` and `endSwitch` must close
// its switch: otherwise every later resume is held for a head placement that never comes, and
// the whole loop stops. The pass it was running must go on (gevent's notifier reports a failing
// link and calls the next one).
describe('a switch closes when the wake-up inside it throws', () => {
  test(
    'a link whose failure cannot be reported: later links, joiners and scheduling go on',
    inGreenlet(async () => {
      const reports = collectReports();
      const log: string[] = [];
      const g = new Nameless(() => sleep(1));
      g.link(() => {
        throw new Error('link failed');
      });
      g.link(() => log.push('second link'));
      const joiner = spawn(async () => {
        await g.join();
        log.push('joiner');
      });
      g.start();
      await joiner.join();
      await sleep(0);
      assert.deepEqual(log, ['second link', 'joiner']);
      assert.ok(reports.includes('no name'), `reports: ${reports.join(', ')}`);
      await schedulingStillWorks();
    }),
  );

  test(
    'a link of a greenlet killed before it ran, whose failure cannot be reported',
    inGreenlet(async () => {
      collectReports();
      const log: string[] = [];
      const g = new Nameless(() => sleep(1));
      g.link(() => {
        throw new Error('link failed');
      });
      g.link(() => log.push('second link'));
      g.start();
      // Killed before its first step: dead at once, its links served from here.
      await g.kill();
      await sleep(0);
      await sleep(0);
      assert.deepEqual(log, ['second link']);
      await schedulingStillWorks();
    }),
  );

  test(
    'a rawlink of a semaphore whose failure cannot be reported: the waiters are still served',
    inGreenlet(async () => {
      const reports = collectReports();
      const log: string[] = [];
      const sem = new NamelessSemaphore(0);
      sem.rawlink(() => {
        throw new Error('rawlink failed');
      });
      const waiter = spawn(async () => {
        await sem.acquire();
        log.push('acquired');
        sem.release();
      });
      await sleep(0);
      sem.release();
      await waiter.join();
      sem.rawlink(() => log.push('later rawlink'));
      await sleep(0);
      await sleep(0);
      assert.deepEqual(log, ['acquired', 'later rawlink']);
      assert.ok(reports.includes('no name'), `reports: ${reports.join(', ')}`);
      await schedulingStillWorks();
    }),
  );
});
