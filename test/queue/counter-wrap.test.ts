/**
 * A thread's cached lower bounds of the other side's counters (src/queue/core.ts: headSeen,
 * getsSeen, putsSeen) are compared with 32-bit wrapping differences. When other threads move
 * 2^31 items (or nearly 2^32 bytes) through the queue while this thread does nothing, a stale
 * bound wraps to the wrong side: a consumer took an item from an empty queue (garbage, and
 * qsize went to −1), a producer put past maxsize, or wrote over unread bytes of a full ring.
 *
 * Deterministic: the history of the other threads is simulated by advancing the shared counters
 * as they would have (the queue empty before and after, byte positions by a multiple of the
 * capacity so the ring's layout is unchanged); a second view of the same buffer (a fresh cache,
 * like another thread's) does the puts "the others" make afterwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Empty, Full, Queue } from '../../src/queue/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

// Header words (src/queue/core.ts).
const TAIL = 1;
const PUTS = 2;
const HEAD = 17;
const GETS = 18;

/** What other threads moving `items` items and `bytes` bytes through an empty queue leave. */
function othersMoved(q: Queue<unknown>, items: number, bytes: number): void {
  const a = q._core.a;
  assert.equal(q.qsize(), 0);
  for (const [i, n] of [
    [PUTS, items],
    [GETS, items],
    [TAIL, bytes],
    [HEAD, bytes],
  ] as const) {
    Atomics.store(a, i, (Atomics.load(a, i) + n) | 0);
  }
}

/** The same queue seen from a fresh cache, as another thread sees it. */
function otherView<T>(q: Queue<T>): Queue<T> {
  return Queue._revive(Queue, q._core.sab) as Queue<T>;
}

test('a consumer idle while 2^31 items went by does not get from an empty queue', () => {
  const q = new Queue<number>();
  q.putSync(1);
  assert.equal(q.getSync(), 1);
  othersMoved(q, 2 ** 31 + 1, 2 ** 31);
  assert.throws(() => q.getNowait(), Empty);
  assert.equal(q.qsize(), 0);
  q.putSync(2);
  assert.equal(q.getSync(), 2);
  assert.equal(q.qsize(), 0);
});

test('a producer idle while 2^31 items went by does not put past maxsize', () => {
  const q = new Queue<number>(2);
  q.putSync(1);
  assert.equal(q.getSync(), 1);
  othersMoved(q, 2 ** 31 + 1, 2 ** 31);
  const other = otherView(q);
  other.putSync(10);
  other.putSync(11);
  assert.throws(() => q.putNowait(3), Full);
  assert.equal(q.qsize(), 2);
  assert.deepEqual([q.getSync(), q.getSync()], [10, 11]);
});

test('a producer idle while nearly 2^32 bytes went by does not write over unread bytes', () => {
  const q = new Queue<unknown>(0, { maxbytes: 256 });
  // A large item: this thread's bound of HEAD stays at its start, far behind.
  const big = 'a'.repeat(100);
  q.putSync(big);
  assert.equal(q.getSync(), big);
  const cap = q._core.cap;
  othersMoved(q, 3, 2 ** 32 - cap);
  const other = otherView(q);
  const put: number[] = [];
  for (let i = 0; ; i++) {
    try {
      other.putNowait(1_000_000.5 + i);
      put.push(1_000_000.5 + i);
    } catch (err) {
      assert.ok(err instanceof Full);
      break;
    }
  }
  assert.ok(put.length > 0);
  // Larger than the number that did not fit: there is no room (without the fix it went over
  // the oldest unread records, which then read back as garbage).
  assert.throws(() => q.putNowait(Buffer.alloc(40, 7)), Full);
  const got: unknown[] = [];
  while (q.qsize() > 0) got.push(q.getSync());
  assert.deepEqual(got, put);
});
