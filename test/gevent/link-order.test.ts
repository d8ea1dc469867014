import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { joinall, Semaphore, sleep, spawn } from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** Runs `fn` in a greenlet, as gevent code runs (the test's own code is in no task). */
function inGreenlet(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    await spawn(fn).get();
  };
}

// gevent 22.10 keeps links and joins in one list: the hub runs them in registration order and
// switches to a joiner as it comes to it, so a joiner resumes before the links made after it.
describe('joins and links are served in registration order, as gevent', () => {
  test(
    'a greenlet joining before a link was made resumes before that link runs',
    inGreenlet(async () => {
      const log: string[] = [];
      const g = spawn(() => sleep(5));
      g.link(() => log.push('cb1'));
      spawn(async () => {
        await g.join();
        log.push('joiner');
      });
      await sleep(0); // the joiner waits now
      g.link(() => log.push('cb2'));
      g.linkValue(() => log.push('cbv'));
      g.linkException(() => log.push('cbe'));
      await g.join();
      log.push('main joined');
      // gevent: ['cb1', 'joiner', 'cb2', 'cbv', 'main joined']
      assert.deepEqual(log, ['cb1', 'joiner', 'cb2', 'cbv', 'main joined']);
    }),
  );

  test(
    'a joinall waiting before a link was made resumes before that link runs',
    inGreenlet(async () => {
      const log: string[] = [];
      const g = spawn(() => sleep(5));
      spawn(async () => {
        await joinall([g]);
        log.push('joinall');
      });
      await sleep(0);
      g.link(() => log.push('cb'));
      await g.join();
      log.push('main');
      // gevent: ['joinall', 'cb', 'main']
      assert.deepEqual(log, ['joinall', 'cb', 'main']);
    }),
  );

  test(
    'a link made by a link callback runs after the joiners registered before it',
    inGreenlet(async () => {
      const log: string[] = [];
      const g = spawn(() => {});
      g.link((x) => {
        log.push('l1');
        x.link(() => log.push('l-inner'));
      });
      g.link(() => log.push('l2'));
      await g.join();
      log.push('joined');
      await sleep(0);
      await sleep(0);
      // gevent: ['l1', 'l2', 'joined', 'l-inner']
      assert.deepEqual(log, ['l1', 'l2', 'joined', 'l-inner']);
    }),
  );

  test(
    'a get() waiting resumes before a link made after it; an unlink in between still counts',
    inGreenlet(async () => {
      const log: string[] = [];
      const g = spawn(async () => {
        await sleep(5);
        return 7;
      });
      spawn(async () => {
        log.push(`got ${await g.get()}`);
        g.unlink(dropped); // removed before it was served
      });
      await sleep(0);
      const dropped = (): void => {
        log.push('dropped');
      };
      g.link(dropped);
      g.link(() => log.push('cb'));
      await g.join();
      log.push('main');
      assert.deepEqual(log, ['got 7', 'cb', 'main']);
    }),
  );

  test(
    'links made before any join still run first, and a join with a timeout that passed takes no turn',
    inGreenlet(async () => {
      const log: string[] = [];
      const g = spawn(() => sleep(30));
      g.link(() => log.push('cb1'));
      assert.equal(await g.join({ timeout: 1 }), false);
      g.link(() => log.push('cb2'));
      await g.join();
      log.push('main');
      assert.deepEqual(log, ['cb1', 'cb2', 'main']);
    }),
  );
});

describe('a death serves its joiners in one pass, as gevent', () => {
  test(
    'a joiner that wakes another greenlet: that one runs before greenlets made ready meanwhile',
    inGreenlet(async () => {
      // gevent: ['target ends', 'joined', 'other', 'waiter']: the hub switches to the joiner
      // from the death's own callback, as soon as the target is dead, ahead of `other`'s
      // second sleep(0).
      const log: string[] = [];
      const sem = new Semaphore(0);
      const t = spawn(async () => {
        await sleep(0);
        log.push('target ends');
      });
      const gs = [
        spawn(async () => {
          await t.join();
          log.push('joined');
          sem.release();
        }),
        spawn(async () => {
          await sleep(0);
          await sleep(0);
          log.push('other');
        }),
        spawn(async () => {
          await sem.acquire();
          log.push('waiter');
        }),
      ];
      await joinall([...gs, t]);
      assert.deepEqual(log, ['target ends', 'joined', 'other', 'waiter']);
    }),
  );
});
