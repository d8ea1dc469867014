/**
 * Barrier regression from bug bash 7: `String(barrier)` was `[object Object]` and
 * `util.inspect(barrier)` dumped its shared words and its action, where docs/threading.md
 * promises Python's short repr for every primitive. CPython 3.11:
 * `<threading.Barrier at 0x…: waiters=1/3>`, and `<threading.Barrier at 0x…: broken>`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Barrier, BrokenBarrierError } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';

checkLeaks();

describe('Barrier repr', () => {
  test('shows the parties waiting, then broken, then waiters again after reset', async () => {
    const b = new Barrier(3, { action: () => {} });
    assert.equal(String(b), '<weft.threading.Barrier: waiters=0/3>');
    assert.equal(inspect(b), '<weft.threading.Barrier: waiters=0/3>');

    const waiting = b.wait();
    await until(() => b.nWaiting === 1, 'one party waiting');
    assert.equal(String(b), '<weft.threading.Barrier: waiters=1/3>');
    assert.equal(inspect(b), '<weft.threading.Barrier: waiters=1/3>');

    await b.abort();
    await assert.rejects(waiting, BrokenBarrierError);
    assert.equal(String(b), '<weft.threading.Barrier: broken>');
    assert.equal(inspect(b), '<weft.threading.Barrier: broken>');

    await b.reset();
    assert.equal(`${b}`, '<weft.threading.Barrier: waiters=0/3>');
  });
});
