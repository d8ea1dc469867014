/**
 * maxsize beyond an Int32 (bug bash q4_maxsize_wrap): it was stored in an Int32, so another
 * thread saw 2^32 + 5 as 5 and 2^31 as negative (unbounded); and a LIFO or priority queue sized
 * its index by maxsize, allocating 2.4 GB for LifoQueue(1e8) and failing for LifoQueue(2^31).
 * Python takes any maxsize.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Full, LifoQueue, PriorityQueue, Queue } from '../../src/queue/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { probeMaxsize } from './fixtures/tasks.js';

checkLeaks();

const HUGE = [2 ** 30, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 5, 2 ** 53 + 2, Number.MAX_VALUE];

test('maxsize beyond an Int32 is the same in another thread (q4_maxsize_wrap)', async () => {
  for (const m of [5, 2 ** 31, 2 ** 32 + 5]) {
    const q = new Queue<number>(m);
    const out = new Queue<unknown>();
    const t = new Thread({ target: probeMaxsize, args: [q, out] });
    t.start();
    await t.join();
    assert.deepEqual(out.getNowait(), { maxsize: m, put: Math.min(m, 10), full: m <= 10 });
  }
});

for (const Q of [Queue, LifoQueue, PriorityQueue]) {
  test(`${Q.name}: any maxsize is seen whole by every view and bounds nothing it cannot reach`, () => {
    for (const m of HUGE) {
      const q = new Q<number>(m, { maxbytes: 4096 });
      // Another thread's view: the queue revived from its buffer.
      const other = Q._revive(Q, q._core.sab) as InstanceType<typeof Q>;
      assert.equal(other.maxsize, m);
      for (let i = 0; i < 10; i++) (i % 2 ? q : other).putNowait(i);
      assert.equal(other.full(), false);
      assert.equal(q.qsize(), 10);
    }
  });
}

for (const Q of [LifoQueue, PriorityQueue]) {
  test(`${Q.name}: a huge maxsize allocates by maxbytes, and bytes bound the items`, () => {
    for (const m of [1e8, 2 ** 31, 2 ** 40]) {
      const q = new Q<number>(m, { maxbytes: 1024 });
      assert.ok(q._core.sab.byteLength <= 2048, `${m}: ${q._core.sab.byteLength} bytes`);
      // An int takes 4 bytes and a 24-byte index entry: 36 of them fill 1024 bytes.
      let n = 0;
      assert.throws(() => {
        for (;;) {
          q.putNowait(n);
          n++;
        }
      }, Full);
      assert.equal(n, 36);
      assert.equal(q.qsize(), 36);
    }
    const small = new Q<number>(3);
    for (let i = 0; i < 3; i++) small.putNowait(i);
    assert.throws(() => small.putNowait(3), Full);
    assert.equal(small.full(), true);
  });
}
