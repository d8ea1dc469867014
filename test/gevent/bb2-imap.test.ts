import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Event } from '../../src/asyncio/index.js';
import { GreenletExit, Pool, sleep } from '../../src/gevent/index.js';
import { setExceptionHandler } from '../../src/internal/scheduler.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

class MyErr extends Error {}

describe('bug bash bb2 (gevent): Pool.imap raises an item error in its place', () => {
  test('the items before a failed one are yielded first, then its error; nothing is lost', async () => {
    // gevent: Pool(3).imap(f, range(3)) with item 1 failing and the items finishing 2, 1, 0:
    // done 2, done 1, done 0, got 0, then MyErr. weft raised at once and killed item 0.
    setExceptionHandler(() => {}); // the failed greenlet's report
    try {
      const pool = new Pool(3);
      const log: string[] = [];
      const done = [0, 1, 2].map(() => new Event());
      const f = async (x: number): Promise<number> => {
        if (x < 2) await done[x + 1]!.wait();
        await sleep(0);
        log.push(`done ${x}`);
        done[x]!.set();
        if (x === 1) throw new MyErr('item 1');
        return x * 10;
      };
      await assert.rejects(async () => {
        for await (const v of pool.imap(f, [0, 1, 2])) log.push(`got ${v}`);
      }, MyErr);
      assert.deepEqual(log, ['done 2', 'done 1', 'done 0', 'got 0']);
      assert.equal(pool.length, 0);
    } finally {
      setExceptionHandler(null);
    }
  });

  test('a failed first item raises at once, and the greenlets after it are killed', async () => {
    // Item 0 fails at once while items 1 and 2 wait: its turn has come, so the error is raised
    // before either finishes, and both are killed (weft's rule when a map stops early).
    setExceptionHandler(() => {});
    try {
      const pool = new Pool(3);
      const gate = new Event();
      const ends: string[] = [];
      const f = async (x: number): Promise<number> => {
        if (x === 0) throw new MyErr('item 0');
        try {
          await gate.wait();
          return x;
        } catch (e) {
          ends.push(`${x} ${e instanceof GreenletExit ? 'killed' : String(e)}`);
          throw e;
        }
      };
      const got: number[] = [];
      await assert.rejects(async () => {
        for await (const v of pool.imap(f, [0, 1, 2])) got.push(v);
      }, /item 0/);
      assert.deepEqual(got, []);
      assert.deepEqual(ends.sort(), ['1 killed', '2 killed']);
      assert.equal(pool.length, 0);
    } finally {
      setExceptionHandler(null);
    }
  });
});
