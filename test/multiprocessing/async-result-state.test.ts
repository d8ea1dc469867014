/**
 * AsyncResult judges a call by its future's state, not by its value: JavaScript can throw
 * `undefined`, and a call that failed with it has not succeeded (Python's `successful()` is false
 * for any exception). Workers wrap a thrown `undefined` in an Error, so this guards the futures
 * weft builds in the parent (chunks, maps) and any future handed to AsyncResult.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Future } from '../../src/futures/index.js';
import { AsyncResult } from '../../src/multiprocessing/async-result.js';

test('successful() is false for a call that failed with undefined, true for one that returned it', () => {
  const failed = new Future<unknown>();
  failed.setException(undefined);
  assert.equal(new AsyncResult(failed).successful(), false);
  const returned = new Future<unknown>();
  returned.setResult(undefined);
  assert.equal(new AsyncResult(returned).successful(), true);
  const cancelled = new Future<unknown>();
  cancelled.cancel();
  assert.equal(new AsyncResult(cancelled).successful(), false);
});
