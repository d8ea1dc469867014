/**
 * A get whose item holds a shared object that cannot be revived beside a multiprocessing Pipe
 * end. The get throws the reviver's error and takes the item (unrevivable-item.test.ts); the Pipe
 * end in it must not stay counted: revived before the failure it was adopted by this thread and
 * nobody could close it, not revived yet its token stayed counted — either way the other end
 * never saw EOF. Now the get gives the item up as an immediate shutdown does: the revived end is
 * closed, the others are discarded. (CPython 3.11 closes the Connection it rebuilt before the
 * failure when the collector frees it; one after the failure stays held by its resource sharer,
 * which weft does not copy.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Connection, Pipe } from '../../src/multiprocessing/connection.js';
import { EOFError } from '../../src/multiprocessing/errors.js';
import { Queue } from '../../src/queue/index.js';
import { fragileKind, RevivalError } from '../support/fragile-kind.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

const Fragile = fragileKind(
  'test.half-revived-item',
  // A module every worker preloads anyway: this file is never imported by one.
  new URL('../../src/queue/queue.ts', import.meta.url).href,
);

const ITEMS: Array<[string, (w: Connection) => unknown]> = [
  ['[fragile, pipe end]', (w) => [new Fragile(), w]],
  ['[pipe end, fragile]', (w) => [w, new Fragile()]],
  ['a Map and an object', (w) => ({ a: new Map([[1, w]]), b: new Fragile(), c: { w } })],
];

/** The reading end sees EOF: poll() answers true and recv() throws EOFError. */
async function seesEof(r: Connection): Promise<void> {
  assert.equal(await r.poll(10_000), true, 'the reading end never saw EOF');
  await assert.rejects(r.recv(), EOFError);
}

describe('a failed get gives up the Pipe ends of its item', () => {
  for (const [name, item] of ITEMS) {
    test(`${name}: the other end sees EOF once the sender closes its own`, async () => {
      const [r, w] = Pipe(false);
      const q = new Queue<unknown>();
      try {
        q.putNowait(item(w));
        w.close();
        assert.throws(() => q.getNowait(), RevivalError);
        await seesEof(r);
      } finally {
        r.close();
      }
    });
  }

  test('as shutdown(true) drops such an item', async () => {
    const [r, w] = Pipe(false);
    const q = new Queue<unknown>();
    try {
      q.putNowait([w, new Fragile()]);
      w.close();
      q.shutdown(true);
      await seesEof(r);
    } finally {
      r.close();
    }
  });

  test('the sender’s own end stays open: only what the item counted is given back', async () => {
    const [r, w] = Pipe(false);
    const q = new Queue<unknown>();
    try {
      q.putNowait([w, new Fragile(), w]);
      assert.throws(() => q.getNowait(), RevivalError);
      w.send('still open');
      assert.equal(await r.recv(), 'still open');
      // Nothing left to read and a writer still open: no EOF.
      assert.equal(await r.poll(200), false);
      w.close();
      await seesEof(r);
    } finally {
      r.close();
      w.close();
    }
  });

  test('an item that revives still holds live ends', async () => {
    const [r, w] = Pipe(false);
    const q = new Queue<unknown>();
    try {
      q.putNowait([w]);
      w.close();
      const [got] = q.getNowait() as [Connection];
      got.send('through the revived end');
      assert.equal(await r.recv(), 'through the revived end');
      got.close();
      await seesEof(r);
    } finally {
      r.close();
    }
  });
});
