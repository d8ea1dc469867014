import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTask, Future, Lock, Task, wrapFuture } from '../../src/asyncio/index.js';
import { Future as ConcurrentFuture } from '../../src/futures/index.js';
import {
  Greenlet,
  GreenletExit,
  getcurrent,
  joinall,
  killall,
  sleep,
  spawn,
  Timeout,
} from '../../src/gevent/index.js';
import { CancelledError, DeadlockError } from '../../src/internal/errors.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('Greenlet', () => {
  test('spawn runs the function with its arguments and keeps the value', async () => {
    const g = spawn(
      async (a: number, b: number) => {
        await sleep(1);
        return a + b;
      },
      2,
      3,
    );
    assert.equal(g.started, true);
    assert.equal(g.ready(), false);
    assert.equal(g.value, null);
    assert.equal(await g.join(), true);
    assert.equal(g.dead, true);
    assert.equal(g.started, false);
    assert.equal(g.successful(), true);
    assert.equal(g.value, 5);
    assert.equal(g.exception, null);
    assert.equal(await g.get(), 5);
  });

  test('join with a timeout on a running greenlet resolves false and leaves it running', async () => {
    const g = spawn(() => sleep(200, 'late'));
    assert.equal(await g.join({ timeout: 5 }), false);
    assert.equal(g.dead, false);
    assert.equal(g.value, null);
    await g.kill();
  });

  test('join on a failed greenlet does not raise; get raises its error', async () => {
    const boom = new Error('boom');
    const g = spawn(async () => {
      await sleep(1);
      throw boom;
    });
    assert.equal(await g.join(), true);
    assert.equal(g.successful(), false);
    assert.equal(g.exception, boom);
    assert.equal(g.value, null);
    await assert.rejects(g.get(), (e) => e === boom);
  });

  test('get with a timeout on a running greenlet raises Timeout', async () => {
    const g = spawn(() => sleep(200));
    await assert.rejects(g.get({ timeout: 5 }), (e) => e instanceof Timeout && e.ms === 5);
    await assert.rejects(g.get({ block: false }), Timeout);
    await g.kill();
  });

  test('kill while sleeping raises GreenletExit inside and counts as successful', async () => {
    const seen: string[] = [];
    const g = spawn(async () => {
      try {
        await sleep(10_000);
        seen.push('woke');
      } catch (e) {
        seen.push(e instanceof GreenletExit ? 'GreenletExit' : 'other');
        seen.push(e instanceof CancelledError ? 'is CancelledError' : 'not CancelledError');
        throw e;
      }
    });
    await sleep(1);
    await g.kill();
    assert.deepEqual(seen, ['GreenletExit', 'is CancelledError']);
    assert.equal(g.dead, true);
    assert.equal(g.successful(), true);
    assert.ok(g.value instanceof GreenletExit);
    assert.equal((g.value as GreenletExit).code, 'ERR_WEFT_GREENLET_EXIT');
    assert.equal(g.exception, null);
  });

  test("kill while awaiting an asyncio future raises GreenletExit, not the future's CancelledError", async () => {
    const awaited = [
      () => new Future<never>(),
      () => wrapFuture(new ConcurrentFuture<never>()),
      () => createTask(() => sleep(10_000)),
    ];
    for (const make of awaited) {
      let inner: Future<never> | null = null;
      let seen: unknown = null;
      const g = spawn(async () => {
        inner = make() as Future<never>;
        try {
          await inner;
        } catch (e) {
          seen = e;
          throw e;
        }
      });
      await sleep(1);
      await g.kill();
      assert.ok(seen instanceof GreenletExit, `raised ${String(seen)}`);
      assert.equal(g.successful(), true);
      assert.ok(g.value instanceof GreenletExit);
      assert.equal(inner!.cancelled(), true);
    }
  });

  test('kill with a custom exception makes the greenlet fail with it', async () => {
    const err = new Error('stop');
    const g = spawn(() => sleep(10_000));
    await sleep(1);
    await g.kill({ exception: err });
    assert.equal(g.successful(), false);
    assert.equal(g.exception, err);
  });

  test('kill with an error class raises a new instance of it in each greenlet, as gevent', async () => {
    class Stop extends Error {}
    const caught = async () => {
      try {
        await sleep(10_000);
      } catch (e) {
        return e;
      }
    };
    const g = spawn(caught);
    await sleep(1);
    await g.kill({ exception: Stop });
    assert.ok(g.value instanceof Stop);

    const gs = [spawn(caught), spawn(caught)];
    await sleep(1);
    await killall(gs, { exception: Stop });
    assert.ok(gs[0]!.value instanceof Stop && gs[1]!.value instanceof Stop);
    assert.notEqual(gs[0]!.value, gs[1]!.value);

    // Uncaught, the class's error fails the greenlet; GreenletExit (the class) does not.
    const failing = spawn(() => sleep(10_000));
    await sleep(1);
    await failing.kill({ exception: Stop });
    assert.ok(failing.exception instanceof Stop);
    const exited = spawn(() => sleep(10_000));
    await exited.kill({ exception: GreenletExit });
    assert.equal(exited.successful(), true);
    assert.ok(exited.value instanceof GreenletExit);

    class NeedsArg extends Error {
      constructor(readonly why: number) {
        super(String(why));
      }
    }
    const typed = new Greenlet(() => 1);
    const misuses: (() => Promise<void>)[] = [
      // @ts-expect-error a class is made with no arguments: one that needs some does not compile
      () => typed.kill({ exception: NeedsArg }),
      // @ts-expect-error not an error class
      () => typed.kill({ exception: Map }),
      // @ts-expect-error not an error
      () => killall([typed], { exception: 'stop' }),
    ];
    for (const call of misuses.slice(1)) await assert.rejects(call(), TypeError);
  });

  test('a greenlet killing itself gets the GreenletExit from the kill, after the greenlets ready', async () => {
    const order: string[] = [];
    const g = spawn(async () => {
      spawn(() => {
        order.push('other greenlet');
      });
      try {
        await getcurrent()!.kill();
        order.push('after kill');
      } catch (e) {
        order.push(e instanceof GreenletExit ? 'GreenletExit' : String(e));
        throw e;
      }
    });
    await g.join();
    assert.deepEqual(order, ['other greenlet', 'GreenletExit']);
    assert.equal(g.successful(), true);

    // With block false it goes on to its next weft await, as gevent's goes on to its next switch.
    order.length = 0;
    const h = spawn(async () => {
      try {
        getcurrent()!.kill({ block: false });
        order.push('after kill');
        await sleep(0);
        order.push('after sleep');
      } catch (e) {
        order.push(e instanceof GreenletExit ? 'GreenletExit' : String(e));
      }
    });
    await h.join();
    assert.deepEqual(order, ['after kill', 'GreenletExit']);
  });

  test('kill before the first step means the body never runs and it is dead at once', async () => {
    let ran = false;
    const g = spawn(() => {
      ran = true;
    });
    const p = g.kill({ block: false });
    assert.equal(g.dead, true);
    await p;
    await sleep(1);
    assert.equal(ran, false);
    assert.ok(g.value instanceof GreenletExit);
  });

  test('kill before the first step with a custom exception fails the greenlet with it', async () => {
    const err = new Error('never ran');
    const g = spawn(() => 'body');
    g.kill({ exception: err });
    await sleep(1);
    assert.equal(g.exception, err);
    assert.equal(g.successful(), false);
    assert.equal(g.task?.cancelled(), true);
  });

  test('kill of an unstarted greenlet prevents start and still runs links', async () => {
    const g = new Greenlet(() => 'never');
    const linked: unknown[] = [];
    g.link((x) => linked.push(x));
    await g.kill();
    g.start();
    assert.equal(g.task, null);
    await sleep(0);
    assert.deepEqual(linked, [g]);
    assert.equal(await g.join(), true);
  });

  test('kill of a dead greenlet does nothing', async () => {
    const g = spawn(() => 7);
    await g.join();
    await g.kill();
    assert.equal(g.value, 7);
  });

  test('a kill takes its turn on the ready queue: a greenlet woken before it runs first', async () => {
    // gevent: ['g1 kill g0', 'g0 step', 'g0 exit']: the kill is a hub callback queued behind
    // g0's sleep(0), which g0 finishes before the kill reaches it at its next sleep.
    const log: string[] = [];
    const g0 = spawn(async () => {
      try {
        await sleep(0);
        log.push('g0 step');
        await sleep(10_000);
      } catch (e) {
        if (e instanceof GreenletExit) log.push('g0 exit');
        throw e;
      }
    });
    const g1 = spawn(() => {
      void g0.kill({ block: false });
      log.push('g1 kill g0');
    });
    await joinall([g0, g1]);
    assert.deepEqual(log, ['g1 kill g0', 'g0 step', 'g0 exit']);
  });

  test('a blocking kill resumes the killer right after the killed greenlet, before its joiners', async () => {
    // gevent: ['target exit', 'killer', 'joiner']: the kill's callback throws into the target
    // and then switches to the killer; the joiner is served by the death's own callback, later.
    const log: string[] = [];
    const t = spawn(async () => {
      try {
        await sleep(10_000);
      } catch (e) {
        if (e instanceof GreenletExit) log.push('target exit');
        throw e;
      }
    });
    const j = spawn(async () => {
      await t.join();
      log.push('joiner');
    });
    const k = spawn(async () => {
      await sleep(0);
      await t.kill();
      log.push('killer');
    });
    await joinall([t, j, k]);
    assert.deepEqual(log, ['target exit', 'killer', 'joiner']);
  });

  test('a blocking kill is a wait: a kill of the killer meanwhile is raised from it', async () => {
    // gevent: ['target caught', 'x killed killer', 'killer killed in kill', 'target done'].
    const log: string[] = [];
    const t = spawn(async () => {
      try {
        await sleep(10_000);
      } catch {
        log.push('target caught');
        await sleep(20);
        log.push('target done');
      }
    });
    const k = spawn(async () => {
      await sleep(0);
      try {
        await t.kill();
        log.push('kill returned');
      } catch (e) {
        if (e instanceof GreenletExit) log.push('killer killed in kill');
        throw e;
      }
    });
    const x = spawn(async () => {
      await sleep(0);
      await sleep(0);
      void k.kill({ block: false });
      log.push('x killed killer');
    });
    await joinall([t, k, x]);
    assert.deepEqual(log, [
      'target caught',
      'x killed killer',
      'killer killed in kill',
      'target done',
    ]);
    assert.ok(k.successful() && t.dead);
  });

  test('kill with block false returns before the greenlet has died', async () => {
    const order: string[] = [];
    const g = spawn(async () => {
      try {
        await sleep(10_000);
      } finally {
        order.push('cleanup');
      }
    });
    await sleep(1);
    await g.kill({ block: false });
    order.push('kill returned');
    await g.join();
    assert.deepEqual(order, ['kill returned', 'cleanup']);
  });

  test('kill with a timeout gives up waiting on a greenlet that ignores it', async () => {
    let stop = false;
    const g = spawn(async () => {
      for (;;) {
        try {
          await sleep(2);
        } catch {
          // ignores the kill
        }
        if (stop) return 'done';
      }
    });
    await sleep(1);
    await g.kill({ timeout: 20 });
    assert.equal(g.dead, false);
    stop = true;
    await g.join();
    assert.equal(g.value, 'done');
  });

  for (const ms of [3e9, Number.POSITIVE_INFINITY]) {
    test(`kill with a timeout of ${ms} waits for the greenlet's death`, async () => {
      // Node fires a setTimeout past 2^31 - 1 ms after 1 ms; the kill must not give up early.
      const g = spawn(async () => {
        try {
          await sleep(10_000);
        } finally {
          await sleep(20);
        }
      });
      await sleep(1);
      await g.kill({ timeout: ms });
      assert.equal(g.dead, true);
    });
  }

  test('cancelling a task blocked in join ends the wait and leaves the greenlet running', async () => {
    const target = spawn(() => sleep(10_000));
    const joiner = spawn(() => target.join());
    await sleep(1);
    await joiner.kill();
    assert.equal(joiner.successful(), true);
    assert.equal(target.dead, false);
    await target.kill();
  });

  test('join of itself raises DeadlockError', async () => {
    const g = spawn(async () => {
      await getcurrent()!.join();
    });
    await g.join();
    assert.ok(g.exception instanceof DeadlockError);
  });

  test('getcurrent is the greenlet running, null outside', async () => {
    const g = spawn(async () => {
      await sleep(0);
      return getcurrent();
    });
    assert.equal(getcurrent(), null);
    assert.equal(await g.get(), g);
  });

  test('name defaults to Greenlet-N and names the task', async () => {
    const g = spawn(() => undefined);
    assert.match(g.name, /^Greenlet-\d+$/);
    g.name = 'worker';
    assert.equal(g.task?.getName(), 'worker');
    await g.join();
  });

  test('link callbacks run once in registration order after death; unlink removes one', async () => {
    const order: string[] = [];
    const g = spawn(() => sleep(1));
    const b = () => order.push('b');
    g.link(() => order.push('a'));
    g.link(b);
    g.link(() => order.push('c'));
    g.unlink(b);
    await g.join();
    await sleep(0);
    g.link(() => order.push('late'));
    await sleep(0);
    assert.deepEqual(order, ['a', 'c', 'late']);
  });

  test('unlink removes one registration of a callback, the first, as gevent', async () => {
    const calls: string[] = [];
    const cb = (g: Greenlet<unknown>) => calls.push(g.successful() ? 'ok' : 'failed');
    const twice = new Greenlet(() => 1);
    twice.link(cb);
    twice.link(cb);
    twice.link(cb);
    twice.unlink(cb);
    twice.unlink(cb);
    twice.start();
    await twice.join();
    await sleep(0);
    assert.deepEqual(calls, ['ok']);

    // linkException first: the one unlink removes it, and the linkValue one stays.
    calls.length = 0;
    const failing = new Greenlet(() => {
      throw new Error('boom');
    });
    failing.linkException(cb);
    failing.linkValue(cb);
    failing.unlink(cb);
    failing.start();
    await failing.join();
    await sleep(0);
    assert.deepEqual(calls, []);
  });

  test('a link made after death runs on the next turn, and unlink before then removes it', async () => {
    const calls: string[] = [];
    const g = spawn(() => 1);
    await g.join();
    await sleep(0);
    const cb = () => calls.push('removed');
    g.link(cb);
    g.link(() => calls.push('kept'));
    g.unlink(cb);
    assert.deepEqual(calls, []);
    await sleep(0);
    assert.deepEqual(calls, ['kept']);
  });

  test('greenlets and asyncio tasks share one ready queue: a lock serves them in FIFO order', async () => {
    const lock = new Lock();
    const order: string[] = [];
    await lock.acquire();
    const g1 = spawn(() => lock.run(() => order.push('greenlet 1')));
    const t = createTask(() => lock.run(() => order.push('task')));
    const g2 = spawn(() => lock.run(() => order.push('greenlet 2')));
    await sleep(1);
    lock.release();
    await joinall([g1, g2]);
    await t;
    assert.deepEqual(order, ['greenlet 1', 'task', 'greenlet 2']);
    assert.ok(g1.task instanceof Task);
  });

  test('killall kills every greenlet and waits for them', async () => {
    const gs = [1, 2, 3].map(() => spawn(() => sleep(10_000)));
    await sleep(1);
    await killall(gs);
    assert.ok(gs.every((g) => g.dead && g.value instanceof GreenletExit));
  });

  test('killall raises into each greenlet in turn from one turn of the ready queue; the killer resumes before the joiners', async () => {
    // gevent: ['a exit', 'b exit', 'killer', 'joiner']: its one hub callback throws into a,
    // then b, then switches to the killer (both are dead: nothing to join); the joiner of a is
    // served by a's death callback, later.
    const log: string[] = [];
    const target = (n: string) =>
      spawn(async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          log.push(`${n} exit`);
          throw e;
        }
      });
    const ts = [target('a'), target('b')];
    const j = spawn(async () => {
      await ts[0]!.join();
      log.push('joiner');
    });
    await spawn(async () => {
      await sleep(0);
      await killall(ts);
      log.push('killer');
    }).join();
    await j.join();
    assert.deepEqual(log, ['a exit', 'b exit', 'killer', 'joiner']);
  });

  test('bad input: spawn throws TypeError; the verbs returning a promise reject (bug-bash g12)', async () => {
    // spawn returns a greenlet, not a promise: it throws, as gevent raises.
    assert.throws(() => spawn(42 as any), TypeError);
    const g = new Greenlet(() => 1);
    const calls: [string, () => Promise<unknown>, new (...a: any[]) => Error][] = [
      ['join timeout', () => g.join({ timeout: 'x' as any }), TypeError],
      ['join NaN', () => g.join({ timeout: Number.NaN }), TypeError],
      ['kill exception', () => g.kill({ exception: 'x' as any }), TypeError],
      ['kill null', () => g.kill(null as any), TypeError],
      ['kill block', () => g.kill({ block: 'x' as any }), TypeError],
      ['get block', () => g.get({ block: 'x' as any }), TypeError],
    ];
    for (const [what, call, cls] of calls) {
      let p: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        p = call();
      }, what);
      await assert.rejects(p as Promise<unknown>, cls, what);
    }
    assert.equal(g.started, false); // nothing was killed or started
  });
});
