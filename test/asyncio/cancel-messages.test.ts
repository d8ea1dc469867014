/**
 * Which CancelledError (which message) a task raises when it is cancelled after what it waited
 * for was already over, before it resumed. The expected messages were printed by
 * /usr/bin/python3 (CPython 3.11); the cases come from the differential fuzzer of this session.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CancelledError,
  createTask,
  Event,
  Future,
  gather,
  Lock,
  run,
  sleep,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** The message of the CancelledError `body` raises at its await, once `cancel` has run. */
async function messageSeen(
  waitFor: () => Promise<unknown>,
  between: () => void,
  cancel: (t: ReturnType<typeof createTask>) => void,
): Promise<string> {
  let seen = 'none';
  const t = createTask(async () => {
    try {
      await waitFor();
    } catch (e) {
      if (e instanceof CancelledError) seen = e.message;
      throw e;
    }
  });
  await sleep(0); // t waits
  between(); // what it waits for ends; its wake-up is queued
  cancel(t);
  await gather(t, { returnExceptions: true });
  return seen;
}

describe('the CancelledError of a task cancelled between its wake-up and its resume', () => {
  test('two cancels after the wait was woken: the last message, as CPython overwrites it', async () => {
    // E.set(); t.cancel('first'); t.cancel('second') → CancelledError('second'), for an Event,
    // a Lock handed over, and a future given a result alike.
    await run(async () => {
      const twice = (t: ReturnType<typeof createTask>): void => {
        t.cancel('first');
        t.cancel('second');
      };
      const e = new Event();
      assert.equal(
        await messageSeen(
          () => e.wait(),
          () => e.set(),
          twice,
        ),
        'second',
      );
      const lock = new Lock();
      await lock.acquire();
      assert.equal(
        await messageSeen(
          () => lock.acquire(),
          () => lock.release(),
          twice,
        ),
        'second',
      );
      if (lock.locked()) lock.release();
      const f = new Future<number>();
      assert.equal(
        await messageSeen(
          () => f,
          () => f.setResult(1),
          twice,
        ),
        'second',
      );
    });
  });

  test('two cancels of a wait still pending: the first message, the one the wait was cancelled with', async () => {
    await run(async () => {
      const e = new Event();
      assert.equal(
        await messageSeen(
          () => e.wait(),
          () => {},
          (t) => {
            t.cancel('first');
            t.cancel('second');
          },
        ),
        'first',
      );
    });
  });

  test('an awaited gather that failed with a CancelledError: that error, not the late cancel', async () => {
    // o awaits gather(x); x.cancel(); (a step) o.cancel('from-outer') → o gets CancelledError()
    // (the gather's, from x), as CPython's step throws the error the task was woken with.
    await run(async () => {
      const x = createTask(() => sleep(60_000));
      let seen = 'none';
      const o = createTask(async () => {
        try {
          await gather(x);
        } catch (e) {
          if (e instanceof CancelledError) seen = e.message;
          throw e;
        }
      });
      await sleep(0); // o awaits the gather
      x.cancel();
      await sleep(0); // x has ended; the gather's outcome is on its way to o
      assert.equal(x.done(), true);
      assert.equal(o.cancel('from-outer'), true);
      await gather(o, { returnExceptions: true });
      assert.equal(seen, '');
    });
  });
});
