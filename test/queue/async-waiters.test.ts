/**
 * A put wakes one parked getter and a get one parked putter (`notify(word, 1)`). V8 hands that
 * wake-up to the first waiter in its list for the word, async ones (`await q.get()`) included,
 * and an async waiter acts only when its own thread's event loop runs: if that thread is
 * blocked in a sync wait, the wake-up is spent and a thread parked in `getSync` sleeps on until
 * its next 50 ms look (src/queue/core.ts: SHUTDOWN_POLL_MS) with an item waiting. So the queue
 * counts its async waiters apart (header words 36 and 37) and wakes one more per async waiter,
 * as the threading locks do (src/internal/shm/wait.ts: wakeSome).
 *
 * What a loaded machine cannot blur: the counters while waiters park, and the count each
 * wake-up asks for (Atomics.notify watched in this thread).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Empty, Full, Queue } from '../../src/queue/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';

checkLeaks();

// Header words (src/queue/core.ts).
const PUTS = 2;
const GETS = 18;
const GET_WAITERS = 32;
const PUT_WAITERS = 33;
const ASYNC_GETTERS = 36;
const ASYNC_PUTTERS = 37;
const ROOM_WANTED = 38;

const word = (q: Queue<unknown>, i: number): number => Atomics.load(q._core.a, i);

/** The (index, count) of every Atomics.notify on `q`'s header while `fn` runs. */
function notifiesDuring(q: Queue<unknown>, fn: () => void): [number, number][] {
  const seen: [number, number][] = [];
  const real = Atomics.notify;
  Atomics.notify = ((a: Int32Array, i: number, count?: number): number => {
    if (a.buffer === q._core.a.buffer) seen.push([i, count ?? Number.POSITIVE_INFINITY]);
    return real(a, i, count);
  }) as typeof Atomics.notify;
  try {
    fn();
  } finally {
    Atomics.notify = real;
  }
  return seen;
}

test('an async getter is counted while it parks, and a put wakes one more for it', async () => {
  const q = new Queue<number>();
  const got = q.get();
  await until(() => word(q, ASYNC_GETTERS) === 1, 'the async getter to park');
  assert.equal(word(q, GET_WAITERS), 1);
  // One getter to wake, plus one for the async getter whose thread might be blocked.
  assert.deepEqual(
    notifiesDuring(q, () => q.putSync(7)),
    [[PUTS, 2]],
  );
  assert.equal(await got, 7);
  assert.equal(word(q, ASYNC_GETTERS), 0);
  assert.equal(word(q, GET_WAITERS), 0);
});

test('an async putter is counted while it parks, and a get wakes one more for it', async () => {
  const q = new Queue<number>(1);
  q.putSync(1);
  const put = q.put(2);
  await until(() => word(q, ASYNC_PUTTERS) === 1, 'the async putter to park');
  assert.equal(word(q, PUT_WAITERS), 1);
  let first = 0;
  assert.deepEqual(
    notifiesDuring(q, () => {
      first = q.getSync();
    }),
    [[GETS, 2]],
  );
  assert.equal(first, 1);
  await put;
  assert.equal(q.getSync(), 2);
  assert.equal(word(q, ASYNC_PUTTERS), 0);
  assert.equal(word(q, PUT_WAITERS), 0);
});

test('a put with no async getter parked still wakes exactly one', async () => {
  const q = new Queue<number>();
  // A getter counted but not async: what a thread in getSync looks like from here.
  Atomics.add(q._core.a, GET_WAITERS, 1);
  try {
    assert.deepEqual(
      notifiesDuring(q, () => q.putSync(1)),
      [[PUTS, 1]],
    );
  } finally {
    Atomics.sub(q._core.a, GET_WAITERS, 1);
  }
  assert.equal(q.getSync(), 1);
});

test('async waiters that time out or are aborted are no longer counted', async () => {
  const q = new Queue<number>(1);
  await assert.rejects(q.get({ timeout: 20 }), Empty);
  assert.equal(word(q, ASYNC_GETTERS), 0);
  q.putSync(1);
  await assert.rejects(q.put(2, { timeout: 20 }), Full);
  assert.equal(word(q, ASYNC_PUTTERS), 0);

  const ac = new AbortController();
  const put = q.put(3, { signal: ac.signal });
  await until(() => word(q, ASYNC_PUTTERS) === 1, 'the async putter to park');
  ac.abort(new Error('stop'));
  await assert.rejects(put, /stop/);
  assert.equal(word(q, ASYNC_PUTTERS), 0);
  assert.equal(word(q, PUT_WAITERS), 0);
  assert.equal(q.getSync(), 1);
});

test('a putter whose item does not fit makes the next get wake every putter', async () => {
  // 256 bytes of ring: the largest item is half of it. One record of ~100 bytes and a putter
  // of a ~100-byte item fill it; another put of that size finds no room for its bytes.
  const q = new Queue<string>(0, { maxbytes: 256 });
  q.putSync('a'.repeat(100));
  q.putSync('b'.repeat(100));
  const big = q.put('c'.repeat(100));
  let passed = false;
  try {
    await until(() => word(q, PUT_WAITERS) === 1, 'the putter to park');
    assert.equal(word(q, ROOM_WANTED), 1);
    // One wake-up could go to a putter whose item still does not fit: all of them are woken.
    assert.deepEqual(
      notifiesDuring(q, () => assert.equal(q.getSync(), 'a'.repeat(100))),
      [[GETS, Number.POSITIVE_INFINITY]],
    );
    assert.equal(word(q, ROOM_WANTED), 0);
    await big;
    assert.equal(q.getSync(), 'b'.repeat(100));
    passed = true;
  } finally {
    // A failure above leaves the putter parked: shut the queue so that it ends.
    if (!passed) {
      q.shutdown(true);
      await big.catch(() => undefined);
    }
  }
  assert.equal(q.getSync(), 'c'.repeat(100));
  // With the flag down, a get wakes one putter again (plus one per async putter).
  Atomics.add(q._core.a, PUT_WAITERS, 1);
  try {
    q.putSync('d');
    assert.deepEqual(
      notifiesDuring(q, () => q.getSync()),
      [[GETS, 1]],
    );
  } finally {
    Atomics.sub(q._core.a, PUT_WAITERS, 1);
  }
});
