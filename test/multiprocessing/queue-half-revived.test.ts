/**
 * weft/multiprocessing's Queue, as weft/queue's (test/queue/half-revived-item.test.ts): a get
 * whose item holds an object that cannot be revived beside a Pipe end throws the reviver's error,
 * takes the item, and gives up the item's Pipe ends (closes the one it revived, discards the one
 * it had not reached), so the other end of the Pipe sees EOF once its sender closes its copy.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EOFError } from '../../src/multiprocessing/errors.js';
import { type Connection, Pipe, Queue } from '../../src/multiprocessing/index.js';
import { fragileKind, RevivalError } from '../support/fragile-kind.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

const Fragile = fragileKind(
  'test.mp-queue-half-revived',
  // A module every worker preloads anyway: this file is never imported by one.
  new URL('../../src/multiprocessing/queue.ts', import.meta.url).href,
);

const ITEMS: Array<[string, (w: Connection) => unknown]> = [
  ['[fragile, pipe end]', (w) => [new Fragile(), w]],
  ['[pipe end, fragile]', (w) => [w, new Fragile()]],
];

describe('multiprocessing Queue: a failed get gives up the Pipe ends of its item', () => {
  for (const [name, item] of ITEMS) {
    test(`${name}: the get throws, the next get has the next item, the other end sees EOF`, async () => {
      const [r, w] = Pipe(false);
      const q = new Queue<unknown>();
      try {
        await q.put(item(w));
        await q.put('next');
        w.close();
        await assert.rejects(q.get({ timeout: 10_000 }), RevivalError);
        assert.equal(await q.get({ timeout: 10_000 }), 'next');
        assert.equal(await r.poll(10_000), true, 'the reading end never saw EOF');
        await assert.rejects(r.recv(), EOFError);
      } finally {
        r.close();
        q.close();
      }
    });
  }

  test('gets waiting together: an item that fails to revive fails only the get it was handed to', async () => {
    // With prefetch, the get whose batch arrives first serves this thread's other waiting gets
    // from it: a failure to revive one of those items is that get's answer, not the server's.
    // (helper-120's review)
    const q = new Queue<unknown>();
    try {
      q.putNowait('good');
      q.putNowait([new Fragile()]);
      q.putNowait('third');
      // Two gets asking together: the first batch brings all three items, and its get serves
      // the other one from it.
      const a = q.get({ timeout: 10_000 });
      const b = q.get({ timeout: 10_000 });
      assert.equal(await a, 'good');
      await assert.rejects(b, RevivalError);
      assert.equal(await q.get({ timeout: 10_000 }), 'third');
    } finally {
      q.close();
    }
  });

  test("the serving get's own item fails to revive: the other waiting get is served all the same", async () => {
    // (helper-123's review) The serving get threw before it handed out the rest of its batch:
    // the other get waited at the broker until its timeout while its item sat here.
    const q = new Queue<unknown>();
    try {
      q.putNowait([new Fragile()]);
      q.putNowait('good');
      const a = q.get({ timeout: 10_000 });
      const b = q.get({ timeout: 10_000 });
      await assert.rejects(a, RevivalError);
      assert.equal(await b, 'good');
    } finally {
      q.close();
    }
  });
});
