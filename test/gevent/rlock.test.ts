/**
 * gevent.lock's RLock: owned by a greenlet, re-entrant, released only by its holder. Checked
 * against gevent 22.10.2 on /usr/bin/python3 (3.11.2) ("gevent: …").
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RuntimeError } from '../../src/asyncio/index.js';
import {
  Event,
  GreenletExit,
  joinall,
  RLock,
  sleep,
  spawn,
  Timeout,
} from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('RLock', () => {
  test('the holder may acquire again; another greenlet waits until the last release', async () => {
    // gevent: ['holder in', 'holder inner out', 'holder out', 'waiter in']
    const log: string[] = [];
    const lock = new RLock();
    const holder = spawn(async () => {
      await lock.run(async () => {
        await lock.run(async () => {
          log.push('holder in');
          await sleep(10);
        });
        log.push('holder inner out');
        await sleep(0);
      });
      log.push('holder out');
    });
    await sleep(0);
    const waiter = spawn(() => lock.run(() => log.push('waiter in')));
    await joinall([holder, waiter]);
    assert.deepEqual(log, ['holder in', 'holder inner out', 'holder out', 'waiter in']);
  });

  test('two greenlets are kept apart (the holder is a greenlet, not the thread)', async () => {
    const lock = new RLock();
    let inside = 0;
    let most = 0;
    const worker = async () => {
      for (let i = 0; i < 3; i++) {
        using _ = await lock.hold();
        most = Math.max(most, ++inside);
        await sleep(1);
        inside--;
      }
    };
    await joinall([spawn(worker), spawn(worker), spawn(worker)]);
    assert.equal(most, 1);
  });

  test('release by a greenlet that does not hold it is a RuntimeError naming the holder', async () => {
    // gevent: RuntimeError cannot release un-acquired lock (nobody holds it, or another does)
    const lock = new RLock();
    assert.throws(
      () => lock.release(),
      (e: unknown) =>
        e instanceof RuntimeError &&
        e.code === 'ERR_WEFT_LOCK_NOT_HELD' &&
        /^Cannot release RLock-\d+: it is not held$/.test(e.message),
    );
    await lock.acquire();
    await lock.acquire();
    const other = await spawn(async () => {
      const out: unknown[] = [];
      try {
        lock.release();
      } catch (e) {
        out.push((e as Error).message);
      }
      out.push(await lock.acquire({ blocking: false }), await lock.acquire({ timeout: 10 }));
      return out;
    }).get();
    assert.ok(Array.isArray(other));
    assert.match(
      other[0] as string,
      /^Cannot release RLock-\d+: it is held by the main program, not by Task 'Greenlet-\d+'$/,
    );
    assert.deepEqual(other.slice(1), [false, false]);
    lock.release();
    lock.release();
    assert.throws(() => lock.release(), RuntimeError);
    assert.equal(await lock.acquire({ blocking: false }), true);
    lock.release();
  });

  test('a waiter killed while it waits does not get the lock; the lock stays usable', async () => {
    const lock = new RLock();
    const log: string[] = [];
    const go = new Event();
    const holder = spawn(async () => {
      await lock.acquire();
      await go.wait(); // released once the kill has reached `killed`, whatever the timing
      lock.release();
    });
    await sleep(0);
    const killed = spawn(async () => {
      await lock.acquire();
      log.push('killed one got it');
    });
    const next = spawn(async () => {
      await lock.acquire();
      log.push('next got it');
      lock.release();
    });
    await sleep(1);
    await killed.kill();
    go.set();
    await joinall([holder, next]);
    assert.ok(killed.value instanceof GreenletExit);
    assert.deepEqual(log, ['next got it']);
    assert.equal(await lock.acquire({ blocking: false }), true);
    lock.release();
  });

  test('hold raises Timeout when the lock did not come in time; bad options are typed errors', async () => {
    const lock = new RLock();
    // The holder keeps the lock until the timeout has been seen. Regression: it held it for a
    // sleep(30) armed before the timeout's 5 ms, so a stall of over 25 ms in between (the one
    // below, or a loaded machine's) let it release first, and hold() got the lock.
    const seen = new Event();
    const g = spawn(async () => {
      await lock.acquire();
      await seen.wait();
      lock.release();
    });
    spawn(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 40));
    await sleep(0);
    await assert.rejects(lock.hold({ timeout: 5 }), Timeout);
    await assert.rejects(lock.acquire({ timeout: 'x' as unknown as number }), /RLock\.acquire/);
    seen.set();
    await g.join();
    // The holder's re-entrant acquire checks its options too.
    await lock.acquire();
    await assert.rejects(lock.acquire({ blocking: 'x' as unknown as boolean }), TypeError);
    await assert.rejects(lock.acquire({ signal: AbortSignal.abort(new Error('stop')) }), /stop/);
    lock.release();
    assert.equal(String(lock), '[object RLock]');
  });
});

describe('RLock: chains of wake-ups', () => {
  test('waiters are served one after the other in one pass, before a greenlet spawned at the release', async () => {
    // gevent: ['holder out', 'w1', 'w2', 'D', 'w1 after', 'w2 after']: its Semaphore's notifier
    // switches to w1, which releases and blocks, then to w2, before D runs.
    const rl = new RLock();
    const log: string[] = [];
    const waiter = (n: string) =>
      spawn(async () => {
        {
          using _ = await rl.hold();
          log.push(n);
        }
        await sleep(0);
        log.push(`${n} after`);
      });
    const gs = [
      spawn(async () => {
        await rl.acquire();
        await sleep(0);
        rl.release();
        spawn(() => {
          log.push('D');
        });
        log.push('holder out');
      }),
      waiter('w1'),
      waiter('w2'),
    ];
    await joinall(gs);
    await sleep(0);
    assert.deepEqual(log, ['holder out', 'w1', 'w2', 'D', 'w1 after', 'w2 after']);
  });
});
