/**
 * A Semaphore kept in the slab, released before the broker has the slab (the first release of
 * a program whose broker is still starting): the release is posted, not answered, so it returns
 * at once instead of blocking the thread until the broker is up (a review saw 2.7 s under tsx),
 * and the permit is there for the next acquire. This file's first multiprocessing object is the
 * semaphore below, so its broker is not up when the release runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readySlab } from '../../src/internal/process/lock-slab.js';
import { Semaphore } from '../../src/multiprocessing/index.js';
import { slabExpected } from '../support/slab.js';

test('a release before the broker has the slab does not wait for it', {
  skip: !slabExpected,
}, async () => {
  const sem = new Semaphore(0);
  assert.ok(
    sem._params.slot !== undefined && (sem._params.slot as number) >= 0,
    'kept in the slab',
  );
  sem.release();
  sem.release(2);
  assert.equal(readySlab(), null, 'the releases waited for the broker to be up');
  assert.equal(await sem.acquire({ timeout: 60_000 }), true);
  assert.equal(sem.acquireSync({ timeout: 60 }), true);
  assert.equal(sem.acquireSync({ timeout: 60 }), true);
  assert.equal(sem.getValue(), 0);
  assert.equal(sem.acquireSync({ blocking: false }), false);
});
