/**
 * gevent.wait and gevent.iwait. Expected orders checked against gevent 22.10.2 on
 * /usr/bin/python3 (3.11.2), with the same program in Python.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Event as AsyncioEvent, createTask, Future } from '../../src/asyncio/index.js';
import {
  AsyncResult,
  Event,
  GreenletExit,
  iwait,
  sleep,
  spawn,
  wait,
} from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';
import { runRoot } from '../support/root.js';

checkLeaks();

describe('iwait', () => {
  test('yields greenlets in the order they die', async () => {
    // gevent: [1, 2, 0] for sleeps of 30, 10, 20 ms. Here gates open in that order (sleeps that
    // close would race on a loaded machine: a greenlet that starts late sleeps late).
    const gates = [new Event(), new Event(), new Event()];
    const gs = gates.map((gate) => spawn(() => gate.wait()));
    spawn(async () => {
      for (const i of [1, 2, 0]) {
        gates[i]!.set();
        await gs[i]!.join();
      }
    });
    const order: number[] = [];
    for await (const g of iwait(gs)) order.push(gs.indexOf(g));
    assert.deepEqual(order, [1, 2, 0]);
  });

  test('objects ready already come first, in the order given; count stops early', async () => {
    // gevent: wait([a, b, c], timeout=0.01) with b and c ready → [b, c]; count=1 → [c].
    const a = new Event();
    const b = new AsyncResult<number>();
    const c = new Event();
    c.set();
    b.set(5);
    assert.deepEqual(await wait([a, b, c], { timeout: 10 }), [b, c]);
    assert.deepEqual(await wait([c, b], { count: 1 }), [c]);
    assert.deepEqual(await wait([a], { timeout: 5 }), []);
    assert.deepEqual(await wait([a, b], { count: 0 }), []);
    // No link is left behind by the waits that stopped early.
    assert.equal(a.linkcount(), 0);
    assert.equal(b.linkcount(), 0);
  });

  test('a timeout ends the iteration: what was ready before it is yielded, nothing after', async () => {
    const fast = spawn(() => 1);
    await fast.join();
    const gate = new Event();
    const slow = spawn(() => gate.wait());
    const got: unknown[] = [];
    const t0 = performance.now();
    for await (const g of iwait([slow, fast], { timeout: 30 })) got.push(g);
    assert.deepEqual(got, [fast]);
    assert.ok(performance.now() - t0 >= 29);
    assert.equal(gate.linkcount(), 1);
    gate.set();
    await slow.join();
  });

  test('mixes greenlets, Events, AsyncResults, asyncio tasks and futures', async () => {
    const e = new Event();
    const r = new AsyncResult<string>();
    const fut = new Future<number>();
    const taskGate = new AsyncioEvent();
    const task = createTask(async () => {
      await taskGate.wait();
      return 'task';
    });
    // Each step waits for the one before to be reported: the order is the driver's.
    const g = spawn(async () => {
      e.set();
      await sleep(5);
      r.set('r');
      await sleep(5);
      taskGate.set();
      await task;
      await sleep(5);
      fut.setResult(1);
    });
    const objs = [fut, task, r, e, g] as const;
    const seen: string[] = [];
    for await (const x of iwait(objs)) {
      seen.push(['fut', 'task', 'r', 'e', 'g'][objs.indexOf(x as never)]!);
    }
    // The future is set before the greenlet that sets it returns.
    assert.deepEqual(seen, ['e', 'r', 'task', 'fut', 'g']);
  });

  test('breaking out removes the links; the objects are left alone', async () => {
    const e = new Event();
    const gs = [5, 500].map((ms) => spawn(() => sleep(ms)));
    for await (const g of iwait([e, ...gs])) {
      assert.equal(g, gs[0]);
      break;
    }
    assert.equal(e.linkcount(), 0);
    assert.equal(gs[1]!.dead, false);
    await gs[1]!.kill();
  });

  test('a greenlet killed while it iterates gets GreenletExit, and the links go', async () => {
    const e = new Event();
    const it = spawn(async () => {
      for await (const _ of iwait([e])) return 'ready';
      return 'none';
    });
    await sleep(0);
    assert.equal(e.linkcount(), 1);
    await it.kill();
    assert.ok(it.value instanceof GreenletExit);
    assert.equal(e.linkcount(), 0);
  });

  test('what became ready while the loop body ran is still yielded after the timeout passed', async () => {
    // gevent: [0, 1] (the second greenlet died before the timeout; the body slept past it).
    const gates = [new Event(), new Event()];
    const gs = gates.map((gate) => spawn(() => gate.wait()));
    gates[0]!.set();
    const out: number[] = [];
    for await (const g of iwait(gs, { timeout: 200 })) {
      out.push(gs.indexOf(g));
      if (out.length === 1) {
        gates[1]!.set();
        await gs[1]!.join();
        await sleep(300);
      }
    }
    assert.deepEqual(out, [0, 1]);
  });

  test("the iterating greenlet runs before a greenlet's links made after the iteration began", async () => {
    // gevent: ['iwait got g', 'later link']: the link switches to the waiting consumer.
    const log: string[] = [];
    const gate = new Event();
    const g = spawn(() => gate.wait());
    const consumer = spawn(async () => {
      for await (const _ of iwait([g])) log.push('iwait got g');
    });
    await sleep(0);
    g.link(() => log.push('later link'));
    gate.set();
    await consumer.join();
    await sleep(0);
    assert.deepEqual(log, ['iwait got g', 'later link']);
  });

  test('the timeout runs from the first next(), not from the call; count above the objects waits for them all', async () => {
    // gevent: 1 (the timer starts in the first __next__); wait([a], count=5) → [a].
    const late = new Event();
    const it = iwait([late], { timeout: 100 });
    await sleep(150);
    setTimeout(() => late.set(), 20);
    const got: unknown[] = [];
    for await (const x of it) got.push(x);
    assert.deepEqual(got, [late]);
    assert.deepEqual(await wait([late], { count: 5 }), [late]);
  });

  test('an aborted signal ends the iteration with its reason and removes the links', async () => {
    const e = new Event();
    const ac = new AbortController();
    const seen: unknown[] = [];
    const p = (async () => {
      for await (const x of iwait([e], { signal: ac.signal })) seen.push(x);
    })();
    await sleep(0);
    assert.equal(e.linkcount(), 1);
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    assert.equal(e.linkcount(), 0);
    assert.deepEqual(seen, []);
  });

  test('bad arguments throw at once', () => {
    assert.throws(() => iwait(5 as never), TypeError);
    assert.throws(() => iwait([{}] as never), TypeError);
    assert.throws(() => iwait([], { count: -1 }), RangeError);
    assert.throws(() => iwait([], { count: 1.5 }), TypeError);
    assert.throws(() => iwait([], { timeout: 'a' as never }), TypeError);
  });
});

describe('wait', () => {
  test('resolves to the objects in the order they became ready', async () => {
    const results = [
      new AsyncResult<number>(),
      new AsyncResult<number>(),
      new AsyncResult<number>(),
    ];
    spawn(async () => {
      for (const i of [1, 2, 0]) {
        results[i]!.set(i);
        await sleep(1);
      }
    });
    const done = await wait(results);
    assert.deepEqual(
      done.map((r) => r.value),
      [1, 2, 0],
    );
    const gate = new Event();
    const both = [spawn(() => gate.wait()), spawn(() => 'quick')];
    const first = await wait(both, { count: 1 });
    assert.deepEqual(first, [both[1]]);
    gate.set();
    // The dead one's links were queued behind the gate's wake-up, before the other died.
    assert.deepEqual(await wait(both), [both[1], both[0]]);
    await assert.rejects(wait([1] as never), TypeError);
  });

  test('wait() with no objects inside a greenlet or task is refused', async () => {
    const g = spawn(() => wait());
    await g.join();
    assert.match(String(g.exception), /only the main program/);
  });

  test('the main program: wait() resolves once the loop has nothing left; with a timeout, false first', () => {
    const r = runRoot(
      `
      const g = await import('./src/gevent/index.ts');
      const log = [];
      g.spawn(async () => { await g.sleep(30); log.push('slept'); });
      const never = new g.Event();
      g.spawn(() => never.wait()); // blocked for ever: not work the loop still has
      console.log('timeout ' + (await g.wait(null, { timeout: 5 })) + ' ' + log.length);
      console.log('loop ' + (await g.wait()) + ' ' + log.join());
      const iwaited = [];
      for await (const x of g.iwait([never], { timeout: 5 })) iwaited.push(x);
      console.log('iwait ' + iwaited.length);
      try { await g.wait([never]); console.log('returned'); } catch (e) { console.log('wait ' + (e instanceof g.LoopExit ? 'LoopExit' : String(e))); }
      console.log('long ' + (await g.wait(null, { timeout: 30_000 })));
      console.log('end');
    `,
      { execArgv: ['--input-type=module'], timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'timeout false 0',
      'loop true slept',
      'iwait 0',
      'wait LoopExit',
      'long true',
      'end',
    ]);
  });
});
