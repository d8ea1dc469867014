/**
 * A user's own Executor subclass (Python's `class MyExecutor(Executor)`: `submit` and `shutdown`,
 * with `map` and `await using` from the base class). helper-149: a `chunksize` made the base
 * class submit an async function per chunk, whose Promise `Future.setResult` refuses, so a
 * chunked map over an executor that completes its futures at once failed with a TypeError where
 * Python's, which ignores chunksize outside its process pool, runs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Executor, Future } from '../../src/futures/index.js';

/** Runs each call at once in the caller, as a minimal Python Executor subclass would. */
class InlineExecutor extends Executor {
  submitted = 0;
  #shut = false;
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    if (this.#shut) throw new Error('InlineExecutor is shut down');
    this.submitted++;
    const f = new Future<Awaited<R>>();
    if (!f.setRunningOrNotifyCancel()) return f;
    try {
      f.setResult(fn(...args) as Awaited<R>);
    } catch (e) {
      f.setException(e);
    }
    return f;
  }
  async shutdown(): Promise<void> {
    this.#shut = true;
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

describe('a user-defined Executor subclass', () => {
  test('map with a chunksize runs, in order, whatever the chunk size', async () => {
    await using ex = new InlineExecutor();
    const xs = [1, 2, 3, 4, 5, 6, 7];
    for (const chunksize of [1, 2, 3, 7, 10]) {
      assert.deepEqual(
        await collect(ex.map((x: number) => x * 2, [xs], { chunksize })),
        [2, 4, 6, 8, 10, 12, 14],
        `chunksize ${chunksize}`,
      );
    }
    assert.deepEqual(
      await collect(
        ex.map((a: number, b: string) => `${b}${a}`, [xs, ['a', 'b', 'c']], { chunksize: 2 }),
      ),
      ['a1', 'b2', 'c3'],
    );
    assert.deepEqual(
      await collect(ex.map((x: number) => x, [xs], { chunksize: 3, timeout: 10_000 })),
      xs,
    );
  });

  test('a chunked map sends one call per chunk and throws the first error in order', async () => {
    await using ex = new InlineExecutor();
    const fn = (x: number) => {
      if (x === 5) throw new RangeError('five');
      return x;
    };
    const got: number[] = [];
    await assert.rejects(async () => {
      for await (const v of ex.map(fn, [[1, 2, 3, 4, 5, 6]], { chunksize: 2 })) got.push(v);
    }, RangeError);
    // The chunk [5, 6] fails whole, as the docs say of a chunk.
    assert.deepEqual(got, [1, 2, 3, 4]);
    ex.submitted = 0;
    await collect(ex.map((x: number) => x, [[1, 2, 3, 4, 5]], { chunksize: 2 }));
    assert.equal(ex.submitted, 3);
  });

  test('a chunk whose calls return promises still yields their values', async () => {
    // An executor completing its futures when the call's promise settles.
    class AsyncExecutor extends Executor {
      submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
        const f = new Future<Awaited<R>>();
        Promise.resolve()
          .then(() => fn(...args))
          .then(
            (v) => f.setResult(v as Awaited<R>),
            (e) => f.setException(e),
          );
        return f;
      }
      async shutdown(): Promise<void> {}
    }
    await using ex = new AsyncExecutor();
    const slow = async (x: number) => {
      await new Promise((r) => setTimeout(r, 1));
      return x + 1;
    };
    const mixed = (x: number) => (x % 2 === 0 ? Promise.resolve(x * 10) : x);
    assert.deepEqual(
      await collect(ex.map(slow, [[1, 2, 3, 4, 5]], { chunksize: 2 })),
      [2, 3, 4, 5, 6],
    );
    assert.deepEqual(
      await collect(ex.map(mixed, [[1, 2, 3, 4, 5]], { chunksize: 3 })),
      [1, 20, 3, 40, 5],
    );
  });
});
