/**
 * Objects that cannot cross to another process: a Pool, a Process, a Manager, an AsyncResult.
 * Python refuses to pickle them (a Pool: NotImplementedError "pool objects cannot be passed
 * between processes or pickled"; the others TypeError), so with the 'spawn' start method a
 * Process given one in its args fails at start(). weft's serializer copied their own fields and
 * the child, the queue's reader or the pool worker got a lifeless object (`{}`), with no error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Manager, Pool, Process, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { identityOf } from './fixtures/bb7-targets.js';

checkLeaks({ graceMs: 3000 });

const refused = (what: RegExp) => (e: unknown) =>
  e instanceof TypeError &&
  what.test(e.message) &&
  /cannot be passed to another process or thread/.test(e.message);

describe('a Pool, Process, Manager or AsyncResult is refused where it is sent', () => {
  test("in a Process's args, a queue item, a pool task's arguments and a Manager dict", async () => {
    const pool = new Pool(1);
    const manager = Manager();
    const dict = manager.dict();
    const q = new Queue<unknown>();
    try {
      const ar = pool.applyAsync(identityOf, [1]);
      const cases: Array<[string, unknown, RegExp]> = [
        ['Pool', pool, /A Pool/],
        ['Process', new Process({ name: 'unsent' }), /Process unsent/],
        ['Manager', manager, /A Manager/],
        ['AsyncResult', ar, /An AsyncResult/],
      ];
      for (const [label, value, what] of cases) {
        // Nested too: a field of a plain object is walked.
        const p = new Process({ target: identityOf, args: [{ inner: value }] });
        assert.throws(
          () => p.start(),
          (e: unknown) => {
            assert.ok(e instanceof TypeError, label);
            assert.match((e as Error).message, /cannot be sent to a child process/);
            assert.ok(refused(what)((e as Error).cause), `${label}: the cause names it`);
            return true;
          },
        );
        assert.equal(p.pid, null, `${label}: nothing was started`);
        await assert.rejects(q.put(value), refused(what), `${label}: queue`);
        await assert.rejects(pool.apply(identityOf, [value]), refused(what), `${label}: pool`);
        await assert.rejects(dict.set('k', value), refused(what), `${label}: manager dict`);
      }
      assert.equal(await ar.get({ timeout: 60_000 }), 1);
      // Nothing half-sent: the queue is empty and the pool still works.
      assert.equal(q.empty(), true);
      assert.equal(await pool.apply(identityOf, [2]), 2);
      assert.equal(await dict.has('k'), false);
    } finally {
      q.close();
      pool.terminate();
      await pool.join();
    }
  });
});
