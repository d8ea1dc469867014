/**
 * Pool's map results are ready only once every call has ended, as CPython 3.11's MapResult
 * ("only consider the result ready once all jobs are done"): a failed map_async is not ready,
 * its get() does not raise and its error_callback does not run, while other calls still run.
 * And a target that is not a function is a TypeError in the words of the Pool method called.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Pool } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import { failOrGate } from './fixtures/bb-pool-tasks.js';

checkLeaks({ graceMs: 3000 });

/**
 * One child: the failing call runs first, and the gated call is sent only once the child is
 * free, so once the gated call has started the parent has the failure in hand.
 */
async function check(
  start: (
    pool: Pool,
    dir: string,
    events: string[],
  ) => { ready(): boolean; get(): Promise<unknown> },
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bb-pool-'));
  const pool = new Pool(1);
  try {
    const events: string[] = [];
    const r = start(pool, dir, events);
    const got = r.get().then(
      () => events.push('resolved'),
      (e: Error) => events.push(`rejected ${e.name}: ${e.message}`),
    );
    await until(() => existsSync(join(dir, 'started')), 'the gated call to start');
    // A turn of the event loop for anything the failure scheduled.
    await new Promise((res) => setImmediate(res));
    assert.equal(r.ready(), false, 'ready while a call of the map still runs');
    assert.deepEqual(events, []);
    writeFileSync(join(dir, 'gate'), '');
    await got;
    assert.equal(r.ready(), true);
    assert.ok(existsSync(join(dir, 'finished')));
    assert.deepEqual(events, [
      'errorCallback RangeError: fast fail',
      'rejected RangeError: fast fail',
    ]);
  } finally {
    pool.terminate();
    await pool.join();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('Pool map with a failed call (bug bash 5)', () => {
  test('mapAsync: not ready, no errorCallback, until every chunk has ended; then the first error', async () => {
    await check((pool, dir, events) =>
      pool.mapAsync(failOrGate, ['fail', dir], 1, {
        callback: () => events.push('callback'),
        errorCallback: (e) =>
          events.push(`errorCallback ${(e as Error).name}: ${(e as Error).message}`),
      }),
    );
  });

  test('starmapAsync with argument lists of different lengths in one chunk: the same', async () => {
    await check((pool, dir, events) =>
      pool.starmapAsync(failOrGate, [['fail'], [dir, 'extra']], 2, {
        callback: () => events.push('callback'),
        errorCallback: (e) =>
          events.push(`errorCallback ${(e as Error).name}: ${(e as Error).message}`),
      }),
    );
  });

  test('map rejects only after every call has ended', async () => {
    await check((pool, dir, events) => {
      const p = pool.map(failOrGate, ['fail', dir], 1);
      let done = false;
      p.then(
        () => {
          done = true;
        },
        (e: Error) => {
          done = true;
          events.push(`errorCallback ${e.name}: ${e.message}`);
        },
      );
      return { ready: () => done, get: () => p };
    });
  });
});

describe('Pool: a target that is not a function (bug bash 5)', () => {
  test('is a TypeError naming the Pool method called, not the executor under it', async () => {
    const pool = new Pool(1);
    try {
      const named = (what: string) => (e: Error) =>
        e instanceof TypeError && e.message.startsWith(`${what} expects a function`);
      await assert.rejects(pool.apply(42 as never), named('Pool.applyAsync'));
      assert.throws(() => pool.applyAsync(42 as never), named('Pool.applyAsync'));
      await assert.rejects(pool.map(42 as never, [1]), named('Pool.mapAsync'));
      assert.throws(() => pool.mapAsync(42 as never, []), named('Pool.mapAsync'));
      await assert.rejects(pool.starmap(42 as never, [[1]]), named('Pool.starmapAsync'));
    } finally {
      pool.close();
      await pool.join();
    }
  });
});
