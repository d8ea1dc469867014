/**
 * A blocking broker call from a thread (sync-mailbox.ts) whose reply that thread cannot read
 * ('messageerror': an item nested deeper than its stack can deserialize; a real trigger, a
 * thread started under a 512 KiB threading.stackSize()) fails with a typed error instead of
 * leaving the thread parked for ever, and the mailbox serves the next call.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue } from '../../src/multiprocessing/index.js';
import { stackSize, Thread } from '../../src/threading/index.js';
import { depthOf, nested } from '../futures/fixtures/unreadable-tasks.js';
import { getDeep } from './fixtures/sync-unreadable-targets.js';

test('a reply the calling thread cannot read fails its blocking call; the next call works', async () => {
  const q = new Queue<unknown>();
  const out = new Queue<string>();
  try {
    await q.put(nested(1200));
    await q.put('second');
    const prev = stackSize(512 * 1024);
    // Daemon: on the old source it stays parked, and must not hold the test process.
    const t = new Thread({ target: getDeep, args: [q, out], daemon: true });
    try {
      t.start();
    } finally {
      stackSize(prev);
    }
    const got = await out.get({ timeout: 60_000 });
    assert.match(
      got,
      /^RuntimeError ERR_WEFT_UNREADABLE_MESSAGE .*the broker's reply could not be read in this thread \(RangeError: Maximum call stack size exceeded\)/,
    );
    // The thread's next blocking call (qsize) is answered.
    assert.equal(await out.get({ timeout: 60_000 }), 'none');
    await t.join({ timeout: 60_000 });
    assert.equal(t.isAlive(), false);
    // Nothing lost: both items are still to be had (the broker takes back a batch its thread
    // did not receive).
    const left = [await q.get({ timeout: 60_000 }), await q.get({ timeout: 60_000 })];
    assert.deepEqual(left.map((v) => (typeof v === 'string' ? v : depthOf(v))).sort(), [
      1200,
      'second',
    ]);
  } finally {
    q.close();
    out.close();
  }
});
