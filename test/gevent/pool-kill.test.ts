import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Event,
  type Greenlet,
  GreenletExit,
  killall,
  Pool,
  sleep,
  spawn,
  Timeout,
} from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/**
 * A greenlet that outlives its kill until `gate` is set (it cleans up), then returns 'cleaned':
 * a state, not a time, so a kill's timeout passes first however loaded the machine is.
 */
async function held(gate: Event): Promise<string> {
  try {
    await sleep(10_000);
    return 'slept';
  } catch (e) {
    if (!(e instanceof GreenletExit)) throw e;
    await gate.wait();
    return 'cleaned';
  }
}

/** A greenlet that outlives its kill by `ms` (it cleans up), then returns 'cleaned'. */
async function stubborn(ms: number): Promise<string> {
  try {
    await sleep(10_000);
    return 'slept';
  } catch (e) {
    if (!(e instanceof GreenletExit)) throw e;
    await sleep(ms);
    return 'cleaned';
  }
}

// Checked against gevent 22.10: Pool.kill() returns with the pool empty, and kills what is
// added meanwhile; killall(timeout=…) raises Timeout when some outlive it.
describe('Pool.kill', () => {
  test('kill of greenlets that never ran leaves the pool empty when it resolves', async () => {
    // In a greenlet, as gevent code runs: the spawned ones do not run before it suspends.
    const seen = await spawn(async () => {
      const pool = new Pool(2);
      const gs = [await pool.spawn(sleep, 10_000), await pool.spawn(sleep, 10_000)];
      const ran = gs.map((g) => g.dead);
      await pool.kill();
      return [ran, pool.length, pool.freeCount(), gs.map((g) => g.value instanceof GreenletExit)];
    }).get();
    assert.deepEqual(seen, [[false, false], 0, 2, [true, true]]);
  });

  test('a second kill does not raise again in greenlets still cleaning up after the first', async () => {
    // gevent keeps the greenlets it killed in the group's `dying` until they leave: a later
    // kill waits for them instead of interrupting their cleanup. (helper-117's review)
    const pool = new Pool(2);
    const gs = [await pool.spawn(stubborn, 30), await pool.spawn(stubborn, 30)];
    await sleep(0);
    await pool.kill({ block: false });
    await sleep(5);
    await pool.kill();
    assert.deepEqual(
      gs.map((g) => g.value),
      ['cleaned', 'cleaned'],
    );
    assert.equal(pool.length, 0);
  });

  test('a greenlet added while the kill waits is killed too', async () => {
    const pool = new Pool(3);
    const late: Greenlet<unknown>[] = [];
    await pool.spawn(async () => {
      try {
        await sleep(10_000);
      } catch (e) {
        late.push(await pool.spawn(sleep, 10_000));
        throw e;
      }
    });
    await sleep(0);
    await pool.kill();
    assert.equal(pool.length, 0);
    assert.equal(late.length, 1);
    assert.equal(late[0]?.dead, true);
    assert.ok(late[0]?.value instanceof GreenletExit);
  });

  test('with a timeout it resolves quietly, the greenlets that outlived it still in the pool', async () => {
    const pool = new Pool(2);
    const gate = new Event();
    const gs = [await pool.spawn(held, gate), await pool.spawn(held, gate)];
    await sleep(0);
    await pool.kill({ timeout: 5 });
    assert.equal(pool.length, 2);
    gate.set();
    assert.equal(await pool.join(), true);
    assert.deepEqual(
      gs.map((g) => g.value),
      ['cleaned', 'cleaned'],
    );
  });

  test('bad options reject with TypeError and kill nothing', async () => {
    const pool = new Pool(1);
    const g = await pool.spawn(sleep, 10_000);
    await assert.rejects(pool.kill({ exception: 'stop' as never }), TypeError);
    await assert.rejects(pool.kill(null as never), TypeError);
    await sleep(0);
    assert.equal(g.dead, false);
    await pool.kill();
  });
});

describe('killall with a timeout', () => {
  test('rejects with a Timeout when some greenlets outlive it; they run on', async () => {
    const gate = new Event();
    const gs = [spawn(held, gate), spawn(held, gate)];
    await sleep(0);
    await assert.rejects(killall(gs, { timeout: 5 }), (e: Error) => {
      assert.ok(e instanceof Timeout);
      assert.equal((e as Timeout).ms, 5);
      return true;
    });
    assert.deepEqual(
      gs.map((g) => g.dead),
      [false, false],
    );
    gate.set();
    assert.deepEqual(await Promise.all(gs.map((g) => g.get())), ['cleaned', 'cleaned']);
  });

  test('resolves when all die in time, and without block does not wait', async () => {
    const gs = [spawn(stubborn, 1), spawn(sleep, 10_000)];
    await sleep(0);
    await killall(gs, { timeout: 5_000 });
    assert.deepEqual(
      gs.map((g) => g.dead),
      [true, true],
    );
    const more = [spawn(stubborn, 20)];
    await sleep(0);
    await killall(more, { block: false, timeout: 1 });
    assert.equal(more[0]?.dead, false);
    assert.equal(await more[0]?.get(), 'cleaned');
  });
});
