/**
 * gevent.event's Event and AsyncResult. Each expected order or value below was checked against
 * gevent 22.10.2 on /usr/bin/python3 (3.11.2), with the same program written in Python.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AsyncResult,
  Event,
  type Greenlet,
  GreenletExit,
  getcurrent,
  LoopExit,
  sleep,
  spawn,
  Timeout,
} from '../../src/gevent/index.js';
import { setExceptionHandler } from '../../src/internal/scheduler.js';
import { checkLeaks } from '../support/leaks.js';
import { runRoot } from '../support/root.js';

checkLeaks();

describe('Event', () => {
  test('set() wakes the waiters and runs the rawlinks in link order, before what the setter queues next', async () => {
    // gevent: ['set', ('woke','A',True), ('cb',), ('woke','B',True), 'setter back']
    const log: string[] = [];
    const e = new Event();
    const waiter = (n: string) => async () => log.push(`woke ${n} ${await e.wait()}`);
    const a = spawn(waiter('A'));
    await sleep(0);
    e.rawlink(() => log.push('cb'));
    const b = spawn(waiter('B'));
    await sleep(0);
    await spawn(async () => {
      e.set();
      log.push('set');
      await sleep(0);
      log.push('setter back');
    }).join();
    await a.join();
    await b.join();
    assert.deepEqual(log, ['set', 'woke A true', 'cb', 'woke B true', 'setter back']);
  });

  test('a wait that finds the flag set while the waiters are being woken runs after them', async () => {
    // gevent: [('woke',0,True), ('woke',1,True), ('setter wait',True)]
    const log: string[] = [];
    const e = new Event();
    const gs = [0, 1].map((i) => spawn(async () => log.push(`woke ${i} ${await e.wait()}`)));
    await sleep(0);
    await spawn(async () => {
      e.set();
      log.push(`setter wait ${await e.wait()}`);
    }).join();
    for (const g of gs) await g.join();
    assert.deepEqual(log, ['woke 0 true', 'woke 1 true', 'setter wait true']);
  });

  test('set, clear, then wait in the same step: the waits are served by that set (gevent notifies every link made before its pass)', async () => {
    // gevent: [('woke',0,True), ('s3 wait',True)]
    const log: string[] = [];
    const e = new Event();
    const g0 = spawn(async () => log.push(`woke 0 ${await e.wait()}`));
    await sleep(0);
    await spawn(async () => {
      e.set();
      e.clear();
      log.push(`s3 wait ${await e.wait({ timeout: 50 })}`);
    }).join();
    await g0.join();
    assert.deepEqual(log, ['woke 0 true', 's3 wait true']);
    assert.equal(e.isSet(), false);
  });

  test('a waiter woken by set() gets true even if the flag was cleared before it ran', async () => {
    const e = new Event();
    const g = spawn(() => e.wait());
    await sleep(0);
    e.set();
    e.clear();
    assert.equal(await g.get(), true);
  });

  test('a waiter woken that waits again is not served by the same set()', async () => {
    const e = new Event();
    const log: string[] = [];
    const a = spawn(async () => {
      await e.wait();
      e.clear();
      log.push('A woke');
      log.push(`A again ${await e.wait({ timeout: 20 })}`);
    });
    const b = spawn(async () => log.push(`B ${await e.wait()}`));
    await sleep(0);
    e.set();
    await a.join();
    await b.join();
    assert.deepEqual(log, ['A woke', 'B true', 'A again false']);
  });

  test('wait({ timeout }) resolves false when nobody sets it; wait({ timeout: 0 }) yields to the loop', async () => {
    const e = new Event();
    assert.equal(await e.wait({ timeout: 10 }), false);
    // gevent's wait(0) switches to the hub: another greenlet runs meanwhile.
    let ran = false;
    spawn(() => {
      ran = true;
    });
    assert.equal(await spawn(() => e.wait({ timeout: 0 })).get(), false);
    assert.equal(ran, true);
    assert.equal(e.isSet(), false);
    assert.equal(e.ready(), false);
    e.set();
    assert.equal(await e.wait({ timeout: 0 }), true);
    assert.equal(e.ready(), true);
  });

  test('wait({ timeout: 0 }) inside a greenlet lets the greenlets ready run before it answers false', async () => {
    // gevent: (False, True): Event.wait(0) switches to the hub, which runs the spawned greenlet.
    const e = new Event();
    const got = await spawn(async () => {
      let ran = false;
      spawn(() => {
        ran = true;
      });
      const r = await e.wait({ timeout: 0 });
      return [r, ran];
    }).get();
    assert.deepEqual(got, [false, true]);
  });

  test('a rawlink callback that throws is reported; the links after it still run', async () => {
    // gevent: the hub prints the callback's error; ['after'].
    const reports: unknown[] = [];
    setExceptionHandler((ctx) => {
      reports.push(
        ctx.exception,
        /^Exception in a rawlink callback of Event-\d+$/.test(ctx.message),
      );
    });
    try {
      const e = new Event();
      const log: string[] = [];
      const bad = new RangeError('cb');
      e.rawlink(() => {
        throw bad;
      });
      e.rawlink(() => log.push('after'));
      e.set();
      await sleep(0);
      assert.deepEqual(log, ['after']);
      assert.deepEqual(reports, [bad, true]);
    } finally {
      setExceptionHandler(null);
    }
  });

  test('a greenlet killed in wait() gets GreenletExit and leaves no link behind', async () => {
    const e = new Event();
    const g = spawn(() => e.wait());
    await sleep(0);
    assert.equal(e.linkcount(), 1);
    await g.kill();
    assert.ok(g.value instanceof GreenletExit);
    assert.equal(e.linkcount(), 0);
    e.set();
  });

  test('an aborted signal ends the wait', async () => {
    const e = new Event();
    const ac = new AbortController();
    const p = e.wait({ signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    assert.equal(e.linkcount(), 0);
  });

  // The weft-wide rule (every waiting call of weft/asyncio and concurrent futures): an aborted
  // signal rejects a wait even when it could answer at once, and bad options are refused then too.
  test('an aborted signal rejects get() and join() even when the value is there', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    const r = new AsyncResult<number>();
    r.set(5);
    await assert.rejects(r.get({ signal: ac.signal }), /stop/);
    await assert.rejects(r.get({ timeout: 'x' } as never), TypeError);
    assert.equal(await r.get(), 5);
    const set = new Event();
    set.set();
    await assert.rejects(set.wait({ signal: ac.signal }), /stop/);
    const g = spawn(() => 7);
    await g.join();
    await assert.rejects(g.join({ signal: ac.signal }), /stop/);
    await assert.rejects(g.get({ signal: ac.signal }), /stop/);
    await assert.rejects(g.get({ timeout: 'x' } as never), TypeError);
    assert.equal(await g.get(), 7);
  });

  test('rawlink is one-shot; on a set Event it runs on the ready queue; unlink stops it', async () => {
    // gevent: ['cb'] with linkcount 0 after set, clear, set; ['after rawlink', 'cb2'].
    const log: string[] = [];
    const e = new Event();
    e.rawlink((x) => log.push(x === e ? 'cb' : 'wrong'));
    e.set();
    await sleep(0);
    e.clear();
    e.set();
    await sleep(0);
    assert.deepEqual(log, ['cb']);
    assert.equal(e.linkcount(), 0);
    e.rawlink(() => log.push('cb2'));
    log.push('after rawlink');
    await sleep(0);
    assert.deepEqual(log, ['cb', 'after rawlink', 'cb2']);
    // Queued by a pass, unlinked before it ran: it does not run.
    const never = (): void => {
      log.push('never');
    };
    e.rawlink(never);
    e.unlink(never);
    await sleep(0);
    assert.deepEqual(log, ['cb', 'after rawlink', 'cb2']);
    assert.throws(() => e.rawlink(42 as never), TypeError);
  });
});

describe('AsyncResult', () => {
  test('the state before and after set, as gevent', async () => {
    const r = new AsyncResult<number>();
    // gevent: None None False False None
    assert.equal(r.value, null);
    assert.equal(r.exception, null);
    assert.equal(r.ready(), false);
    assert.equal(r.successful(), false);
    assert.equal(await r.wait({ timeout: 5 }), null);
    // gevent: Timeout with seconds=0.01; block=False: Timeout at once.
    await assert.rejects(r.get({ timeout: 5 }), (e) => e instanceof Timeout && e.ms === 5);
    await assert.rejects(r.get({ block: false }), Timeout);
    assert.throws(() => r.getNowait(), Timeout);
    // gevent: a second set replaces the value (2 2).
    r.set(1);
    r.set(2);
    assert.equal(await r.get(), 2);
    assert.equal(await r.wait(), 2);
    // gevent: set_exception after set: get() still returns 2, exception is set, successful.
    const x = new Error('x');
    r.setException(x);
    assert.equal(await r.get(), 2);
    assert.equal(r.exception, x);
    assert.equal(r.successful(), true);
    assert.equal(r.done(), true);
    assert.equal(r.cancel(), false);
    assert.equal(r.cancelled(), false);
  });

  test('an error: get raises it, wait resolves null; a later set wins', async () => {
    // gevent: None None False True; then get raises y; set(3) → 3 True.
    const r = new AsyncResult<number>();
    const y = new RangeError('y');
    r.setException(y);
    assert.equal(await r.wait(), null);
    assert.equal(r.value, null);
    assert.equal(r.successful(), false);
    assert.equal(r.ready(), true);
    await assert.rejects(r.get(), (e) => e === y);
    await assert.rejects(r.result(), (e) => e === y);
    r.set(3);
    assert.equal(await r.get(), 3);
    assert.equal(r.successful(), true);
    // set() with no value is ready and successful, with an undefined value.
    const n = new AsyncResult();
    n.set();
    assert.equal(n.ready(), true);
    assert.equal(n.successful(), true);
    assert.equal(await n.get(), undefined);
  });

  test('set hands the value to every waiting get, in the order they waited', async () => {
    const r = new AsyncResult<string>();
    const log: string[] = [];
    const gs = ['a', 'b', 'c'].map((n) => spawn(async () => log.push(`${n}:${await r.get()}`)));
    await sleep(0);
    assert.equal(r.linkcount(), 3);
    spawn(() => r.set('v'));
    for (const g of gs) await g.join();
    assert.deepEqual(log, ['a:v', 'b:v', 'c:v']);
    assert.equal(r.linkcount(), 0);
  });

  test('a greenlet killed in get() gets GreenletExit; a Timeout around get() raises the Timeout', async () => {
    const r = new AsyncResult();
    const g = spawn(() => r.get());
    await sleep(0);
    await g.kill();
    assert.ok(g.value instanceof GreenletExit);
    assert.equal(r.linkcount(), 0);
    const t = spawn(async () => {
      using to = new Timeout(10).start();
      try {
        return await r.get();
      } catch (e) {
        return e === to ? 'timed out' : e;
      }
    });
    assert.equal(await t.get(), 'timed out');
    assert.equal(r.linkcount(), 0);
  });

  test("setFrom is gevent's link protocol: greenlet.link(result.setFrom)", async () => {
    const ok = new AsyncResult<number>();
    spawn(() => 7).link(ok.setFrom);
    assert.equal(await ok.get(), 7);
    const bad = new AsyncResult();
    const boom = new TypeError('boom');
    let failed: Greenlet<never> | null = null;
    failed = spawn((): never => {
      throw boom;
    });
    failed.link(bad.setFrom);
    await assert.rejects(bad.get(), (e) => e === boom);
  });

  test('a get in the greenlet that sets it later times out rather than hanging', async () => {
    const r = new AsyncResult();
    const g = spawn(async () => {
      assert.ok(getcurrent() !== null);
      try {
        await r.get({ timeout: 5 });
      } catch (e) {
        return e instanceof Timeout;
      }
      return false;
    });
    assert.equal(await g.get(), true);
  });
});

describe('LoopExit for the main program', () => {
  test("the main program's Event.wait, AsyncResult.get and wait that nothing can end raise LoopExit", () => {
    const r = runRoot(
      `
      const g = await import('./src/gevent/index.ts');
      const name = (e) => (e instanceof g.LoopExit ? 'LoopExit' : 'other ' + String(e));
      try { await new g.Event().wait(); console.log('returned'); } catch (e) { console.log('Event.wait ' + name(e) + ' ' + /Event-1, which nothing sets/.test(e.message)); }
      try { await new g.AsyncResult().get(); console.log('returned'); } catch (e) { console.log('get ' + name(e)); }
      const r = new g.AsyncResult();
      setTimeout(() => r.set(5), 20);
      console.log('set by a timer: ' + (await r.get()));
    `,
      { execArgv: ['--input-type=module'], timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'Event.wait LoopExit true',
      'get LoopExit',
      'set by a timer: 5',
    ]);
    void LoopExit;
  });
});
