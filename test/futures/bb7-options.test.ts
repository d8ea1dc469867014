import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  asCompleted,
  FIRST_EXCEPTION,
  Future,
  ThreadPoolExecutor,
  wait,
} from '../../src/futures/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** Python passes `timeout` positionally (`f.result(5)`, `wait(fs, 5)`): here that is no options object. */
describe('futures: a timeout passed where the options object goes (bug bash 7)', () => {
  test('result(5) and exception(5) reject with a TypeError instead of waiting for ever', async () => {
    const f = new Future<number>();
    const r = f.result(5 as never);
    const e = f.exception('5' as never);
    f.setResult(1);
    await assert.rejects(r, (err: Error) => {
      assert.ok(err instanceof TypeError);
      assert.match(err.message, /Future\.result: options must be an object: received 5/);
      return true;
    });
    await assert.rejects(e, TypeError);
  });

  test('result({ signal }) with no AbortSignal rejects with a TypeError that says so', async () => {
    const f = new Future<number>();
    const r = f.result({ signal: 5 as never });
    f.setResult(1);
    await assert.rejects(r, /Future\.result: signal must be an AbortSignal: received 5/);
  });

  test('wait(fs, 5), asCompleted(fs, 5) and map(fn, its, 5) throw a TypeError at the call', async () => {
    const f = new Future<number>();
    f.setResult(1);
    assert.throws(() => wait([f], 5 as never), /wait: options must be an object/);
    assert.throws(() => asCompleted([f], 5 as never), /asCompleted: options must be an object/);
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      assert.throws(
        () => ex.map((x: number) => x, [[1]], 5 as never),
        /Executor\.map: options must be an object/,
      );
    } finally {
      await ex.shutdown();
    }
  });

  test('map(fn, a, b) written as Python does is a TypeError, not b taken for options', async () => {
    // helper-101: ['cd'] was read as an options object and map ran over 'ab' alone.
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      assert.throws(
        () => ex.map((x: string) => x, ['ab'], ['cd'] as never),
        /Executor\.map: options must be an object .*received an iterable/,
      );
    } finally {
      await ex.shutdown();
    }
  });

  test('null options are no options, as for every waiting call', async () => {
    const f = new Future<number>();
    f.setResult(1);
    const { done, notDone } = await wait([f], null as never);
    assert.deepEqual([done.size, notDone.size], [1, 0]);
    const seen: unknown[] = [];
    for await (const g of asCompleted([f], null as never)) seen.push(g);
    assert.deepEqual(seen, [f]);
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const out: number[] = [];
      for await (const v of ex.map((x: number) => x * 2, [[1, 2]], null as never)) out.push(v);
      assert.deepEqual(out, [2, 4]);
    } finally {
      await ex.shutdown();
    }
  });
});

describe('wait FIRST_EXCEPTION: a future that raised undefined (bug bash 7)', () => {
  test('one failing with undefined during the wait ends it', async () => {
    const a = new Future<number>();
    const b = new Future<number>();
    const p = wait([a, b], { returnWhen: FIRST_EXCEPTION });
    a.setException(undefined);
    // Completed after the wait has had its turn: a wait still going would see it done.
    setImmediate(() => b.setResult(1));
    const { done, notDone } = await p;
    assert.deepEqual([...done], [a]);
    assert.deepEqual([...notDone], [b]);
    await assert.rejects(a.result(), (e) => e === undefined);
  });

  test('one already failed with undefined ends it at once', async () => {
    const a = new Future<number>();
    a.setException(undefined);
    const b = new Future<number>();
    const p = wait([a, b], { returnWhen: FIRST_EXCEPTION });
    setImmediate(() => b.setResult(1));
    const { done, notDone } = await p;
    assert.deepEqual([...done], [a]);
    assert.deepEqual([...notDone], [b]);
  });
});
