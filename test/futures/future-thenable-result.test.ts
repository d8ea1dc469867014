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
});
