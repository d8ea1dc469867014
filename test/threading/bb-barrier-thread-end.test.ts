/**
 * Barrier regression from bug bash T: a thread that ended (returned, threw, or called
 * process.exit()) with an async `Barrier.wait` still parked stayed counted as a waiting party,
 * so the next arrival passed the barrier with that party gone: `wait()` resolved as if every
 * party had arrived. A party that is not coming breaks the barrier, as an aborted wait does
 * (Python's threads cannot end inside `wait`); a generation that passed before the thread
 * ended is left alone. Also: options that are not an object (a function passed second, as
 * Python's `Barrier(n, action)`, was ignored in silence; null threw a destructuring error).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Barrier,
  BrokenBarrierError,
  Event,
  setExcepthook,
  Thread,
} from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import { arriveThenEnd, arriveThenEndAfterPass } from './fixtures/bb-barrier-end.js';

checkLeaks();

describe('Barrier: a thread that ends with its wait pending', () => {
  for (const how of ['return', 'throw', 'exit 0', 'exit 1']) {
    test(`(${how}) breaks the barrier: the next arrival does not pass`, async () => {
      const b = new Barrier(2);
      const prev = setExcepthook(() => {});
      try {
        const t = new Thread({ target: arriveThenEnd, args: [b, how] });
        t.start();
        await t.join();
      } finally {
        setExcepthook(prev);
      }
      assert.equal(b.broken, true);
      assert.equal(b.nWaiting, 0);
      await assert.rejects(b.wait(), BrokenBarrierError);
      assert.throws(() => b.waitSync(), BrokenBarrierError);
      b.reset();
      assert.equal(b.broken, false);
    });
  }

  test('a party already waiting gets BrokenBarrierError when the other party’s thread ends', async () => {
    const b = new Barrier(3);
    const mine = b.wait();
    mine.catch(() => {});
    const t = new Thread({ target: arriveThenEnd, args: [b, 'return'] });
    t.start();
    await t.join();
    try {
      assert.equal(b.broken, true);
      await assert.rejects(mine, BrokenBarrierError);
    } finally {
      // Never leave this party waiting for a third that is not coming.
      if (!b.broken) b.abort();
    }
  });

  test('a generation that passed before the thread ended stays passed', async () => {
    const b = new Barrier(2);
    const arrived = new Event();
    const go = new Event();
    const t = new Thread({ target: arriveThenEndAfterPass, args: [b, arrived, go] });
    t.start();
    await arrived.wait();
    await until(() => b.nWaiting === 1, 'the thread’s party counted');
    assert.equal(await b.wait(), 1);
    go.set();
    await t.join();
    assert.equal(b.broken, false);
    // The barrier still works: a new generation passes.
    const first = b.wait();
    assert.equal(await b.wait(), 1);
    assert.equal(await first, 0);
  });

  test('a thread ending while another runs the action does not wait for that pass (an action that joins it)', async () => {
    const arrived = new Event();
    const go = new Event();
    let t: Thread | null = null;
    let aliveAfterJoin: boolean | null = null;
    // The last party (this thread) runs the action, which lets the other party's thread end and
    // joins it. That thread's end used to wait for this pass to break its wait's generation:
    // each waited for the other (here until the join's timeout).
    const b = new Barrier(2, {
      action: () => {
        go.set();
        t?.joinSync({ timeout: 10_000 });
        aliveAfterJoin = t?.isAlive() ?? null;
      },
    });
    t = new Thread({ target: arriveThenEndAfterPass, args: [b, arrived, go] });
    t.start();
    await arrived.wait();
    await until(() => b.nWaiting === 1, 'the thread’s party counted');
    assert.equal(await b.wait(), 1);
    await t.join();
    assert.equal(aliveAfterJoin, false);
    assert.equal(b.broken, false);
  });
});

describe('Barrier options that are not an object', () => {
  test('an action passed second, as in Python, is a TypeError, not ignored', () => {
    let ran = 0;
    const action = () => {
      ran++;
    };
    assert.throws(
      () => new Barrier(1, action as never),
      (err: Error) =>
        err instanceof TypeError && /pass an action as \{ action: fn \}/.test(err.message),
    );
    assert.equal(ran, 0);
  });

  for (const bad of [null, 5, 'x']) {
    test(`${JSON.stringify(bad)} is a TypeError naming the options`, () => {
      assert.throws(
        () => new Barrier(2, bad as never),
        (err: Error) =>
          err instanceof TypeError && /^Barrier options must be an object/.test(err.message),
      );
    });
  }
});
