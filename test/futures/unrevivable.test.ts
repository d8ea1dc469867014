/**
 * A pool call whose arguments hold a shared kind the worker cannot revive, and one a process
 * cannot receive at all. This file imports only what it needs, so that weft/threading's Event is
 * loaded here after the workers started (its module is then unknown to them).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProcessPoolExecutor, ThreadPoolExecutor } from '../../src/futures/index.js';
import { Pipe } from '../../src/multiprocessing/connection.js';
import { EOFError } from '../../src/multiprocessing/errors.js';
import { describeArgs } from '../multiprocessing/fixtures/pipe-targets.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

describe('arguments a worker cannot take', () => {
  test('a kind the thread worker cannot revive fails that call, and revives nothing of it', async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      assert.deepEqual(await ex.submit(describeArgs, 1), ['number']);
      const { Event } = await import('../../src/threading/event.js');
      const [r, w] = Pipe(false);
      // The Pipe end after the Event and before it: neither may stay revived (counted) in the worker.
      const a = ex.submit(describeArgs, w, new Event());
      const b = ex.submit(describeArgs, new Event(), w);
      for (const f of [a, b])
        await assert.rejects(f.result(), /Cannot revive a shared threading\.Event/);
      assert.deepEqual(await ex.submit(describeArgs, 2), ['number'], 'the worker lives on');
      w.close();
      await assert.rejects(r.recv(), EOFError);
      r.close();
    } finally {
      await ex.shutdown();
    }
  });

  test('a threading object given to a process pool fails that call with a TypeError, not the parent', async () => {
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    try {
      assert.deepEqual(await ex.submit(describeArgs, 1), ['number']);
      const { Event } = await import('../../src/threading/event.js');
      const bad = ex.submit(describeArgs, new Event());
      const good = ex.submit(describeArgs, 'x');
      await assert.rejects(bad.result(), (e: unknown) => {
        assert.ok(e instanceof TypeError);
        assert.match(e.message, /weft\/multiprocessing/);
        return true;
      });
      assert.deepEqual(await good, ['string']);
    } finally {
      await ex.shutdown();
    }
  });
});
