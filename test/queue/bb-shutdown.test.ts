/**
 * Queue shutdown regression from bug bash 5: a put checked SHUTDOWN before it took the queue's
 * producer mutex, so a put in flight during `shutdown(true)` stored its item after the drain: the
 * queue, shut down immediately, still held an item and a get returned it (Python's put and
 * shutdown exclude each other under the queue's mutex: the put raises ShutDown or its item is
 * dropped). The test holds the producer mutex itself to stop a put half-way, deterministically.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LifoQueue, PriorityQueue, Queue, ShutDown } from '../../src/queue/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import { putOnce, shutdownNow } from './fixtures/bb-tasks.js';

checkLeaks();

/** The producer mutex's word (core.ts: PLOCK, 0 free, else the holder's tid, with PARKED once a
 * waiter may be parked). */
const PLOCK = 0;
const PARKED = 0x40000000;
/** The main thread's tid in the thread table: the stand-in holds the mutex as this thread. */
const MAIN_TID = 1;

describe('shutdown and a put in flight', () => {
  for (const Q of [Queue, LifoQueue, PriorityQueue]) {
    for (const immediate of [true, false]) {
      test(`${Q.name}: shutdown(${immediate}) — the put stopped half-way throws ShutDown, no item is left`, async () => {
        const q = new Q<unknown>();
        const a = q._core.a;
        const out = new Queue<string>();
        // Stand in for a producer inside its critical section.
        assert.equal(Atomics.compareExchange(a, PLOCK, 0, MAIN_TID), 0);
        const putter = new Thread({ target: putOnce, args: [q, 5, out] });
        putter.start();
        // The putter has gone past every check made before the mutex, and sleeps on it.
        await until(
          () => Atomics.load(a, PLOCK) === (MAIN_TID | PARKED),
          'the put parked on the mutex',
        );
        const closer = new Thread({ target: shutdownNow, args: [q, immediate, out] });
        closer.start();
        await until(() => q._core.isShutdown(), 'SHUTDOWN raised');
        // The stand-in leaves its critical section (Drepper's unlock).
        if ((Atomics.exchange(a, PLOCK, 0) & PARKED) !== 0) Atomics.notify(a, PLOCK);
        const said = [await out.get(), await out.get()].sort();
        await putter.join();
        await closer.join();
        assert.deepEqual(said, ['ShutDown', 'shut']);
        assert.equal(q.qsize(), 0);
        assert.throws(() => q.getNowait(), ShutDown);
        // Nothing was put: no task is left unfinished.
        await q.join({ timeout: 0 });
      });
    }
  }
});
