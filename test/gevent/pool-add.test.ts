import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QueueFull } from '../../src/asyncio/index.js';
import { Greenlet, Pool, PoolFull, sleep, spawn } from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';
import { runRoot } from '../support/root.js';

checkLeaks();

/** gevent's `Pool.add`, `Pool.start` and `Pool.discard`, checked against gevent 22.10. */
describe('Pool.add, Pool.start, Pool.discard', () => {
  test('add on a full pool: PoolFull at once without blocking, or when the timeout passes', async () => {
    const pool = new Pool(1);
    const busy = await pool.spawn(sleep, 10_000);
    await assert.rejects(pool.add(new Greenlet(sleep, 0), { blocking: false }), (e: Error) => {
      assert.ok(e instanceof PoolFull);
      assert.ok(e instanceof QueueFull); // gevent's PoolFull is a queue.Full
      assert.equal((e as PoolFull).code, 'ERR_WEFT_POOL_FULL');
      return true;
    });
    await assert.rejects(pool.add(new Greenlet(sleep, 0), { timeout: 10 }), PoolFull);
    assert.equal(pool.length, 1);
    assert.equal(pool.freeCount(), 0);
    await busy.kill();
    assert.equal(pool.length, 0);
  });

  test('add waits for a slot and tracks the greenlet without starting it', async () => {
    const pool = new Pool(1);
    const first = await pool.spawn(sleep, 20);
    const g = new Greenlet(async () => 'ran');
    await pool.add(g);
    assert.equal(first.dead, true);
    assert.equal(pool.has(g), true);
    assert.equal(g.started, false);
    assert.equal(pool.full(), true);
    // Not started, it holds its slot until it runs and dies, or is discarded.
    g.start();
    assert.equal(await g.get(), 'ran');
    await sleep(0);
    assert.equal(pool.length, 0);
  });

  test('discard frees the slot at once and the greenlet runs on, untracked', async () => {
    const pool = new Pool(1);
    const g = await pool.spawn(async () => {
      await sleep(20);
      return 'done';
    });
    pool.discard(g);
    assert.equal(pool.length, 0);
    assert.equal(pool.freeCount(), 1);
    assert.equal(g.dead, false);
    assert.equal(await pool.join({ timeout: 0 }), true);
    const other = await pool.spawn(() => 'other');
    assert.equal(await other.get(), 'other');
    assert.equal(await g.get(), 'done');
    pool.discard(g); // not in the pool: nothing
    assert.equal(pool.length, 0);
  });

  test('start adds and starts; a dead greenlet added leaves on the next turn', async () => {
    const pool = new Pool(2);
    const g = new Greenlet(async () => {
      await sleep(5);
      return 'started';
    });
    await pool.start(g);
    assert.equal(g.started, true);
    assert.equal(pool.has(g), true);
    assert.equal(await g.get(), 'started');
    const dead = spawn(() => 1);
    await dead.join();
    const added = pool.add(dead);
    assert.equal(pool.length, 1);
    await added;
    await sleep(0);
    assert.equal(pool.length, 0);
  });

  test('adding a greenlet already in the pool takes no second slot', async () => {
    const pool = new Pool(2);
    const g = new Greenlet(() => 1);
    await pool.add(g);
    await pool.add(g, { blocking: false });
    assert.equal(pool.length, 1);
    assert.equal(pool.freeCount(), 1);
    pool.discard(g);
  });

  test('bad input: a non-greenlet or a bad option rejects with TypeError', async () => {
    const pool = new Pool(1);
    await assert.rejects(pool.add({} as never), TypeError);
    await assert.rejects(pool.add(new Greenlet(() => 1), { blocking: 'no' as never }), TypeError);
    await assert.rejects(pool.add(new Greenlet(() => 1), { timeout: 'soon' as never }), TypeError);
    assert.equal(pool.length, 0);
  });
});

describe('Pool.apply', () => {
  test('called from a greenlet of a full pool, it runs the call in that greenlet (no deadlock)', async () => {
    const pool = new Pool(1);
    const g = await pool.spawn(async () => pool.apply((x: number) => x * 10, [4]));
    assert.equal(await g.get({ timeout: 2000 }), 40);
    assert.equal(pool.length, 0);
  });

  test('from outside the pool it still runs in a new greenlet of the pool', async () => {
    const pool = new Pool(1);
    const seen: boolean[] = [];
    const v = await pool.apply(async () => {
      seen.push(pool.length === 1);
      return 'v';
    });
    assert.equal(v, 'v');
    assert.deepEqual(seen, [true]);
  });
});

describe('LoopExit for the main program', () => {
  test('a slot wait nothing can end names the verb, the pool and the greenlets holding it', () => {
    // The slots became a Semaphore (reviewer-245): its LoopExit named neither the verb nor the
    // holders ("waits to acquire a slot of Pool-1 …, which nothing releases").
    const r = runRoot(
      `
      const g = await import('./src/gevent/index.ts');
      const pool = new g.Pool(1);
      await pool.spawn(() => new g.Event().wait());
      const t = async (fn) => {
        try { await fn(); console.log('returned'); }
        catch (e) { console.log((e instanceof g.LoopExit ? 'LoopExit: ' : 'other: ') + e.message); }
      };
      await t(() => pool.spawn(g.sleep, 1));
      await t(() => pool.add(new g.Greenlet(g.sleep, 1)));
      await t(() => pool.waitAvailable());
      console.log('free ' + pool.freeCount());
    `,
      { execArgv: ['--input-type=module'], timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 4, r.stdout);
    ['spawn', 'add', 'waitAvailable'].forEach((verb, i) => {
      assert.match(
        lines[i] as string,
        new RegExp(
          `^LoopExit: .*the main program's Pool\\.${verb} waits for a slot of Pool-1 \\(size 1\\), held by Greenlet 'Greenlet-1', which waits for Event-`,
        ),
      );
    });
    assert.equal(lines[3], 'free 0');
  });
});
