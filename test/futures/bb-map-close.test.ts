/**
 * A map that ends before its iterables closes their iterators, as `for…of` closes one it
 * leaves (bug bash 5): a generator's `finally` runs when the loop over the map is left, when a
 * call fails, when the map times out and when shutdown cancels it. Before, the generator was
 * left suspended for ever.
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

/** An endless generator that records, in `log`, when it is closed. */
function* endless<T>(log: string[], name: string, item: (i: number) => T): Generator<T> {
  try {
    for (let i = 0; ; i++) yield item(i);
  } finally {
    log.push(`${name} closed`);
  }
}

describe('Executor.map closes the iterators it stops reading (bug bash 5)', () => {
  let ex: ThreadPoolExecutor;
  before(async () => {
    ex = new ThreadPoolExecutor({ maxWorkers: 2 });
    // Start both workers before the tests (the leak check counts them).
    await Promise.all([ex.submit(sleepThen, 100, 0), ex.submit(sleepThen, 100, 0)]);
  });
  after(async () => {
    await ex.shutdown();
  });

  test('leaving the loop early closes every zipped iterator, chunked or not', async () => {
    const log: string[] = [];
    const seen: number[] = [];
    for await (const v of ex.map(inc, [endless(log, 'a', (i) => i)])) {
      seen.push(v);
      if (v === 3) break;
    }
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(log, ['a closed']);
    for await (const v of ex.map(inc, [endless(log, 'b', (i) => i)], { chunksize: 4 })) {
      if (v === 3) break;
    }
    assert.deepEqual(log, ['a closed', 'b closed']);
    const zipped = ex.map(
      (x: number, y: number) => x + y,
      [endless(log, 'x', (i) => i), endless(log, 'y', (i) => 10 * i)],
    );
    assert.deepEqual(await zipped.next(), { done: false, value: 0 });
    await zipped.return?.();
    assert.deepEqual(log, ['a closed', 'b closed', 'x closed', 'y closed']);
  });

  test('a failed call and a timeout close it', async () => {
    const log: string[] = [];
    await assert.rejects(async () => {
      for await (const _ of ex.map(throwRange, [endless(log, 'failing', (i) => `m${i}`)])) {
        // never reached: the first call fails
      }
    }, RangeError);
    assert.deepEqual(log, ['failing closed']);
    // A call held at a gate until the assertions are done: the map's timeout ends it first.
    const dir = mkdtempSync(join(tmpdir(), 'weft-bb-map-close-'));
    const gate = join(dir, 'gate');
    const mine = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const slow = mine.map(
        untilFile,
        [endless(log, 'slow', () => gate), endless(log, 'v', (i) => i)],
        { timeout: 1, buffersize: 1 },
      );
      await assert.rejects(slow.next(), TimeoutError);
      assert.deepEqual(log, ['failing closed', 'slow closed', 'v closed']);
    } finally {
      // The call the timeout left running ends at the gate; shutdown waits for it.
      writeFileSync(gate, '');
      await mine.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('shutdown with cancelFutures closes a running map’s iterator', async () => {
    const log: string[] = [];
    const mine = new ThreadPoolExecutor({ maxWorkers: 1 });
    const it = mine.map(inc, [endless(log, 'cancelled', (i) => i)]);
    assert.deepEqual(await it.next(), { done: false, value: 1 });
    assert.deepEqual(log, []);
    await mine.shutdown({ cancelFutures: true });
    assert.deepEqual(log, ['cancelled closed']);
  });
});
