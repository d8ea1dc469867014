/**
 * Python's ValueError from a multiprocessing queue (checked with 3.11.2 and 3.13): `put`, `get`,
 * `put_nowait` and `get_nowait` on a closed Queue or JoinableQueue ("Queue … is closed"), and
 * `task_done()` called too many times. weft spells ValueError as a RangeError with a `code`
 * (API.md; weft/queue's and weft/asyncio's `taskDone` already did); these threw RuntimeError.
 * `qsize()`, `empty()` and `full()` of a closed queue still answer, as Python's do.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JoinableQueue, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

const closedQueue = { name: 'RangeError', code: 'ERR_WEFT_QUEUE_CLOSED' };
const tooMany = { name: 'RangeError', code: 'ERR_WEFT_TASK_DONE' };

describe("a multiprocessing queue's ValueErrors are RangeErrors", () => {
  for (const [kind, make] of [
    ['Queue', () => new Queue<number>()],
    ['JoinableQueue', () => new JoinableQueue<number>()],
  ] as const) {
    test(`a closed ${kind} refuses put and get`, async () => {
      const q = make();
      q.close();
      await assert.rejects(q.put(1), closedQueue);
      await assert.rejects(q.get(), closedQueue);
      await assert.rejects(q.get({ timeout: 100 }), closedQueue);
      assert.throws(() => q.putNowait(1), closedQueue);
      assert.throws(() => q.getNowait(), closedQueue);
      assert.equal(q.qsize(), 0);
      assert.equal(q.empty(), true);
      assert.equal(q.full(), false);
    });
  }

  test('taskDone() called too many times, with items taken and without', async () => {
    const jq = new JoinableQueue<number>();
    assert.throws(() => jq.taskDone(), tooMany);
    await jq.put(1);
    assert.equal(await jq.get({ timeout: 30_000 }), 1);
    jq.taskDone();
    assert.throws(() => jq.taskDone(), tooMany);
    assert.equal(await jq.join({ timeout: 30_000 }), true);
    jq.close();
  });
});
