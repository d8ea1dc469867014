/**
 * A blocking call made while this thread's socket still holds frames it could not hand to the
 * kernel ships their messages with the call (broker-client.ts, `syncPrelude`). Those messages
 * are not kept beside the frames' bytes: they are read back from them (`messagesOf`). What that
 * could break: the items' kinds, bytes and order, and a message run twice or not at all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue } from '../../src/multiprocessing/index.js';

/** Items of a KiB or so of every common kind, and a few larger ones, numbered by `i`. */
function item(i: number): unknown {
  switch (i % 7) {
    case 0:
      return new Uint8Array(1024).fill(i & 0xff);
    case 1:
      return Buffer.alloc(1000, i & 0xff);
    case 2:
      return new Float64Array(128).fill(i);
    case 3:
      return new DataView(new Uint8Array(1024).fill(i & 0xff).buffer);
    case 4:
      return { i, s: 'x'.repeat(900) };
    case 5:
      return i % 70 === 5 ? new Uint8Array(70 * 1024).fill(i & 0xff) : `item ${i}`;
    default:
      return i;
  }
}

test('items in frames the socket could not take are shipped by a blocking call, in order, once', async () => {
  const q = new Queue<unknown>();
  const other = new Queue<number>(2);
  await q.joinThread(); // connected: what follows is written to the socket at once
  const n = 4000; // some 4 MiB: many times what the socket takes at once
  for (let i = 0; i < n; i++) q.putNowait(item(i));
  // Blocking: ships what the socket still holds, read back from the frames' bytes.
  other.putNowait(1);
  assert.equal(other.qsize(), 1);
  await q.joinThread();
  assert.equal(q.qsize(), n, 'every put ran once');
  for (let i = 0; i < n; i++) {
    const got = await q.get({ timeout: 60_000 });
    const want = item(i);
    assert.equal(Object.prototype.toString.call(got), Object.prototype.toString.call(want));
    assert.equal(Buffer.isBuffer(got), Buffer.isBuffer(want), `item ${i}: Buffer or not`);
    assert.deepStrictEqual(got, want, `item ${i}`);
  }
  assert.equal(q.qsize(), 0, 'no put ran twice');
  q.close();
  other.close();
});
