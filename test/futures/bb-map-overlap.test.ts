/**
 * next() calls that overlap on a chunked map (`Promise.all([it.next(), it.next()])`) are
 * answered in turn, each with the next result, as an async generator's are (bug bash 5): the
 * second read the next chunk over the first's, and the results of both chunks but their first
 * were lost (0,3,6,9 then done for 12 items in chunks of 3).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ThreadPoolExecutor, TimeoutError } from '../../src/futures/index.js';
import { checkLeaks } from '../support/leaks.js';
import { inc, sleepThen, throwRange, untilFile } from './fixtures/tasks.js';

checkLeaks({ graceMs: 3000 });

describe('Executor.map: overlapping next() calls (bug bash 5)', () => {
  let ex: ThreadPoolExecutor;
  before(async () => {
    ex = new ThreadPoolExecutor({ maxWorkers: 2 });
    // Start both workers before the tests (the leak check counts them).
    await Promise.all([ex.submit(sleepThen, 100, 0), ex.submit(sleepThen, 100, 0)]);
  });
  after(async () => {
    await ex.shutdown();
  });

  for (const chunksize of [1, 3, 5]) {
    test(`chunksize ${chunksize}: 13 next() at once give the 12 results in order, then done`, async () => {
      const xs = Array.from({ length: 12 }, (_, i) => i);
      // An array and a generator: the map reads them by two different paths.
      for (const input of [
        xs,
        (function* () {
          yield* xs;
        })(),
      ]) {
        const it = ex.map(inc, [input], { chunksize });
        const got = await Promise.all(Array.from({ length: 13 }, () => it.next()));
        assert.deepEqual(
          got.map((r) => (r.done ? 'done' : r.value)),
          [...xs.map((x) => x + 1), 'done'],
        );
      }
    });
  }

  test('a failed chunk: the next() made with it rejects, the ones after it are done', async () => {
    const it = ex.map(throwRange, [['a', 'b', 'c', 'd']], { chunksize: 2 });
    const got = await Promise.allSettled([it.next(), it.next(), it.next()]);
    assert.equal(got[0]?.status, 'rejected');
    assert.ok((got[0] as PromiseRejectedResult).reason instanceof RangeError);
    assert.deepEqual(
      got.slice(1).map((r) => (r.status === 'fulfilled' ? r.value : r.reason)),
      [
        { done: true, value: undefined },
        { done: true, value: undefined },
      ],
    );
  });

  // helper-149: an unchunked map answered the next() calls behind a failed call, or behind its
  // timeout, with the results after it ([1, RangeError, 3, 4]), where sequential reads and an
  // async generator end there ([1, RangeError, done, done]).
  test('chunksize 1, a failed call among successes: answered in turn, then done', async () => {
    const it = ex.map(
      (x: number) => {
        if (x === 2) throw new RangeError('two');
        return x;
      },
      [[1, 2, 3, 4, 5]],
    );
    const got = await Promise.allSettled([it.next(), it.next(), it.next(), it.next()]);
    assert.deepEqual(
      got.map((r) =>
        r.status === 'fulfilled'
          ? r.value
          : `${(r.reason as Error).name}: ${(r.reason as Error).message}`,
      ),
      [
        { done: false, value: 1 },
        'RangeError: two',
        { done: true, value: undefined },
        { done: true, value: undefined },
      ],
    );
  });

  test('chunksize 1, a timeout: the next() calls made after the one that timed out are done', async () => {
    // The second call is held at a gate until the assertions are done: the map's timeout ends
    // it first. The others return at once.
    const dir = mkdtempSync(join(tmpdir(), 'weft-bb-map-overlap-'));
    const gate = join(dir, 'gate');
    try {
      const it = ex.map(
        untilFile,
        [
          [join(dir, 'none'), gate, join(dir, 'none'), join(dir, 'none')],
          ['a', 'b', 'c', 'd'],
        ],
        { timeout: 3000 },
      );
      writeFileSync(join(dir, 'none'), '');
      const got = await Promise.allSettled([it.next(), it.next(), it.next(), it.next()]);
      assert.deepEqual(got[0], { status: 'fulfilled', value: { done: false, value: 'a' } });
      assert.equal(got[1]?.status, 'rejected');
      assert.ok((got[1] as PromiseRejectedResult).reason instanceof TimeoutError);
      assert.deepEqual(
        got.slice(2).map((r) => (r.status === 'fulfilled' ? r.value : r.reason)),
        [
          { done: true, value: undefined },
          { done: true, value: undefined },
        ],
      );
    } finally {
      // The call the timeout left running ends at the gate.
      writeFileSync(gate, '');
      await new Promise((r) => setTimeout(r, 50));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
