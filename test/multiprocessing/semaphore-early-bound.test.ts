/**
 * A Semaphore kept in the slab, released by a thread that has not seen the broker have the slab,
 * posts the release (semaphore.ts `#roomBeforeReady`) while the count plus the permits it
 * posted that way and may not be in the count yet leaves room. Those permits stop counting once
 * a reply shows the posts done at the broker: kept for ever, they would send every later
 * release of the thread to wait for the broker. Here the thread is made to miss the broker's
 * "ready" (word 2 of the slab, lock-slab.ts's layout), as a thread whose broker never has the
 * slab does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brokerSync } from '../../src/internal/process/broker-sync.js';
import { mappedSlab, readySlab, SEM_COUNT } from '../../src/internal/process/lock-slab.js';
import { Semaphore } from '../../src/multiprocessing/index.js';
import { slabExpected } from '../support/slab.js';

/** The slab's "broker ready" word (lock-slab.ts, the layout table). */
const BROKER_READY = 2;

test('permits posted before the broker was seen ready stop counting once done there', {
  skip: !slabExpected,
}, () => {
  const a = new Semaphore(0);
  const slab = mappedSlab() as Int32Array;
  // The broker is up (it wrote "ready" before answering); this thread has not read that yet.
  brokerSync().request('ping', undefined, []);
  assert.equal(Atomics.load(slab, BROKER_READY), 1);
  Atomics.store(slab, BROKER_READY, 0);
  try {
    assert.equal(readySlab(), null, 'this thread has not seen the broker ready');
    // Posted: room for all of it in a's count.
    a.release(SEM_COUNT);
    // A reply: the post is done at the broker, whose count has it.
    assert.equal(a.getValue(), SEM_COUNT);
    const b = new Semaphore(0);
    const s = brokerSync();
    const request = s.request;
    const asked: string[] = [];
    s.request = function (this: typeof s, o, ...rest) {
      asked.push(o);
      return request.call(this, o, ...rest);
    };
    try {
      // b's count is 0: room for it, once a's permits are in a's count and no longer a bound.
      b.release();
    } finally {
      s.request = request;
    }
    assert.deepEqual(asked, [], 'the release was posted, not a blocking request');
    assert.equal(b.getValue(), 1);
    assert.equal(a.getValue(), SEM_COUNT);
  } finally {
    Atomics.store(slab, BROKER_READY, 1);
  }
});
