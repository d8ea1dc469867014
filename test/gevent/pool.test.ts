import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Event } from '../../src/asyncio/index.js';
import { type Greenlet, GreenletExit, Pool, sleep, spawn } from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** Counts how many calls run at once. */
function gauge() {
  const g = {
    now: 0,
    max: 0,
    async run<T>(ms: number, v: T): Promise<T> {
      g.now++;
      g.max = Math.max(g.max, g.now);
      try {
        await sleep(ms);
        return v;
      } finally {
        g.now--;
      }
    },
  };
  return g;
}

describe('Pool', () => {
  test('spawn never lets more than size greenlets run at once', async () => {
    const pool = new Pool(3);
    const g = gauge();
    const spawned: Greenlet<number>[] = [];
    for (let i = 0; i < 10; i++) {
      spawned.push(await pool.spawn((n: number) => g.run(2, n), i));
      assert.ok(pool.length <= 3);
    }
    assert.equal(await pool.join(), true);
    assert.equal(g.max, 3);
    assert.deepEqual(
      spawned.map((x) => x.value),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.equal(pool.length, 0);
    assert.equal(pool.freeCount(), 3);
  });

  test('map bounds concurrency and keeps the order of the items', async () => {
    const pool = new Pool(2);
    const g = gauge();
    const out = await pool.map((n: number) => g.run(n % 3, n * 10), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(out, [10, 20, 30, 40, 50, 60]);
    assert.equal(g.max, 2);
  });

  test('imapUnordered yields in completion order', async () => {
    const pool = new Pool(3);
    // Each item finishes when its gate opens; each result opens the next gate, so the finishing
    // order is 1, 2, 0 however slow the machine.
    const gates = [new Event(), new Event(), new Event()];
    const next: Record<number, number> = { 1: 2, 2: 0 };
    const got: number[] = [];
    gates[1]?.set();
    for await (const v of pool.imapUnordered(
      async (i: number) => {
        await gates[i]?.wait();
        return i;
      },
      [0, 1, 2],
    )) {
      got.push(v);
      const n = next[v];
      if (n !== undefined) gates[n]?.set();
    }
    assert.deepEqual(got, [1, 2, 0]);
  });

  test('map raises the first error and kills the greenlets still running', async () => {
    const pool = new Pool(4);
    const killed: string[] = [];
    const err = new Error('item 2 failed');
    await assert.rejects(
      pool.map(
        async (n: number) => {
          try {
            if (n === 2) throw err;
            await sleep(10_000);
          } catch (e) {
            if (e instanceof GreenletExit) killed.push(`killed ${n}`);
            throw e;
          }
        },
        [1, 2, 3],
      ),
      (e) => e === err,
    );
    assert.deepEqual(killed.sort(), ['killed 1', 'killed 3']);
    assert.equal(pool.length, 0);
  });

  test('breaking out of imapUnordered kills the rest and stops the feeding', async () => {
    const pool = new Pool(2);
    let calls = 0;
    for await (const v of pool.imapUnordered(
      (n: number) => {
        calls++;
        return sleep(n === 0 ? 1 : 10_000, n);
      },
      [0, 1, 2, 3, 4],
    )) {
      assert.equal(v, 0);
      break;
    }
    assert.equal(pool.length, 0);
    assert.ok(calls <= 3, `only items given a slot ran: ${calls}`);
  });

  test('full and freeCount follow the live greenlets', async () => {
    const pool = new Pool(1);
    assert.equal(pool.full(), false);
    const g = await pool.spawn(() => sleep(10_000));
    assert.equal(pool.full(), true);
    assert.equal(pool.freeCount(), 0);
    assert.equal(pool.has(g), true);
    await pool.kill();
    assert.equal(pool.full(), false);
    assert.equal(pool.length, 0);
  });

  test('a cancelled spawn takes no slot and the next waiter gets it', async () => {
    const pool = new Pool(1);
    const gate = new Event();
    const first = await pool.spawn(() => gate.wait());
    const order: string[] = [];
    const blocked = spawn(async () => {
      await pool.spawn(() => order.push('cancelled one ran'));
    });
    const next = spawn(async () => {
      const g = await pool.spawn(() => order.push('next ran'));
      await g.join();
    });
    await sleep(1);
    await blocked.kill();
    gate.set();
    await first.join();
    await next.join();
    assert.deepEqual(order, ['next ran']);
    assert.equal(await pool.join(), true);
    assert.equal(pool.freeCount(), 1);
  });

  test('spawns waiting for a slot are served in FIFO order', async () => {
    const pool = new Pool(1);
    const order: string[] = [];
    const gate = new Event();
    const first = await pool.spawn(() => gate.wait());
    const waiters = ['a', 'b', 'c'].map((name) =>
      spawn(async () => {
        const g = await pool.spawn(() => order.push(name));
        await g.join();
      }),
    );
    await sleep(1);
    gate.set();
    await first.join();
    for (const w of waiters) await w.join();
    assert.deepEqual(order, ['a', 'b', 'c']);
  });

  test('waitAvailable waits for a slot without taking it', async () => {
    const pool = new Pool(1);
    const gate = new Event();
    await pool.spawn(() => gate.wait());
    assert.equal(await pool.waitAvailable({ timeout: 0 }), 0);
    const available = pool.waitAvailable();
    gate.set();
    assert.equal(await available, 1);
    assert.equal(pool.freeCount(), 1);
  });

  test('join with a timeout resolves false; raiseError raises a failure', async () => {
    const pool = new Pool(2);
    const slow = await pool.spawn(() => sleep(10_000));
    assert.equal(await pool.join({ timeout: 5 }), false);
    await slow.kill();
    const err = new Error('bad');
    // Inside a greenlet, as gevent code runs: the spawned one starts when this one waits.
    const main = spawn(async () => {
      await pool.spawn(() => {
        throw err;
      });
      await pool.join({ raiseError: true });
    });
    await main.join();
    assert.equal(main.exception, err);
  });

  test('apply resolves to the value', async () => {
    const pool = new Pool(2);
    assert.equal(await pool.apply((a: number, b: number) => a * b, [6, 7]), 42);
  });

  test('an unbounded pool answers freeCount() 1, as gevent (there is always room for one more)', async () => {
    const pool = new Pool();
    assert.equal(pool.freeCount(), 1);
    assert.equal(pool.full(), false);
    const g = gauge();
    await pool.map((n: number) => g.run(1, n), [1, 2, 3, 4]);
    assert.equal(g.max, 4);
  });

  test('spawn of a non-function rejects with TypeError, as join with a bad timeout (bug-bash g12)', async () => {
    const pool = new Pool(1);
    let p: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      p = pool.spawn(5 as any);
    });
    await assert.rejects(p as Promise<unknown>, TypeError);
    assert.equal(pool.length, 0);
    await assert.rejects(pool.join({ timeout: 'a' as any }), TypeError);
    await assert.rejects(pool.kill({ timeout: -1, exception: 1 as any }), TypeError);
  });

  test('bad size raises RangeError', () => {
    assert.throws(() => new Pool(1.5), RangeError);
    assert.throws(() => new Pool(-1), RangeError);
  });

  test('Pool(0) is accepted, as gevent: always full, and a spawn waits until cancelled', async () => {
    const pool = new Pool(0);
    assert.equal(pool.size, 0);
    assert.equal(pool.freeCount(), 0);
    assert.equal(pool.full(), true);
    assert.equal(await pool.waitAvailable({ timeout: 1 }), 0);
    let ran = false;
    const spawning = spawn(() =>
      pool.spawn(() => {
        ran = true;
      }),
    );
    await sleep(1);
    assert.equal(spawning.dead, false); // still waiting for a slot
    await spawning.kill();
    assert.equal(spawning.value instanceof GreenletExit, true);
    assert.equal(ran, false);
    assert.equal(pool.length, 0);
  });
});
