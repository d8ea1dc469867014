import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { asCompleted, Future, TimeoutError } from '../../src/futures/index.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';

checkLeaks();

describe('asCompleted: overlapping next() calls', () => {
  test('each gets its own future, in the order the calls were made', async () => {
    // One wake slot: the second next() took it and the first waited for ever.
    const a = new Future<string>();
    const b = new Future<string>();
    const it = asCompleted([a, b]);
    const first = it.next();
    const second = it.next();
    const third = it.next();
    b.setResult('b');
    a.setResult('a');
    const [x, y, z] = await settles(Promise.all([first, second, third]), 'three next() calls');
    assert.equal(x.value, b);
    assert.equal(y.value, a);
    assert.equal(z.done, true);
  });

  test('a done future and a waiting call: the waiting one is served by the next completion', async () => {
    const done = new Future<number>();
    done.setResult(1);
    const later = new Future<number>();
    const it = asCompleted([done, later]);
    const [p, q] = [it.next(), it.next()];
    later.setResult(2);
    const [x, y] = await settles(Promise.all([p, q]), 'two next() calls');
    assert.equal(x.value, done);
    assert.equal(y.value, later);
  });

  test('a timeout rejects every waiting call; return() ends the waiting ones', async () => {
    const a = new Future<number>();
    const it = asCompleted([a, new Future<number>()], { timeout: 20 });
    const results = await Promise.allSettled([it.next(), it.next()]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok((r as PromiseRejectedResult).reason instanceof TimeoutError);
    }
    assert.equal((await it.next()).done, true);
    const it2 = asCompleted([new Future<number>()]);
    const waiting = it2.next();
    await it2.return?.();
    assert.equal((await settles(waiting, 'a next() ended by return()')).done, true);
  });
});
