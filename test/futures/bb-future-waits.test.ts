/**
 * Waits on a Future that end first (a timeout, an aborted signal) leave nothing on the future
 * (bug bash 5): CPython removes its waiter from the future when the wait times out. A loop
 * polling `result({ timeout })` on a long call kept every timed-out wait — its closures, its
 * promise, its TimeoutError — until the call ended.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Future, TimeoutError } from '../../src/futures/index.js';
import { AsyncResult } from '../../src/multiprocessing/async-result.js';
import { collect } from './executor-suite.js';

/** A WeakRef to the error a wait on `f` ended with, that wait's own, nothing else holds it. */
async function endedWait(start: () => Promise<unknown>): Promise<WeakRef<object>> {
  const e = await start().then(
    () => null,
    (x: unknown) => x,
  );
  assert.ok(e !== null && typeof e === 'object', 'the wait ended with an error');
  return new WeakRef(e as object);
}

describe('Future waits that end first (bug bash 5)', () => {
  test('a timed-out result() is collectable while the future is still pending', async () => {
    const f = new Future<number>();
    const ref = await endedWait(() => f.result({ timeout: 1 }));
    assert.ok(ref.deref() instanceof TimeoutError);
    await collect(ref, 20);
    assert.equal(ref.deref(), undefined, 'the TimeoutError of an ended wait is still held');
    assert.equal(f.done(), false);
    // The future still works: a later wait and its done-callbacks see the result.
    const seen: string[] = [];
    f.addDoneCallback(() => seen.push('callback'));
    const later = f.result({ timeout: 60_000 }).then((v) => seen.push(`result ${v}`));
    f.setResult(7);
    await later;
    assert.deepEqual(seen, ['callback', 'result 7']);
  });

  test('exception() with a timeout, and with an aborted signal: the same', async () => {
    const f = new Future<number>();
    const timedOut = await endedWait(() => f.exception({ timeout: 1 }));
    assert.ok(timedOut.deref() instanceof TimeoutError);
    const aborted = await endedWait(() => {
      const ac = new AbortController();
      const p = f.exception({ signal: ac.signal });
      ac.abort(new Error('stop'));
      return p;
    });
    assert.equal((aborted.deref() as Error).message, 'stop');
    await collect(timedOut, 20);
    await collect(aborted, 20);
    assert.equal(timedOut.deref(), undefined, 'the TimeoutError of an ended wait is still held');
    assert.equal(aborted.deref(), undefined, 'the abort reason of an ended wait is still held');
    f.setException(new RangeError('late'));
    await assert.rejects(new AsyncResult(f).get({ timeout: 60_000 }), RangeError);
  });

  test('many waits with a timeout on one future: those that end leave, the others are woken', async () => {
    const f = new Future<string>();
    const short = Array.from({ length: 50 }, () => f.result({ timeout: 1 }).catch((e) => e));
    const long = Array.from({ length: 50 }, () => f.result({ timeout: 60_000 }));
    const ended = await Promise.all(short);
    assert.ok(ended.every((e) => e instanceof TimeoutError));
    f.setResult('done');
    assert.deepEqual(await Promise.all(long), Array(50).fill('done'));
    // A wait made after the future is done answers at once.
    assert.equal(await f.result({ timeout: 0 }), 'done');
  });
});
