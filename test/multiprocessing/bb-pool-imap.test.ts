/**
 * Pool.imap over an iterable that throws part-way, as CPython 3.11's
 * test_imap_handle_iterable_exception: the results before the error are read first, then the
 * error, whatever the chunksize; the call of imap itself does not throw.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Pool } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { double } from './fixtures/pool-tasks.js';
import { pidAfter } from './fixtures/targets.js';

checkLeaks({ graceMs: 3000 });

class SayWhenError extends RangeError {
  override name = 'SayWhenError';
}

/** Python's exception_throwing_generator(total, when). */
function* throwingGenerator(total: number, when: number): Generator<number> {
  for (let i = 0; i < total; i++) {
    if (i === when) throw new SayWhenError('Somebody said when');
    yield i;
  }
}

/** Reads `it` with explicit next() calls, recording an error and going on after it. */
async function readAll(it: AsyncIterator<unknown>, max = 40): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < max; i++) {
    try {
      const r = await it.next();
      out.push(r.done ? 'DONE' : r.value);
      if (r.done) break;
    } catch (e) {
      out.push(`ERR:${(e as Error).name}`);
    }
  }
  return out;
}

describe('Pool.imap (bug bash 5)', () => {
  let pool: Pool;
  before(async () => {
    pool = new Pool(2);
    // Start both children before the tests (the leak check counts them).
    await Promise.all([pool.apply(pidAfter, [100]), pool.apply(pidAfter, [100])]);
  });
  after(async () => {
    pool.close();
    await pool.join();
  });

  for (const [total, when, chunksize, before] of [
    [1, 0, 1, 0],
    [10, 3, 1, 3],
    [20, 7, 2, 6],
    [20, 7, 4, 4],
  ] as const) {
    test(`imap(gen(${total}, ${when}), chunksize ${chunksize}): ${before} results, then the error`, async () => {
      let it: AsyncIterator<unknown> | null = null;
      assert.doesNotThrow(() => {
        it = pool.imap(double, throwingGenerator(total, when), chunksize);
      });
      const expected = [
        ...Array.from({ length: before }, (_, i) => 2 * i),
        'ERR:SayWhenError',
        'DONE',
      ];
      assert.deepEqual(await readAll(it as unknown as AsyncIterator<unknown>), expected);
    });
  }

  test('leaving an imap or imapUnordered loop early closes the iterable’s iterator', async () => {
    const log: string[] = [];
    function* endless(name: string): Generator<number> {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        log.push(`${name} closed`);
      }
    }
    for (const chunksize of [1, 3]) {
      for await (const v of pool.imap(double, endless(`imap ${chunksize}`), chunksize)) {
        if (v === 4) break;
      }
      for await (const _ of pool.imapUnordered(
        double,
        endless(`unordered ${chunksize}`),
        chunksize,
      ))
        break;
    }
    assert.deepEqual(log, [
      'imap 1 closed',
      'unordered 1 closed',
      'imap 3 closed',
      'unordered 3 closed',
    ]);
  });

  test('imap with chunks answers overlapping next() calls in turn', async () => {
    const it = pool.imap(double, [0, 1, 2, 3, 4, 5, 6], 3);
    const got = await Promise.all(Array.from({ length: 8 }, () => it.next()));
    assert.deepEqual(
      got.map((r) => (r.done ? 'DONE' : r.value)),
      [0, 2, 4, 6, 8, 10, 12, 'DONE'],
    );
  });
});
