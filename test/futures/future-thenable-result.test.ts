import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Future, ThreadPoolExecutor } from '../../src/futures/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/**
 * Python keeps any object as a future's result. A JavaScript promise adopts a thenable instead:
 * a Future holding one would be done with its result unknown, and `result({ timeout })` would
 * wait for the thenable past its timeout (for ever, for the future itself). weft refuses it.
 */
describe('Future.setResult with a thenable', () => {
  test('setResult of a thenable throws TypeError and leaves the future pending', async () => {
    const inner = new Future<number>();
    const cases: unknown[] = [
      Promise.resolve(1),
      inner,
      // biome-ignore lint/suspicious/noThenProperty: a thenable is what is tested.
      { then: () => {} },
      // biome-ignore lint/suspicious/noThenProperty: a callable thenable, as above.
      Object.assign(() => 1, { then: () => {} }),
    ];
    for (const value of cases) {
      const f = new Future<unknown>();
      const seen: string[] = [];
      f.addDoneCallback(() => seen.push('done'));
      assert.throws(
        () => f.setResult(value),
        (e: Error) => {
          assert.ok(e instanceof TypeError);
          assert.match(e.message, /Future\.setResult: the result cannot be a thenable/);
          return true;
        },
      );
      assert.equal(f.done(), false);
      assert.deepEqual(seen, []);
      // The future can still be completed, with the awaited value or a boxed thenable.
      f.setResult({ value });
      assert.equal(((await f.result({ timeout: 1000 })) as { value: unknown }).value, value);
      assert.deepEqual(seen, ['done']);
    }
    inner.cancel();
  });

  test('a future cannot be its own result: result({ timeout }) no longer waits for ever', async () => {
    const f = new Future<unknown>();
    assert.throws(() => f.setResult(f), TypeError);
    const r = f.result({ timeout: 20 });
    await assert.rejects(r, (e: Error) => e.name === 'TimeoutError');
    f.setResult('plain');
    assert.equal(await f, 'plain');
  });

  test('an object with a non-callable then is a plain result, kept as it is', async () => {
    // biome-ignore lint/suspicious/noThenProperty: not a thenable: its then is not callable.
    const value = { then: 5 };
    const f = new Future<typeof value>();
    f.setResult(value);
    assert.equal(await f.result(), value);
  });

  test('an executor call returning a promise still resolves to its value', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const f = ex.submit(async (x: number) => x * 2, 21);
    assert.equal(await f.result(), 42);
  });

  // helper-149: an inline function's wrapper called `then(undefined, onRejected)` on what it
  // returned, and a minimal thenable, which calls its first argument, threw "resolve is not a
  // function" in the worker. A marked function's thenable was awaited (as `await` does).
  test('an inline call returning a thenable that is no Promise resolves to its value', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const ok = ex.submit(
      (x: number) => ({
        // biome-ignore lint/suspicious/noThenProperty: a minimal thenable is what is tested.
        then(resolve: (v: number) => void) {
          resolve(x * 2);
        },
      }),
      21,
    );
    assert.equal(await ok.result({ timeout: 30_000 }), 42);
    const failed = ex.submit(
      (msg: string) => ({
        // biome-ignore lint/suspicious/noThenProperty: as above, failing.
        then(_resolve: unknown, reject: (e: Error) => void) {
          reject(new RangeError(msg));
        },
      }),
      'no',
    );
    await assert.rejects(
      failed.result({ timeout: 30_000 }),
      (e: Error) => e instanceof RangeError && e.message === 'no',
    );
  });
});

/**
 * An exception that is a thenable: `exception()` resolved a promise with it, which adopted it:
 * a future failed with a pending Future kept `exception()` — even `exception({ timeout: 100 })` —
 * waiting for ever, and one failed with a promise gave the promise's value (or its rejection).
 * Python's `set_exception` takes any object and `exception()` returns it. weft keeps it (a
 * registered error class may have a `then`), `result()` and `await` throw it as it is, and
 * `exception()`, which cannot return it, rejects at once with a TypeError whose cause it is.
 */
describe('Future.setException with a thenable', () => {
  test('exception() rejects at once with a TypeError whose cause is it; result() throws it as it is', async () => {
    const inner = new Future<number>();
    const rejected = Promise.reject(new RangeError('inner'));
    rejected.catch(() => {});
    const cases: unknown[] = [
      inner,
      Promise.resolve(42),
      rejected,
      // biome-ignore lint/suspicious/noThenProperty: a thenable is what is tested.
      { then: () => {} },
    ];
    for (const error of cases) {
      const f = new Future<unknown>();
      const seen: string[] = [];
      f.addDoneCallback(() => seen.push('done'));
      f.setException(error);
      assert.equal(f.done(), true);
      assert.deepEqual(seen, ['done']);
      for (const wait of [f.exception(), f.exception({ timeout: 100 })]) {
        await assert.rejects(wait, (e: Error) => {
          assert.ok(e instanceof TypeError, String(e));
          assert.match(e.message, /Future\.exception: the exception is a thenable/);
          assert.equal(e.cause, error);
          return true;
        });
      }
      // By hand: assert.rejects hands the rejection on from an async function, adopting it.
      const thrown: unknown[] = [];
      try {
        await f.result();
      } catch (e) {
        thrown.push(e);
      }
      try {
        await f;
      } catch (e) {
        thrown.push(e);
      }
      assert.equal(thrown.length, 2);
      assert.ok(thrown[0] === error && thrown[1] === error);
    }
    inner.cancel();
  });

  test('an object with a non-callable then is a plain exception, returned as it is', async () => {
    // biome-ignore lint/suspicious/noThenProperty: not a thenable: its then is not callable.
    const error = { then: 5 };
    const f = new Future<unknown>();
    f.setException(error);
    assert.equal(await f.exception(), error);
    await assert.rejects(f.result(), (e) => e === error);
  });
});
