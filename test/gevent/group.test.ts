/**
 * gevent.pool.Group, and `applyAsync` on Group and Pool. Expected values checked against
 * gevent 22.10.2 on /usr/bin/python3 (3.11.2), with the same program in Python.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Greenlet,
  GreenletExit,
  Group,
  getcurrent,
  Pool,
  sleep,
  spawn,
  Timeout,
} from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';
import { runRoot } from '../support/root.js';

checkLeaks();

describe('Group', () => {
  test('spawn returns the greenlet at once and tracks it until it dies', async () => {
    // gevent: Greenlet 1 True False True
    const group = new Group();
    const g = group.spawn(async (ms: number) => {
      await sleep(ms);
      return ms;
    }, 5);
    assert.ok(g instanceof Greenlet);
    assert.equal(group.length, 1);
    assert.equal(group.has(g), true);
    assert.equal(group.contains(g), true);
    assert.equal(group.full(), false);
    assert.deepEqual([...group], [g]);
    assert.equal(await group.join(), true);
    assert.equal(g.value, 5);
    assert.equal(group.length, 0);
    assert.equal(group.has(g), false);
    // gevent: wait_available() returns at once; join(timeout=0) of an empty group is True.
    await group.waitAvailable();
    assert.equal(await group.join({ timeout: 0 }), true);
  });

  test('add tracks without starting, start starts, discard stops tracking', async () => {
    const group = new Group();
    const g = new Greenlet(() => sleep(5));
    group.add(g);
    group.add(g);
    assert.equal(group.length, 1);
    assert.equal(g.started, false);
    group.start(g);
    assert.equal(g.started, true);
    group.discard(g);
    assert.equal(group.length, 0);
    assert.equal(await group.join({ timeout: 0 }), true);
    await g.join();
    assert.throws(() => group.add(42 as never), TypeError);
  });

  test('new Group(greenlets) tracks them, and join waits for them', async () => {
    // gevent's Group([g]).join() returns at once with g alive (its "empty" event starts set):
    // weft waits, as join's documentation promises.
    const g1 = spawn(() => sleep(20));
    const group = new Group([g1]);
    assert.equal(group.length, 1);
    assert.equal(await group.join(), true);
    assert.equal(g1.dead, true);
    assert.throws(() => new Group([1] as never), TypeError);
  });

  test('join({ timeout }) resolves false with the greenlets still there; kill empties the group', async () => {
    // gevent: False 1, then 0 after kill()
    const group = new Group();
    group.spawn(() => sleep(10_000));
    assert.equal(await group.join({ timeout: 10 }), false);
    assert.equal(group.length, 1);
    await group.kill();
    assert.equal(group.length, 0);
  });

  test('join({ raiseError }) raises the error of a greenlet that failed, once the group is empty', async () => {
    // gevent: raised boom, len 0
    const group = new Group();
    const boom = new RangeError('boom');
    group.spawn(async () => {
      await sleep(5);
      throw boom;
    });
    group.spawn(() => sleep(20));
    await assert.rejects(group.join({ raiseError: true }), (e) => e === boom);
    assert.equal(group.length, 0);
  });

  test('a greenlet killed while waiting in join gets GreenletExit; the group is untouched', async () => {
    // gevent: GreenletExit 1
    const group = new Group();
    const member = group.spawn(() => sleep(10_000));
    const joiner = spawn(() => group.join());
    await sleep(0);
    await joiner.kill();
    assert.ok(joiner.value instanceof GreenletExit);
    assert.equal(group.length, 1);
    assert.equal(member.dead, false);
    await group.kill();
  });

  test('kill waits for a greenlet that cleans up after GreenletExit', async () => {
    // gevent: ['exit', 'cleaned'] 0
    const log: string[] = [];
    const group = new Group();
    group.spawn(async () => {
      try {
        await sleep(10_000);
      } catch (e) {
        if (!(e instanceof GreenletExit)) throw e;
        log.push('exit');
        await sleep(10);
        log.push('cleaned');
      }
    });
    await sleep(0);
    await group.kill();
    assert.deepEqual(log, ['exit', 'cleaned']);
    assert.equal(group.length, 0);
  });

  test('killone kills one member, once; not a greenlet outside the group', async () => {
    // gevent: killone(x) → None, x dead, value GreenletExit
    const group = new Group();
    const x = group.spawn(() => sleep(10_000));
    const y = group.spawn(() => sleep(10_000));
    const outsider = spawn(() => sleep(10_000));
    await sleep(0);
    await group.killone(x);
    assert.equal(x.dead, true);
    assert.ok(x.value instanceof GreenletExit);
    assert.equal(y.dead, false);
    await group.killone(outsider);
    assert.equal(outsider.dead, false);
    await group.killone(y, { block: false });
    assert.equal(y.dead, false);
    await y.join();
    assert.ok(y.value instanceof GreenletExit);
    await outsider.kill();
    await assert.rejects(group.killone(x, { timeout: 'a' as never }), TypeError);
  });

  test('killone of the calling member raises the kill in it, as its own kill() does', async () => {
    // gevent: ['GreenletExit'] GreenletExit 0 (killone's join switches to the hub, where the
    // kill is raised); not a DeadlockError from a join of itself.
    const group = new Group();
    const log: string[] = [];
    const g = group.spawn(async () => {
      try {
        await group.killone(getcurrent()!);
        log.push('returned');
      } catch (e) {
        log.push(e instanceof GreenletExit ? 'GreenletExit' : String(e));
        throw e;
      }
    });
    await g.join();
    assert.deepEqual(log, ['GreenletExit']);
    assert.ok(g.value instanceof GreenletExit);
    assert.equal(group.length, 0);
  });

  test('discard of the last member wakes a join waiting for the group to empty', async () => {
    // gevent: True (discard sets the "empty" flag); the discarded greenlet runs on.
    const group = new Group();
    const member = group.spawn(() => sleep(10_000));
    const joiner = spawn(() => group.join({ timeout: 5000 }));
    await sleep(0);
    group.discard(member);
    assert.equal(await joiner.get(), true);
    assert.equal(member.dead, false);
    await member.kill();
  });

  test('map, imap, imapUnordered, apply', async () => {
    // gevent: [2, 3, 4] [2, 3, 4] [2, 3, 4] and apply → 3
    const group = new Group();
    const inc = async (a: number) => {
      await sleep(4 - a);
      return a + 1;
    };
    assert.deepEqual(await group.map(inc, [1, 2, 3]), [2, 3, 4]);
    const ordered: number[] = [];
    for await (const v of group.imap(inc, [1, 2, 3])) ordered.push(v);
    assert.deepEqual(ordered, [2, 3, 4]);
    const unordered: number[] = [];
    for await (const v of group.imapUnordered(inc, [1, 2, 3])) unordered.push(v);
    assert.deepEqual(
      unordered.sort((p, q) => p - q),
      [2, 3, 4],
    );
    assert.equal(await group.apply((a: number, b: number) => a + b, [1, 2]), 3);
    // From a greenlet of the group, apply runs in place.
    const inner = group.spawn(() => group.apply(() => group.length));
    assert.equal(await inner.get(), 1);
  });

  test('applyAsync returns the tracked greenlet at once; the callback gets the value, not an error', async () => {
    // gevent: Greenlet True; callback [8], value 8; a call that raises: no callback.
    const group = new Group();
    const seen: unknown[] = [];
    const x = group.applyAsync((a: number) => a * 2, [4], { callback: (v) => seen.push(v) });
    assert.ok(x instanceof Greenlet);
    assert.equal(group.has(x), true);
    await x.join();
    await sleep(0);
    assert.deepEqual(seen, [8]);
    assert.equal(x.value, 8);
    const y = group.applyAsync(
      (): number => {
        throw new RangeError('no');
      },
      [],
      { callback: (v) => seen.push(v) },
    );
    await y.join();
    await sleep(5);
    assert.deepEqual(seen, [8]);
    assert.throws(() => group.applyAsync(5 as never), TypeError);
  });
});

describe('Pool.applyAsync', () => {
  test('in a full pool it returns an untracked greenlet at once, which waits for a slot', async () => {
    // gevent: x in p False, len 1, dead False; get() 15, callback [15]
    const pool = new Pool(1);
    await pool.spawn(() => sleep(20));
    const seen: number[] = [];
    const x = pool.applyAsync((a: number) => a * 3, [5], { callback: (v) => seen.push(v) });
    assert.ok(x instanceof Greenlet);
    assert.equal(pool.has(x), false);
    assert.equal(pool.length, 1);
    assert.equal(x.dead, false);
    assert.equal(await x.get(), 15);
    await sleep(0);
    assert.deepEqual(seen, [15]);
    // With room, the greenlet is the pool's.
    const y = pool.applyAsync(() => 'y');
    assert.equal(pool.has(y), true);
    assert.equal(await y.get(), 'y');
  });

  test('Pool keeps its behaviour on GroupBase: the same join, kill and slot hand-off', async () => {
    const pool = new Pool(1);
    const a = await pool.spawn(() => sleep(10));
    const pending = pool.spawn(() => 'second');
    assert.equal(pool.full(), true);
    const b = await pending;
    assert.equal(a.dead, true);
    assert.equal(await b.get(), 'second');
    assert.equal(await pool.join(), true);
    await pool.spawn(() => sleep(10_000));
    await pool.kill({ timeout: 1000 });
    assert.equal(pool.length, 0);
    assert.equal(pool.freeCount(), 1);
    void Timeout;
  });
});

describe('LoopExit for the main program', () => {
  test("the main program's join of a group whose greenlet waits for ever raises LoopExit", () => {
    const r = runRoot(
      `
      const g = await import('./src/gevent/index.ts');
      const group = new g.Group();
      group.spawn(() => new g.Event().wait());
      try { await group.join(); console.log('returned'); } catch (e) { console.log((e instanceof g.LoopExit ? 'LoopExit ' : 'other ') + /join of Group-1/.test(e.message)); }
      console.log('end ' + group.length);
    `,
      { execArgv: ['--input-type=module'], timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['LoopExit true', 'end 1']);
  });

  test("the main program's kill of a pool whose greenlet outlives it for ever names the kill", () => {
    // Group.kill waits through joinall since helper-E's change: its LoopExit said "the main
    // program's joinall waits for …", a call the program never made (reviewer-245).
    const r = runRoot(
      `
      const g = await import('./src/gevent/index.ts');
      const pool = new g.Pool(1);
      const never = new g.Event();
      await pool.spawn(async () => {
        try { await g.sleep(100000); } catch (e) { if (e instanceof g.GreenletExit) await never.wait(); }
      });
      await g.sleep(0);
      try { await pool.kill(); console.log('returned'); } catch (e) { console.log((e instanceof g.LoopExit ? 'LoopExit ' : 'other ') + /the main program's kill of Pool-1 \\(size 1\\) waits for Greenlet 'Greenlet-1', which waits for Event-1/.test(e.message)); }
      console.log('end ' + pool.length);
    `,
      { execArgv: ['--input-type=module'], timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['LoopExit true', 'end 1']);
  });
});
