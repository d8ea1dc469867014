import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Lock } from '../../src/asyncio/lock.js';
import { sleep, spawn, Timeout } from '../../src/gevent/index.js';
import { InvalidStateError, TimeoutError } from '../../src/internal/errors.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('Timeout', () => {
  test('expiry raises the Timeout itself in the greenlet at its current await', async () => {
    const g = spawn(async () => {
      using t = new Timeout(5).start();
      try {
        await sleep(10_000);
        return 'slept';
      } catch (e) {
        return e === t ? 'own timeout' : `other: ${String(e)}`;
      }
    });
    assert.equal(await g.get(), 'own timeout');
  });

  test('a Timeout is a TimeoutError with a stable code', () => {
    const t = new Timeout(10);
    assert.ok(t instanceof TimeoutError);
    assert.equal(t.name, 'Timeout');
    assert.equal(t.code, 'ERR_WEFT_TIMEOUT');
    assert.equal(t.pending, false);
  });

  test('an uncaught expiry makes the greenlet fail with the Timeout', async () => {
    let t: Timeout | null = null;
    const g = spawn(async () => {
      t = Timeout.startNew(5);
      await sleep(10_000);
    });
    await g.join();
    assert.equal(g.successful(), false);
    assert.equal(g.exception, t);
    assert.equal(t!.pending, false);
  });

  test('leaving the using block before expiry disarms it', async () => {
    const g = spawn(async () => {
      {
        using t = new Timeout(30).start();
        assert.equal(t.pending, true);
        await sleep(1);
      }
      await sleep(60);
      return 'no timeout';
    });
    assert.equal(await g.get(), 'no timeout');
  });

  test('expiry while the greenlet is busy is delivered at its next await, not after cancel', async () => {
    const g = spawn(async () => {
      const t = new Timeout(0).start();
      const until = Date.now() + 20;
      while (Date.now() < until) {
        // busy: the timer cannot fire before the next await
      }
      t.cancel();
      await sleep(1);
      return 'not raised';
    });
    assert.equal(await g.get(), 'not raised');
  });

  test('the exception option is raised instead of the Timeout', async () => {
    const err = new Error('too slow');
    const g = spawn(async () => {
      using _t = new Timeout(5, { exception: err }).start();
      await sleep(10_000);
    });
    await g.join();
    assert.equal(g.exception, err);
  });

  test('an expiry cancels the awaited acquire: the lock stays free', async () => {
    const lock = new Lock();
    await lock.acquire();
    const g = spawn(async () => {
      using _t = new Timeout(5).start();
      await lock.acquire();
    });
    await g.join();
    assert.ok(g.exception instanceof Timeout);
    lock.release();
    assert.equal(lock.locked(), false);
  });

  test('nested Timeouts: the inner one fires first and is told apart', async () => {
    const g = spawn(async () => {
      using outer = new Timeout(1000).start();
      try {
        using _inner = new Timeout(5).start();
        await sleep(10_000);
      } catch (e) {
        return e === outer ? 'outer' : e instanceof Timeout ? 'inner' : 'other';
      }
    });
    assert.equal(await g.get(), 'inner');
  });

  test('a null Timeout never expires', async () => {
    const g = spawn(async () => {
      using t = new Timeout(null).start();
      assert.equal(t.pending, false);
      await sleep(5);
      return 'ok';
    });
    assert.equal(await g.get(), 'ok');
  });

  test('a Timeout past 2^31 - 1 ms does not expire early; an infinite one never arms', async () => {
    const g = spawn(async () => {
      using long = new Timeout(3e9).start();
      using never = new Timeout(Number.POSITIVE_INFINITY).start();
      assert.equal(long.pending, true);
      assert.equal(never.pending, false);
      await sleep(20);
      return 'ok';
    });
    assert.equal(await g.get(), 'ok');
  });

  test('start twice raises InvalidStateError; start outside a task raises', async () => {
    const g = spawn(async () => {
      using t = new Timeout(50).start();
      assert.throws(() => t.start(), InvalidStateError);
    });
    await g.get();
    assert.throws(() => new Timeout(5).start(), /inside a greenlet or a task/);
  });

  test('the timer stops when its greenlet ends without cancelling it', async () => {
    const g = spawn(() => {
      Timeout.startNew(10_000);
      return 'left it running';
    });
    await g.join();
    // checkLeaks fails this test if the 10 s timer were still armed.
  });

  test('bad input raises TypeError', () => {
    assert.throws(() => new Timeout(-1), TypeError);
    assert.throws(() => new Timeout('5' as any), TypeError);
    assert.throws(() => new Timeout(5, { exception: 'x' as any }), TypeError);
  });
});
