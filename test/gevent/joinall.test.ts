import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { joinall, killall, sleep, spawn } from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('joinall', () => {
  test('resolves to every greenlet in the order they died', async () => {
    // Each dies a timer after the one before it (b, then c, then a): sleeps of 15, 1 and 8 ms
    // armed in three steps could fire out of that order on a loaded machine.
    const b = spawn(() => sleep(1, 'b'));
    const c = spawn(async () => {
      await b.join();
      return sleep(1, 'c');
    });
    const a = spawn(async () => {
      await c.join();
      return sleep(1, 'a');
    });
    const done = await joinall([a, b, c]);
    assert.deepEqual(
      done.map((g) => g.value),
      ['b', 'c', 'a'],
    );
  });

  test('with a timeout resolves to those dead by then and leaves the rest running', async () => {
    const fast = spawn(() => 'fast');
    const slow = spawn(() => sleep(10_000));
    const done = await joinall([fast, slow], { timeout: 10 });
    assert.deepEqual(done, [fast]);
    assert.equal(slow.dead, false);
    await slow.kill();
  });

  test('raiseError raises the first failure at once while the others run on', async () => {
    const err = new Error('failed');
    const slow = spawn(() => sleep(10_000));
    const bad = spawn(async () => {
      await sleep(1);
      throw err;
    });
    await assert.rejects(joinall([slow, bad], { raiseError: true }), (e) => e === err);
    assert.equal(slow.dead, false);
    await slow.kill();
  });

  test('without raiseError a failure is just one of the dead', async () => {
    const bad = spawn(() => {
      throw new Error('x');
    });
    const good = spawn(() => 1);
    const done = await joinall([bad, good]);
    assert.equal(done.length, 2);
    assert.equal(bad.successful(), false);
  });

  test('raiseError on an already-dead failed greenlet raises at once', async () => {
    const err = new Error('early');
    const bad = spawn(() => {
      throw err;
    });
    await bad.join();
    await assert.rejects(joinall([bad], { raiseError: true }), (e) => e === err);
  });

  test('count returns once that many are dead', async () => {
    const gs = [1, 2, 3].map((n) => spawn(() => sleep(n === 1 ? 1 : 10_000, n)));
    const done = await joinall(gs, { count: 1 });
    assert.deepEqual(
      done.map((g) => g.value),
      [1],
    );
    await killall(gs);
  });

  test('an empty list resolves at once', async () => {
    assert.deepEqual(await joinall([]), []);
  });

  test('bad input rejects, TypeError for a wrong type, RangeError for a bad value (bug-bash g12)', async () => {
    const g = spawn(() => sleep(1));
    const calls: [string, () => Promise<unknown>, new (...a: any[]) => Error][] = [
      ['joinall(3)', () => joinall(3 as any), TypeError],
      ['joinall([1])', () => joinall([1] as any), TypeError],
      ['timeout NaN', () => joinall([g], { timeout: Number.NaN }), TypeError],
      ['count 1.5', () => joinall([g], { count: 1.5 }), TypeError],
      ['count -1', () => joinall([g], { count: -1 }), RangeError],
      ['killall([1])', () => killall([1] as any), TypeError],
      ['killall(null)', () => killall(null as any), TypeError],
    ];
    for (const [what, call, cls] of calls) {
      let p: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        p = call();
      }, what);
      await assert.rejects(p as Promise<unknown>, cls, what);
    }
    await g.join();
  });
});
