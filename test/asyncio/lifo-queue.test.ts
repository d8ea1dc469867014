/**
 * asyncio LifoQueue: last in, first out (CPython's LifoQueueTests), with the waiting, join and
 * shutdown behaviour of Queue (its shared suites run in queue.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createTask,
  gather,
  LifoQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  run,
  sleep,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('LifoQueue', () => {
  test('items come out last in, first out', async () => {
    // CPython LifoQueueTests.test_order.
    await run(async () => {
      const q = new LifoQueue<number>();
      for (const i of [1, 3, 2]) await q.put(i);
      assert.deepEqual([await q.get(), await q.get(), await q.get()], [2, 3, 1]);
      assert.ok(q instanceof Queue);
    });
  });

  test('putNowait and getNowait keep the stack order and the size', () => {
    const q = new LifoQueue<string>(3);
    q.putNowait('a');
    q.putNowait('b');
    assert.equal(q.getNowait(), 'b');
    q.putNowait('c');
    q.putNowait('d');
    assert.equal(q.full(), true);
    assert.throws(() => q.putNowait('e'), QueueFull);
    assert.equal(q.qsize(), 3);
    assert.deepEqual([q.getNowait(), q.getNowait(), q.getNowait()], ['d', 'c', 'a']);
    assert.equal(q.empty(), true);
    assert.throws(() => q.getNowait(), QueueEmpty);
  });

  test('waiting getters take the newest item when several arrive at once', async () => {
    await run(async () => {
      const q = new LifoQueue<number>();
      const log: string[] = [];
      const getters = ['g1', 'g2'].map((name) =>
        createTask(async () => log.push(`${name}:${await q.get()}`)),
      );
      await sleep(0);
      q.putNowait(1);
      q.putNowait(2);
      await gather(...getters);
      // Getters are FIFO; each takes the top of the stack when it runs.
      assert.deepEqual(log, ['g1:2', 'g2:1']);
    });
  });

  test('a bounded LifoQueue blocks putters until a get frees a slot', async () => {
    await run(async () => {
      const q = new LifoQueue<number>(1);
      q.putNowait(1);
      const putter = createTask(() => q.put(2));
      await sleep(0);
      assert.equal(putter.done(), false);
      assert.equal(await q.get(), 1);
      await putter;
      assert.equal(q.getNowait(), 2);
    });
  });

  test('async iteration drains newest first until shutdown', async () => {
    await run(async () => {
      const q = new LifoQueue<number>();
      for (const i of [1, 2, 3]) q.putNowait(i);
      q.shutdown();
      const got: number[] = [];
      for await (const item of q) got.push(item);
      assert.deepEqual(got, [3, 2, 1]);
    });
  });
});
