import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Event } from '../../src/asyncio/index.js';
import {
  Greenlet,
  GreenletExit,
  joinall,
  Pool,
  sleep,
  spawn,
  spawnLater,
} from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('bug bash bb5 (gevent)', () => {
  test('joinall with count answers at most count greenlets, even when more are dead already', async () => {
    // gevent: joinall(gs, count=1) → [gs[0]] when all three are dead; count=0 → [].
    const gs = [0, 1, 2].map((i) => spawn(() => i));
    await joinall(gs);
    assert.deepEqual(await joinall(gs, { count: 1 }), [gs[0]]);
    assert.deepEqual(await joinall(gs, { count: 2 }), [gs[0], gs[1]]);
    assert.deepEqual(await joinall(gs, { count: 0 }), []);
    assert.deepEqual(await joinall(gs), gs);
  });

  test('joinall with count and raiseError raises only for the greenlets it answers', async () => {
    // gevent iterates iwait(count=1): it takes the first dead one and stops before the failure.
    const ok = spawn(() => 'ok');
    const bad = spawn(async () => {
      throw new Error('bad');
    });
    await joinall([ok, bad]);
    assert.deepEqual(await joinall([ok, bad], { count: 1, raiseError: true }), [ok]);
    await assert.rejects(joinall([ok, bad], { count: 2, raiseError: true }), /bad/);
  });

  test('a spawned greenlet killed before it ran calls its links on the next turn, as gevent', async () => {
    // gevent: g = spawn(f); g.link(cb); g.kill(block=False); spawn(other); sleep(0)
    //   → ['link', 'other', 'main']: the links come first, not after the greenlets spawned later.
    const order: string[] = [];
    const g = spawn(() => 1);
    g.link(() => order.push('link'));
    const killed = g.kill({ block: false });
    assert.equal(g.dead, true);
    assert.equal(order.length, 0, 'not from inside kill()');
    spawn(() => order.push('other'));
    await sleep(0);
    order.push('main');
    assert.deepEqual(order, ['link', 'other', 'main']);
    assert.ok(g.value instanceof GreenletExit);
    await killed;
    await g.task?.then(
      () => undefined,
      () => undefined,
    );
    await sleep(0);
    assert.deepEqual(order, ['link', 'other', 'main'], 'the links run once');
  });

  test('linkValue and linkException run only for their outcome; unlink removes them', async () => {
    // gevent: ['v', 'any', 'e', 'any', 'kill-v'] (a kill is a success).
    const seen: string[] = [];
    for (const f of [(): unknown => 1, (): unknown => Promise.reject(new Error('x'))]) {
      const g = spawn(f);
      g.linkValue(() => seen.push('v'));
      g.linkException(() => seen.push('e'));
      g.link(() => seen.push('any'));
      await g.join();
      await sleep(0);
    }
    const k = spawn(() => sleep(60_000));
    await sleep(0);
    k.linkValue(() => seen.push('kill-v'));
    k.linkException(() => seen.push('kill-e'));
    await k.kill();
    await sleep(0);
    const u = spawn(() => 1);
    const cb = (): void => {
      seen.push('unlinked');
    };
    u.linkValue(cb);
    u.linkException(cb);
    u.unlink(cb);
    await u.join();
    await sleep(0);
    assert.deepEqual(seen, ['v', 'any', 'e', 'any', 'kill-v']);
    // Linked once dead: still called (on the ready queue), and only for the outcome.
    u.linkValue(() => seen.push('late-v'));
    u.linkException(() => seen.push('late-e'));
    await sleep(0);
    assert.deepEqual(seen.slice(5), ['late-v']);
    assert.throws(() => u.linkValue(42 as never), TypeError);
  });

  test('Pool.imap yields the results in the order of the items', async () => {
    // gevent: list(Pool(3).imap(f, range(3))) → [0, 1, 2] while they finish 2, 1, 0.
    const pool = new Pool(3);
    const finished: number[] = [];
    // Item x finishes only after item x + 1 has: they finish 2, 1, 0.
    const done = [0, 1, 2].map(() => new Event());
    const f = async (x: number): Promise<number> => {
      if (x < 2) await done[x + 1]!.wait();
      await sleep(0);
      finished.push(x);
      done[x]!.set();
      return x * 10;
    };
    const out: number[] = [];
    for await (const v of pool.imap(f, [0, 1, 2])) out.push(v);
    assert.deepEqual(finished, [2, 1, 0]);
    assert.deepEqual(out, [0, 10, 20]);
    assert.equal(pool.length, 0);
    await assert.rejects(async () => {
      for await (const _ of pool.imap(
        (x: number) => {
          if (x === 1) throw new RangeError('bad item');
          return x;
        },
        [0, 1, 2],
      )) {
        // drain
      }
    }, RangeError);
  });

  test('spawnLater: started at once, runs later; a kill before then means it never runs', async () => {
    // gevent: g = spawn_later(s, f) → g.started is True, g.dead False; g.get() → f's value.
    const ran: string[] = [];
    const g = spawnLater(5, () => {
      ran.push('g');
      return 'later';
    });
    assert.equal(g.started, true);
    assert.equal(g.dead, false);
    g.start(); // a no-op while its timer runs, as gevent's start()
    await sleep(0);
    assert.equal(ran.length, 0);
    assert.equal(await g.get(), 'later');
    const k = spawnLater(20, () => ran.push('k'));
    const links: unknown[] = [];
    k.link((x) => links.push(x));
    await k.kill();
    assert.equal(k.dead, true);
    assert.equal(k.started, false);
    assert.ok(k.value instanceof GreenletExit);
    await sleep(60);
    assert.deepEqual(ran, ['g'], 'the killed one never ran');
    assert.deepEqual(links, [k]);
    const h = new Greenlet(() => 'h');
    h.startLater(0);
    assert.equal(await h.get(), 'h');
    assert.throws(() => spawnLater(-1, () => 1), RangeError);
    assert.throws(() => spawnLater('1' as never, () => 1), TypeError);
    assert.throws(() => spawnLater(1, 42 as never), TypeError);
  });
});
