/**
 * A blocking get from a thread (sync-mailbox.ts) of an item nested deeper than that thread's
 * stack can read (a real trigger: a thread started under a 512 KiB threading.stackSize()) left
 * the thread parked for ever ('messageerror'); then it failed the whole blocking call. Items now
 * reach the thread as bytes (broker-item.ts): that get fails with a typed error, the item is
 * consumed (as Python's get loses an item it cannot unpickle), and the next call works.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue } from '../../src/multiprocessing/index.js';
import { stackSize, Thread } from '../../src/threading/index.js';
import { nested } from '../futures/fixtures/unreadable-tasks.js';
import { getDeep } from './fixtures/sync-unreadable-targets.js';

test('getSync of an item the calling thread cannot read fails that get only; the next call works', async () => {
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
      /^RuntimeError ERR_WEFT_UNREADABLE_MESSAGE Queue\.get: the item could not be read in this thread \(RangeError: Maximum call stack size exceeded\): it is nested too deeply for this thread's stack\. The item is consumed/,
    );
    // The thread's next blocking call (qsize) is answered.
    assert.equal(await out.get({ timeout: 60_000 }), 'none');
    await t.join({ timeout: 60_000 });
    assert.equal(t.isAlive(), false);
    // The deep item was consumed; the one after it, which the thread fetched with it and did
    // not take, went back to the queue when the thread ended.
    assert.equal(await q.get({ timeout: 60_000 }), 'second');
    assert.equal(q.qsize(), 0);
  } finally {
    q.close();
    out.close();
  }
});
