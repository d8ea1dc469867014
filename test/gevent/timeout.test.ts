import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Event } from '../../src/asyncio/event.js';
import { Future } from '../../src/asyncio/future.js';
import { Lock } from '../../src/asyncio/lock.js';
import { currentTask } from '../../src/asyncio/task.js';
import { GreenletExit, joinall, sleep, spawn, Timeout } from '../../src/gevent/index.js';
import { InvalidStateError, TimeoutError } from '../../src/internal/errors.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

function getcurrentCancelling(): number {
  return currentTask()!.cancelling();
}

/** Keeps the greenlet busy: no timer can fire before its next await. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

/** A weft await that arms no timer and only an error ends (see test/asyncio/timeout.test.ts). */
function untilRaised(): Future<string> {
  const f = new Future<string>();
  const timer = setTimeout(() => f.setResult('nothing raised'), 5_000);
  f.addDoneCallback(() => clearTimeout(timer));
  return f;
}

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

  test('an exception class is made anew at each expiry and raised instead of the Timeout', async () => {
    class TooSlow extends Error {}
    const t = new Timeout(5, { exception: TooSlow });
    const seen: unknown[] = [];
    const g = spawn(async () => {
      for (let i = 0; i < 2; i++) {
        t.start();
        try {
          await sleep(10_000);
        } catch (e) {
          seen.push(e);
        } finally {
          t.cancel();
        }
      }
      return getcurrentCancelling(); // each expiry taken back with its own scope
    });
    assert.equal(await g.get(), 0);
    assert.ok(seen[0] instanceof TooSlow && seen[1] instanceof TooSlow);
    assert.notEqual(seen[0], seen[1]);
  });

  test('a silent Timeout (exception false) ends run() quietly on expiry, as with Timeout(s, False)', async () => {
    const order: string[] = [];
    const g = spawn(async () => {
      const v = await new Timeout(5, { exception: false }).run(async () => {
        await sleep(10_000);
        order.push('not reached');
        return 'slept';
      });
      order.push(`after the block: ${String(v)}`);
      // Not expired: the block's value; an error of the block passes through.
      const quick = await new Timeout(10_000, { exception: false }).run(() => 'quick');
      const boom = new Error('boom');
      const failed = await new Timeout(10_000, { exception: false })
        .run(() => {
          throw boom;
        })
        .catch((e: unknown) => e);
      return [quick, failed === boom, getcurrentCancelling()];
    });
    assert.deepEqual(await g.get(), ['quick', true, 0]);
    assert.deepEqual(order, ['after the block: undefined']);
  });

  test('run() of a Timeout that is not silent raises its expiry; a nested silent one only its own', async () => {
    const outer = new Timeout(5);
    const g = spawn(() =>
      outer.run(() =>
        new Timeout(10_000, { exception: false }).run(async () => {
          await sleep(10_000);
        }),
      ),
    );
    await g.join();
    assert.equal(g.exception, outer);
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

  test('bug-bash g5: nested Timeouts expiring in one busy stretch: the outer one is raised too', async () => {
    const log: string[] = [];
    const g = spawn(async () => {
      const outer = new Timeout(10).start();
      try {
        const inner = new Timeout(20).start();
        try {
          spin(40); // both expire here
          await sleep(10_000);
        } catch (e) {
          log.push(`inner block: ${e === inner ? 'inner' : e === outer ? 'outer' : String(e)}`);
          if (e !== inner) throw e;
        } finally {
          inner.cancel();
        }
        log.push(`after the inner block: ${await untilRaised()}`);
      } catch (e) {
        log.push(`outer block: ${e === outer ? 'outer' : String(e)}`);
      } finally {
        outer.cancel();
      }
      return getcurrentCancelling();
    });
    assert.equal(await g.get(), 0);
    // gevent 22.10.2 (the same program, time.sleep for spin): the outer timer's callback throws
    // into the greenlet at once, which cancels the inner Timeout before its callback runs:
    // ['inner block: outer', 'outer block: outer'].
    assert.deepEqual(log, ['inner block: outer', 'outer block: outer']);
  });

  test('bug-bash g6: a kill and the Timeout the greenlet handles, both while it is busy: the kill is kept', async () => {
    const log: string[] = [];
    let open = (): void => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const g = spawn(async () => {
      const t = new Timeout(10).start();
      try {
        await gate; // a native wait: killed here, and the Timeout expires here
        await sleep(10_000);
      } catch (e) {
        log.push(e === t ? 'own timeout' : (e as Error).name);
        if (e !== t) throw e;
      } finally {
        t.cancel();
      }
      log.push(`went on: ${await untilRaised()}`);
    });
    await sleep(0); // g runs up to the gate
    await g.kill({ block: false });
    await sleep(20); // armed after the Timeout and due later: it has expired
    open();
    assert.equal(await g.join(), true);
    assert.deepEqual(log, ['own timeout']);
    assert.equal(g.successful(), true);
    assert.ok(g.value instanceof GreenletExit);
  });

  test('a kill after the Timeout expired while busy is raised first; the Timeout goes with its scope', async () => {
    const log: string[] = [];
    let open = (): void => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const g = spawn(async () => {
      const t = new Timeout(10).start();
      try {
        await gate;
        await sleep(10_000);
      } catch (e) {
        log.push(e === t ? 'own timeout' : (e as Error).name);
        throw e;
      } finally {
        t.cancel();
      }
    });
    await sleep(0);
    await sleep(20); // the Timeout expires while g waits on the gate
    await g.kill({ block: false });
    open();
    await g.join();
    assert.deepEqual(log, ['GreenletExit']);
    assert.ok(g.value instanceof GreenletExit);
  });

  // gevent's Timeout timer has a lower priority than every other timer (gevent 22.10, checked
  // with these same cases): of the timers that fire in one turn of the loop, it runs last, even
  // when it was due first. A greenlet blocking the loop past both deadlines (`spin`) makes both
  // timers fire in one turn, whatever the machine's load.
  describe('expiry after the other timers that fire in the same turn, as gevent', () => {
    test('with Timeout(20): sleep(30), the loop blocked past both: sleeps to the end', async () => {
      const g = spawn(async () => {
        using _t = new Timeout(20).start();
        spawn(async () => spin(60)); // runs once this greenlet is asleep
        await sleep(30);
        return 'slept';
      });
      assert.equal(await g.get(), 'slept');
    });

    test('another greenlet woken in that turn runs before the expiry', async () => {
      const out: string[] = [];
      const a = spawn(async () => {
        try {
          using _t = new Timeout(20).start();
          await sleep(1000);
        } catch (e) {
          if (!(e instanceof Timeout)) throw e;
          out.push('A timeout');
        }
      });
      const b = spawn(async () => {
        await sleep(30);
        out.push('B woke');
      });
      const c = spawn(async () => spin(60));
      await joinall([a, b, c]);
      assert.deepEqual(out, ['B woke', 'A timeout']);
    });

    test('what that greenlet makes ready (an Event set) comes after the expiry', async () => {
      const out: string[] = [];
      const ev = new Event();
      const a = spawn(async () => {
        try {
          using _t = new Timeout(20).start();
          await ev.wait();
          out.push('A got the event');
        } catch (e) {
          if (!(e instanceof Timeout)) throw e;
          out.push('A timeout');
        }
      });
      const b = spawn(async () => {
        await sleep(30);
        out.push('B sets');
        ev.set();
      });
      const c = spawn(async () => spin(60));
      await joinall([a, b, c]);
      assert.deepEqual(out, ['B sets', 'A timeout']);
    });

    test('a Timeout cancelled and started again before its queued expiry ran keeps its new deadline', async () => {
      const g = spawn(async () => {
        const t = new Timeout(20).start();
        spawn(async () => spin(60));
        try {
          // t's timer and the sleep's fire in one turn; the expiry is queued behind the wake-up.
          await sleep(30);
          t.cancel();
          t.start(); // re-armed: the expiry queued by its first timer must do nothing
          await sleep(0);
          return t.pending ? 'rearmed, pending' : 'expired early';
        } finally {
          t.cancel();
        }
      });
      assert.equal(await g.get(), 'rearmed, pending');
    });
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

  test('a bad delay raises RangeError, a wrong type TypeError', () => {
    assert.throws(() => new Timeout(-1), RangeError);
    assert.throws(() => new Timeout('5' as any), TypeError);
    assert.throws(() => new Timeout(Number.NaN), TypeError); // as every waiting call's timeout
    assert.throws(() => new Timeout(5, { exception: 'x' as any }), TypeError);
    assert.throws(() => new Timeout(5, { exception: true as any }), TypeError);
    // @ts-expect-error not an error class
    assert.throws(() => new Timeout(5, { exception: Map }), TypeError);
  });
});
