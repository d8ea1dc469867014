/**
 * A lock in the middle of a hand-over (released to a woken waiter that has not resumed yet), and
 * a woken wait cancelled afterwards: helper-109's review of this stop's waiter change (44290e8)
 * and of older paths next to it. Each test failed before its fix.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Barrier,
  CancelledError,
  createTask,
  Event,
  ensureFuture,
  Lock,
  RuntimeError,
  run,
  sleep,
  wait,
} from '../../src/asyncio/index.js';
import { StreamReader } from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('hand-overs in progress', () => {
  test('a Barrier.wait made while the barrier lock is being handed over queues (no RuntimeError)', async () => {
    await run(async () => {
      const log: string[] = [];
      // The action holds the barrier's lock until `go` is set: C's wait queues on that lock
      // meanwhile, whatever the machine's speed (timers due together would let B run first).
      const go = new Event();
      let inAction = false;
      const b = new Barrier(2, {
        action: async () => {
          inAction = true;
          await go.wait();
        },
      });
      const A = createTask(async () => {
        log.push(`A${await b.wait()}`);
      });
      await sleep(0);
      const B = createTask(async () => {
        log.push(`B${await b.wait()}`);
        // Runs right after B's release handed the barrier's lock to C, before C resumed.
        try {
          log.push(`B2:${await b.wait({ timeout: 2000 })}`);
        } catch (e) {
          log.push(`B2 ${(e as Error).name}: ${(e as Error).message}`);
        }
      });
      while (!inAction) await sleep(0);
      let cStarted = false;
      const C = createTask(async () => {
        cStarted = true;
        try {
          log.push(`C${await b.wait({ timeout: 2000 })}`);
        } catch (e) {
          log.push(`C ${(e as Error).name}`);
        }
      });
      while (!cStarted) await sleep(0);
      await sleep(0);
      go.set();
      await wait([A, B, C]);
      // With the barrier's lock honoured, B's second wait and C make the second round.
      assert.deepEqual(log.slice().sort(), ['A0', 'B1', 'B2:1', 'C0']);
    });
  });

  test('a lock.acquire() taken over by ensureFuture, cancelled after its wake-up, leaks no lock', async () => {
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      let f: ReturnType<typeof ensureFuture<boolean>> | undefined;
      const T = createTask(async () => {
        f = ensureFuture(lock.acquire());
        await f;
      });
      await sleep(0);
      lock.release(); // hands the lock to f's wait
      assert.ok(f);
      f.cancel(); // CPython (3.11-3.13): the wrapped acquire passes the lock on; it ends free
      await assert.rejects(T, CancelledError);
      for (let i = 0; i < 3; i++) await sleep(0);
      assert.equal(f.cancelled(), true);
      assert.equal(lock.locked(), false);
    });
  });

  test('a wait that failed, then cancelled twice before it resumes, raises the last message', async () => {
    await run(async () => {
      const r = new StreamReader();
      const t = createTask(async () => {
        await r.read(10);
      });
      await sleep(0);
      r.setException(new Error('boom'));
      t.cancel('m1');
      t.cancel('m2');
      // CPython 3.11, 3.12 and 3.13: CancelledError('m2') (Task.cancel overwrites the message of
      // a task whose awaited future is done; __step makes its own CancelledError).
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'm2');
    });
  });

  test('release() during a hand-over (locked() is false) is a RuntimeError, as in CPython', async () => {
    await run(async () => {
      const lock = new Lock();
      await lock.acquire();
      const T = createTask(async () => {
        await lock.acquire();
        return lock.locked();
      });
      await sleep(0);
      lock.release();
      assert.equal(lock.locked(), false);
      assert.throws(() => lock.release(), RuntimeError);
      assert.equal(await T, true);
      assert.equal(lock.locked(), true);
    });
  });
});
