import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CancelledError, Future, InvalidStateError, run, sleep } from '../../src/asyncio/index.js';
import { setExceptionHandler } from '../../src/internal/scheduler.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('Future', () => {
  test('result and exception raise InvalidStateError while pending', () => {
    const f = new Future<number>();
    assert.equal(f.done(), false);
    assert.throws(() => f.result(), InvalidStateError);
    assert.throws(() => f.exception(), InvalidStateError);
  });

  test('setResult twice raises InvalidStateError', () => {
    const f = new Future<number>();
    f.setResult(1);
    assert.equal(f.result(), 1);
    assert.equal(f.exception(), null);
    assert.throws(() => f.setResult(2), /already finished/);
    assert.throws(() => f.setException(new Error('x')), InvalidStateError);
    assert.equal(f.cancel(), false);
  });

  test('setException makes result raise it', () => {
    const f = new Future<number>();
    const err = new RangeError('bad');
    f.setException(err);
    assert.equal(f.exception(), err);
    assert.throws(() => f.result(), RangeError);
  });

  test('setException refuses a CancelledError', () => {
    assert.throws(() => new Future().setException(new CancelledError()), TypeError);
  });

  test('cancel with a message raises CancelledError carrying it', async () => {
    const f = new Future<number>();
    assert.equal(f.cancel('stop now'), true);
    assert.equal(f.cancelled(), true);
    assert.throws(
      () => f.result(),
      (e: unknown) => e instanceof CancelledError && e.message === 'stop now',
    );
    await assert.rejects(
      f,
      (e: unknown) => e instanceof CancelledError && e.message === 'stop now',
    );
  });

  test('callbacks are scheduled, not called synchronously, in registration order', async () => {
    const f = new Future<number>();
    const log: string[] = [];
    f.addDoneCallback(() => log.push('a'));
    f.addDoneCallback(() => log.push('b'));
    f.setResult(1);
    log.push('after setResult');
    f.addDoneCallback(() => log.push('c (added when done)'));
    log.push('after add');
    await sleep(0);
    assert.deepEqual(log, ['after setResult', 'after add', 'a', 'b', 'c (added when done)']);
  });

  test('a callback that throws does not stop the others and is reported', async () => {
    const reported: unknown[] = [];
    setExceptionHandler((ctx) => reported.push(ctx.exception));
    try {
      const f = new Future<number>();
      const log: string[] = [];
      f.addDoneCallback(() => {
        throw new Error('callback failed');
      });
      f.addDoneCallback(() => log.push('second ran'));
      f.setResult(1);
      await sleep(0);
      assert.deepEqual(log, ['second ran']);
      assert.equal((reported[0] as Error).message, 'callback failed');
    } finally {
      setExceptionHandler(null);
    }
  });

  test('removeDoneCallback removes every registration and counts them', async () => {
    const f = new Future<number>();
    const log: string[] = [];
    const cb = () => log.push('cb');
    f.addDoneCallback(cb);
    f.addDoneCallback(cb);
    f.addDoneCallback(() => log.push('other'));
    assert.equal(f.removeDoneCallback(cb), 2);
    f.setResult(1);
    await sleep(0);
    assert.deepEqual(log, ['other']);
  });

  test('addDoneCallback with a non-function throws TypeError', () => {
    assert.throws(
      () => new Future().addDoneCallback(42 as never),
      /expects a function: received number/,
    );
  });

  test('await resolves with the result set by another task', async () => {
    const value = await run(async () => {
      const f = new Future<string>();
      setTimeout(() => f.setResult('from elsewhere'), 5);
      return await f;
    });
    assert.equal(value, 'from elsewhere');
  });

  test('then and catch chain like a promise', async () => {
    const f = new Future<number>();
    f.setResult(20);
    assert.equal(await f.then((x) => x + 1), 21);
    const g = new Future<number>();
    g.setException(new Error('no'));
    assert.equal(await g.catch((e: Error) => e.message), 'no');
  });
});
