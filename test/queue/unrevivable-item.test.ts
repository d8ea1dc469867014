/**
 * An item whose shared objects cannot be revived by the get that takes it (a SharedMemory block
 * unlinked since the put, a kind whose module the getting thread has not loaded). The item was
 * decoded under the queue's mutex before its record was consumed: the reviver's error left it
 * first in the queue, so every later get threw the same error and the items behind it were never
 * reached; an immediate shutdown's drain stopped at it, and `join()` never returned. Python's
 * multiprocessing queue takes the item and raises the unpickling error from that get; the next
 * get has the next item. A reviver that throws stands in for the real cases here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kShared, registerSharedKind, type SharedState } from '../../src/internal/serialize.js';
import { Empty, LifoQueue, PriorityQueue, Queue } from '../../src/queue/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const KIND = 'test.unrevivable-item';

/** A shared object whose revival fails when `ok` is false. */
class Fragile {
  constructor(readonly ok: boolean) {}
  [kShared](): SharedState {
    return { kind: KIND, state: { ok: this.ok } };
  }
}

class RevivalError extends Error {
  override name = 'RevivalError';
}

registerSharedKind(
  KIND,
  (s) => {
    if (s.ok !== true) throw new RevivalError('this object cannot be revived here');
    return new Fragile(true);
  },
  // A module every thread preloads anyway: this test file must never be imported by a worker.
  new URL('../../src/queue/queue.ts', import.meta.url).href,
);

/** The order gets return [priority, label] items put as below, per queue class. */
const ORDER = {
  Queue: ['before', 'bad', 'after'],
  LifoQueue: ['after', 'bad', 'before'],
  PriorityQueue: ['before', 'bad', 'after'],
} as const;

function fill(q: Queue<unknown>): void {
  q.putNowait([1, 'before']);
  q.putNowait([2, 'bad', new Fragile(false)]);
  q.putNowait([3, 'after', new Fragile(true)]);
}

describe('a get whose item cannot be revived', () => {
  for (const Q of [Queue, LifoQueue, PriorityQueue]) {
    test(`${Q.name}: the get throws the reviver's error, the item is consumed, the next get has the next item`, async () => {
      const q = new Q<unknown>();
      fill(q);
      const got: string[] = [];
      for (const get of [() => q.get(), () => q.getSync(), () => q.getNowait()] as const) {
        try {
          const item = (await get()) as [number, string, Fragile?];
          if (item[2] !== undefined) assert.ok(item[2] instanceof Fragile);
          got.push(item[1]);
        } catch (err) {
          assert.ok(err instanceof RevivalError, `unexpected ${err}`);
          got.push('bad');
        }
      }
      assert.deepEqual(got, ORDER[Q.name as keyof typeof ORDER]);
      assert.equal(q.qsize(), 0);
      assert.throws(() => q.getNowait(), Empty);
      // The failed get took a task like any other: three taskDone calls finish the queue.
      for (let i = 0; i < 3; i++) q.taskDone();
      assert.throws(() => q.taskDone(), RangeError);
      await q.join({ timeout: 5000 });
    });

    test(`${Q.name}: a waiting get that takes it rejects with the reviver's error, and the next get goes on`, async () => {
      const q = new Q<unknown>();
      const waiting = q.get({ timeout: 10_000 });
      q.putNowait([2, 'bad', new Fragile(false)]);
      await assert.rejects(waiting, RevivalError);
      q.putNowait([1, 'next']);
      assert.deepEqual(await q.get({ timeout: 10_000 }), [1, 'next']);
    });

    test(`${Q.name}: shutdown(true) drops it with the others, and join() returns`, async () => {
      const q = new Q<unknown>();
      fill(q);
      q.shutdown(true);
      assert.equal(q.qsize(), 0);
      await q.join({ timeout: 5000 });
    });
  }
});
