/**
 * asyncio Queue: CPython's test_queues (basic, get, put, cancellation races, join, Python 3.13
 * shutdown — the join and shutdown suites run against Queue, LifoQueue and PriorityQueue), async
 * iteration, `{ block, timeout, signal }`, bad input, and property tests: random operation
 * sequences against a model, and random producer/consumer schedules that lose and duplicate
 * nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CancelledError,
  createTask,
  Event,
  gather,
  getRunningLoop,
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  run,
  sleep,
  TaskGroup,
  TimeoutError,
  waitFor,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** Pending getters and putters (white-box: "leaves no waiter"). */
function waiters(q: Queue<unknown>): { getters: number; putters: number } {
  const x = q as unknown as { getters: { size: number }; putters: { size: number } };
  return { getters: x.getters.size, putters: x.putters.size };
}

const isShutDown = (e: unknown) => e instanceof QueueShutDown;

describe('Queue basics', () => {
  test('empty and full follow the items in the queue', async () => {
    await run(async () => {
      const q = new Queue<number>();
      assert.equal(q.empty(), true);
      await q.put(1);
      assert.equal(q.empty(), false);
      assert.equal(await q.get(), 1);
      assert.equal(q.empty(), true);
      assert.equal(q.full(), false, 'an unbounded queue is never full');
      const bounded = new Queue<number>(1);
      await bounded.put(1);
      assert.equal(bounded.full(), true);
      assert.equal(bounded.qsize(), 1);
      assert.equal(bounded.maxsize, 1);
    });
  });

  test('items come out in FIFO order', async () => {
    await run(async () => {
      const q = new Queue<number>();
      for (const i of [1, 3, 2]) await q.put(i);
      const items = [await q.get(), await q.get(), await q.get()];
      assert.deepEqual(items, [1, 3, 2]);
    });
  });

  test('put waits while the queue is at maxsize', async () => {
    // CPython test_maxsize.
    await run(async () => {
      const q = new Queue<number>(2);
      const haveBeenPut: number[] = [];
      const t = createTask(async () => {
        for (let i = 0; i < 3; i++) {
          await q.put(i);
          haveBeenPut.push(i);
        }
        return true;
      });
      await sleep(0);
      await sleep(0);
      assert.deepEqual(haveBeenPut, [0, 1], 'the putter is blocked after two items');
      assert.equal(await q.get(), 0);
      await sleep(0);
      assert.deepEqual(haveBeenPut, [0, 1, 2]);
      assert.equal(await q.get(), 1);
      assert.equal(await q.get(), 2);
      assert.equal(await t, true);
    });
  });

  test('waiting calls always return a Promise, even when they can answer at once', async () => {
    await run(async () => {
      const q = new Queue<number>();
      const p = q.put(1);
      assert.ok(p instanceof Promise);
      await p;
      const g = q.get();
      assert.ok(g instanceof Promise);
      assert.equal(await g, 1);
      const j = q.join();
      assert.ok(j instanceof Promise);
      q.taskDone();
      await j;
    });
  });
});

describe('Queue subclass hooks', () => {
  test('a subclass overriding _init/_put/_get/_size changes the order and keeps the rest', async () => {
    // CPython's template hooks; the state is `declare`d because _init runs in Queue's
    // constructor, before a subclass's field initializers.
    class EvensFirst extends Queue<number> {
      declare private evens: number[];
      declare private odds: number[];
      protected override _init(): void {
        this.evens = [];
        this.odds = [];
      }
      protected override _put(item: number): void {
        (item % 2 === 0 ? this.evens : this.odds).push(item);
      }
      protected override _get(): number {
        return (this.evens.length > 0 ? this.evens : this.odds).shift() as number;
      }
      protected override _size(): number {
        return this.evens.length + this.odds.length;
      }
    }
    await run(async () => {
      const q = new EvensFirst(3);
      for (const i of [1, 2, 3]) await q.put(i);
      assert.equal(q.full(), true);
      const putter = createTask(() => q.put(4));
      await sleep(0);
      assert.equal(await q.get(), 2);
      await putter;
      assert.deepEqual([q.getNowait(), q.getNowait(), q.getNowait()], [4, 1, 3]);
      q.shutdown();
      await assert.rejects(q.get(), QueueShutDown);
    });
  });
});

describe('Queue.get', () => {
  test('get waits for a put and the putter wakes it', async () => {
    // CPython test_blocking_get_wait / test_put_with_waiting_getters.
    await run(async () => {
      const q = new Queue<number>();
      const started = new Event();
      let finished = false;
      const t = createTask(async () => {
        started.set();
        const r = await q.get();
        finished = true;
        return r;
      });
      await started.wait();
      assert.equal(finished, false);
      getRunningLoop().callLater(2, () => q.putNowait(1));
      assert.equal(await t, 1);
      assert.equal(finished, true);
    });
  });

  test('getNowait on an empty queue throws QueueEmpty', () => {
    const q = new Queue();
    assert.throws(
      () => q.getNowait(),
      (e: unknown) => e instanceof QueueEmpty && (e as QueueEmpty).code === 'ERR_WEFT_QUEUE_EMPTY',
    );
    q.putNowait(1);
    assert.equal(q.getNowait(), 1);
  });

  test('get frees a slot and wakes a waiting putter', async () => {
    // CPython test_get_with_waiting_putters.
    await run(async () => {
      const q = new Queue<string>(1);
      createTask(() => q.put('a'));
      createTask(() => q.put('b'));
      assert.equal(await q.get(), 'a');
      assert.equal(await q.get(), 'b');
    });
  });

  test('getters are served FIFO', async () => {
    await run(async () => {
      const q = new Queue<string>();
      const log: string[] = [];
      const tasks = ['g1', 'g2', 'g3'].map((name) =>
        createTask(async () => log.push(`${name}:${await q.get()}`)),
      );
      await sleep(0);
      q.putNowait('a');
      q.putNowait('b');
      q.putNowait('c');
      await gather(...tasks);
      assert.deepEqual(log, ['g1:a', 'g2:b', 'g3:c']);
    });
  });

  test('a getter cancelled before a put is skipped', async () => {
    // CPython test_get_cancelled_race.
    await run(async () => {
      const q = new Queue<string>();
      const t1 = createTask(() => q.get());
      const t2 = createTask(() => q.get());
      await sleep(0);
      t1.cancel();
      await sleep(0);
      assert.ok(t1.done());
      await q.put('a');
      await sleep(0);
      assert.equal(await t2, 'a');
      assert.deepEqual(waiters(q), { getters: 0, putters: 0 });
    });
  });

  test('a getter cancelled right after a put woke it loses no item', async () => {
    // CPython test_get_cancel_drop_one_pending_reader.
    await run(async () => {
      const q = new Queue<number>();
      let reader = createTask(() => q.get());
      await sleep(0);
      q.putNowait(1);
      q.putNowait(2);
      reader.cancel();
      try {
        await reader;
      } catch (e) {
        assert.ok(e instanceof CancelledError);
        reader = createTask(() => q.get());
        await reader;
      }
      assert.equal(reader.result(), 1, 'getting 2 would mean 1 was dropped');
      assert.equal(q.qsize(), 1);
    });
  });

  test('a getter cancelled at its wake-up passes the item to the next getter', async () => {
    // CPython test_get_cancel_drop_many_pending_readers.
    await run(async () => {
      const q = new Queue<number>();
      const [r1, r2, r3] = [0, 1, 2].map(() => createTask(() => q.get()));
      await sleep(0);
      q.putNowait(1);
      q.putNowait(2);
      r1!.cancel();
      await assert.rejects(r1!, CancelledError);
      await gather(r2!, r3!);
      assert.deepEqual(new Set([r2!.result(), r3!.result()]), new Set([1, 2]));
      assert.equal(q.qsize(), 0);
    });
  });

  test('get inside waitFor() times out and leaves no getter', async () => {
    // CPython test_cancelled_getters_not_being_held_in_self_getters.
    await run(async () => {
      const q = new Queue(5);
      await assert.rejects(waitFor(q.get(), 5), TimeoutError);
      assert.deepEqual(waiters(q), { getters: 0, putters: 0 });
    });
  });

  test('a producer and a consumer of a queue of one pass every item', async () => {
    // CPython test_why_are_getters_waiting.
    await run(async () => {
      const q = new Queue<number>(1);
      const got: number[] = [];
      {
        await using tg = new TaskGroup();
        tg.createTask(async () => {
          for (let i = 0; i < 5; i++) await q.put(i);
        });
        tg.createTask(async () => {
          for (let i = 0; i < 5; i++) got.push(await q.get());
        });
      }
      assert.deepEqual(got, [0, 1, 2, 3, 4]);
    });
  });

  test('get with block false or timeout 0 throws QueueEmpty at once', async () => {
    await run(async () => {
      const q = new Queue<number>();
      await assert.rejects(q.get({ block: false }), QueueEmpty);
      await assert.rejects(q.get({ timeout: 0 }), QueueEmpty);
      q.putNowait(7);
      assert.equal(await q.get({ block: false }), 7);
      assert.deepEqual(waiters(q), { getters: 0, putters: 0 });
    });
  });

  test('get with timeout throws QueueEmpty when it expires, or returns an item put in time', async () => {
    await run(async () => {
      const q = new Queue<number>();
      await assert.rejects(q.get({ timeout: 3 }), QueueEmpty);
      assert.deepEqual(waiters(q), { getters: 0, putters: 0 });
      const t = createTask(() => q.get({ timeout: 60_000 }));
      await sleep(0);
      q.putNowait(5);
      assert.equal(await t, 5);
    });
  });

  test('a getter that timed out does not absorb a later item', async () => {
    await run(async () => {
      const q = new Queue<string>();
      const hasty = createTask(() => q.get({ timeout: 2 }));
      const patient = createTask(() => q.get());
      // Put once the hasty getter has timed out, not after a sleep(10) that a loaded machine
      // can let fire before the getter's own 2 ms timer (armed a step later).
      await gather(hasty, { returnExceptions: true });
      q.putNowait('x');
      const [h, p] = await gather(hasty, patient, { returnExceptions: true });
      assert.ok(h instanceof QueueEmpty);
      assert.equal(p, 'x');
    });
  });

  test('get with an already aborted signal rejects with its reason, even with items', async () => {
    await run(async () => {
      const q = new Queue<number>();
      q.putNowait(1);
      const reason = new Error('before');
      await assert.rejects(q.get({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
      assert.equal(q.qsize(), 1, 'nothing taken');
    });
  });

  test('get aborted while waiting rejects with the reason; the next item goes to the next getter', async () => {
    await run(async () => {
      const q = new Queue<string>();
      const ac = new AbortController();
      const aborted = createTask(() => q.get({ signal: ac.signal }));
      const next = createTask(() => q.get());
      await sleep(0);
      assert.equal(waiters(q).getters, 2);
      ac.abort(new Error('gave up'));
      await assert.rejects(aborted, /gave up/);
      assert.equal(waiters(q).getters, 1);
      q.putNowait('item');
      assert.equal(await next, 'item');
      assert.equal(q.qsize(), 0);
    });
  });

  test('a signal aborted after a put woke the getter leaves the item for the next getter', async () => {
    await run(async () => {
      const q = new Queue<string>();
      const ac = new AbortController();
      const first = createTask(() => q.get({ signal: ac.signal }));
      const second = createTask(() => q.get());
      await sleep(0);
      q.putNowait('only');
      ac.abort(new Error('late'));
      await assert.rejects(first, /late/);
      assert.equal(await second, 'only');
    });
  });
});

describe('Queue.put', () => {
  test('put waits for a get on a full queue', async () => {
    // CPython test_blocking_put_wait.
    await run(async () => {
      const q = new Queue<number>(1);
      const started = new Event();
      let finished = false;
      getRunningLoop().callLater(2, () => q.getNowait());
      const t = createTask(async () => {
        started.set();
        await q.put(1);
        await q.put(2);
        finished = true;
      });
      await started.wait();
      assert.equal(finished, false);
      await t;
      assert.equal(finished, true);
      assert.equal(q.getNowait(), 2);
    });
  });

  test('putNowait on a full queue throws QueueFull', () => {
    const q = new Queue(1);
    q.putNowait(1);
    assert.throws(
      () => q.putNowait(2),
      (e: unknown) => e instanceof QueueFull && (e as QueueFull).code === 'ERR_WEFT_QUEUE_FULL',
    );
    assert.equal(q.qsize(), 1);
  });

  test('a putter cancelled after a get freed its slot puts nothing and loses no slot', async () => {
    // CPython test_put_cancel_drop.
    await run(async () => {
      const q = new Queue<number>(1);
      q.putNowait(1);
      let writer = createTask(() => q.put(2));
      await sleep(0);
      assert.equal(q.getNowait(), 1);
      writer.cancel();
      try {
        await writer;
      } catch (e) {
        assert.ok(e instanceof CancelledError);
        writer = createTask(() => q.put(2));
        await writer;
      }
      assert.equal(q.getNowait(), 2);
      assert.equal(q.qsize(), 0);
    });
  });

  test('a putter cancelled while waiting is skipped by the next get', async () => {
    // CPython test_put_cancelled_race.
    await run(async () => {
      const q = new Queue<string>(1);
      const putA = createTask(() => q.put('a'));
      const putB = createTask(() => q.put('b'));
      const putC = createTask(() => q.put('X'));
      await sleep(0);
      assert.ok(putA.done());
      assert.ok(!putB.done());
      putC.cancel();
      await sleep(0);
      assert.ok(putC.done());
      assert.equal(q.getNowait(), 'a');
      await sleep(0);
      assert.equal(q.getNowait(), 'b');
      await putB;
      assert.deepEqual(waiters(q), { getters: 0, putters: 0 });
    });
  });

  test('a putter cancelled at its wake-up passes the free slot to the next putter', async () => {
    await run(async () => {
      const q = new Queue<string>(1);
      q.putNowait('first');
      const p1 = createTask(() => q.put('p1'));
      const p2 = createTask(() => q.put('p2'));
      await sleep(0);
      assert.equal(q.getNowait(), 'first'); // wakes p1 …
      p1.cancel(); // … cancelled before it runs
      await assert.rejects(p1, CancelledError);
      await p2;
      assert.equal(q.getNowait(), 'p2');
      assert.equal(q.qsize(), 0);
    });
  });

  test('putters are served FIFO and a newcomer does not overtake them', async () => {
    await run(async () => {
      const q = new Queue<string>(1);
      q.putNowait('x');
      const tasks = ['a', 'b', 'c'].map((s) => createTask(() => q.put(s)));
      await sleep(0);
      const got: string[] = [];
      for (let i = 0; i < 4; i++) {
        got.push(await q.get());
        await sleep(0);
      }
      await gather(...tasks);
      assert.deepEqual(got, ['x', 'a', 'b', 'c']);
    });
  });

  test('four putters and a getter of a queue of two all finish', async () => {
    // CPython test_why_are_putters_waiting.
    await run(async () => {
      const q = new Queue<number>(2);
      {
        await using tg = new TaskGroup();
        tg.createTask(async () => {
          await sleep(0);
          const n = q.qsize();
          for (let i = 0; i < n; i++) q.getNowait();
        });
        for (const i of [0, 1, 2, 3]) tg.createTask(() => q.put(i));
      }
      assert.equal(q.qsize(), 2);
    });
  });

  test('a putter cancelled while waiting leaves no putter', async () => {
    // CPython test_cancelled_puts_not_being_held_in_self_putters /
    // test_cancelled_put_silence_value_error_exception.
    await run(async () => {
      const q = new Queue<number>(1);
      q.putNowait(1);
      const putTask = createTask(() => q.put(1));
      await sleep(0);
      assert.equal(waiters(q).putters, 1);
      putTask.cancel();
      await assert.rejects(putTask, CancelledError);
      assert.equal(waiters(q).putters, 0);

      const again = createTask(() => q.put(1));
      await sleep(0);
      q.getNowait(); // takes the putter off the list and wakes it …
      again.cancel(); // … then it is cancelled
      await assert.rejects(again, CancelledError);
      assert.deepEqual(waiters(q), { getters: 0, putters: 0 });
    });
  });

  test('put with block false or timeout throws QueueFull; an aborted signal rejects with its reason', async () => {
    await run(async () => {
      const q = new Queue<number>(1);
      await q.put(1, { block: false });
      await assert.rejects(q.put(2, { block: false }), QueueFull);
      await assert.rejects(q.put(2, { timeout: 0 }), QueueFull);
      await assert.rejects(q.put(2, { timeout: 3 }), QueueFull);
      const reason = new Error('before');
      await assert.rejects(q.put(2, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
      assert.equal(q.qsize(), 1);
      assert.deepEqual(waiters(q), { getters: 0, putters: 0 });
    });
  });

  test('put aborted while waiting rejects with the reason; the freed slot goes to the next putter', async () => {
    await run(async () => {
      const q = new Queue<string>(1);
      q.putNowait('x');
      const ac = new AbortController();
      const aborted = createTask(() => q.put('aborted', { signal: ac.signal }));
      const next = createTask(() => q.put('next'));
      await sleep(0);
      ac.abort(new Error('gave up'));
      await assert.rejects(aborted, /gave up/);
      assert.equal(waiters(q).putters, 1);
      assert.equal(q.getNowait(), 'x');
      await next;
      assert.equal(q.getNowait(), 'next');
    });
  });

  test('put with timeout succeeds when a slot frees in time', async () => {
    await run(async () => {
      const q = new Queue<number>(1);
      q.putNowait(1);
      const t = createTask(() => q.put(2, { timeout: 60_000 }));
      await sleep(0);
      q.getNowait();
      await t;
      assert.equal(q.getNowait(), 2);
    });
  });
});

/** CPython's join and shutdown mixins, run against every queue class. */
for (const Q of [Queue, LifoQueue, PriorityQueue] as const) {
  describe(`${Q.name} join and taskDone`, () => {
    test('taskDone with no unfinished item throws RangeError', () => {
      const q = new Q();
      assert.throws(
        () => q.taskDone(),
        (e: unknown) => e instanceof RangeError && /called too many times/.test(e.message),
      );
    });

    test('join waits until every item put has been marked done', async () => {
      await run(async () => {
        const q = new Q<number>();
        for (let i = 0; i < 100; i++) q.putNowait(i);
        let accumulator = 0;
        let running = true;
        const worker = async () => {
          while (running) {
            accumulator += await q.get();
            q.taskDone();
          }
        };
        {
          await using tg = new TaskGroup();
          const workers = [tg.createTask(worker), tg.createTask(worker)];
          await q.join();
          assert.equal(accumulator, (99 * 100) / 2);
          running = false;
          for (let i = 0; i < workers.length; i++) q.putNowait(0);
        }
      });
    });

    test('join of a queue with nothing unfinished resolves at once', async () => {
      await run(async () => {
        const q = new Q();
        await q.join();
        await q.join();
        q.putNowait(1);
        await q.get();
        let joined = false;
        const j = createTask(async () => {
          await q.join();
          joined = true;
        });
        await sleep(0);
        assert.equal(joined, false, 'got, but not yet marked done');
        q.taskDone();
        await j;
        assert.equal(joined, true);
        assert.throws(() => q.taskDone(), RangeError);
      });
    });

    test('join with timeout or signal gives up without changing the count', async () => {
      await run(async () => {
        const q = new Q<number>();
        q.putNowait(1);
        await assert.rejects(q.join({ timeout: 2 }), /timed out with 1 unfinished items/);
        const ac = new AbortController();
        const j = createTask(() => q.join({ signal: ac.signal }));
        await sleep(0);
        ac.abort(new Error('stop joining'));
        await assert.rejects(j, /stop joining/);
        await q.get();
        q.taskDone();
        await q.join();
      });
    });

    test('join checks its options even with nothing unfinished, and names itself in errors', async () => {
      await run(async () => {
        const q = new Q<number>();
        // Nothing unfinished: the options are still checked, as every waiting call checks them.
        await assert.rejects(
          q.join({ timeout: 'x' as unknown as number }),
          (e: unknown) =>
            e instanceof TypeError && /^Queue\.join: timeout must be a number/.test(e.message),
        );
        const reason = new Error('refused');
        await assert.rejects(q.join({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
        // With an unfinished item the error names Queue.join, not the Event inside it.
        q.putNowait(1);
        await assert.rejects(
          q.join({ signal: 'x' as unknown as AbortSignal }),
          (e: unknown) =>
            e instanceof TypeError && /^Queue\.join: signal must be an AbortSignal/.test(e.message),
        );
        await q.get();
        q.taskDone();
        await q.join({ timeout: 1000 });
      });
    });
  });

  describe(`${Q.name} shutdown (Python 3.13)`, () => {
    test('shutdown of an empty queue wakes getters with QueueShutDown and refuses puts', async () => {
      // CPython test_shutdown_empty.
      await run(async () => {
        const q = new Q<string>();
        const getTask = createTask(() => q.get());
        await sleep(0);
        q.shutdown(false);
        assert.equal(q.qsize(), 0);
        await q.join();
        await sleep(0);
        assert.ok(getTask.done());
        await assert.rejects(getTask, isShutDown);
        await assert.rejects(q.put('data'), isShutDown);
        assert.throws(() => q.putNowait('data'), isShutDown);
        await assert.rejects(q.get(), isShutDown);
        assert.throws(() => q.getNowait(), isShutDown);
        assert.deepEqual(waiters(q), { getters: 0, putters: 0 });
      });
    });

    test('shutdown of a non-empty queue wakes putters with QueueShutDown; gets drain the items', async () => {
      // CPython test_shutdown_nonempty.
      await run(async () => {
        const q = new Q<string>(1);
        q.putNowait('data');
        const joinTask = createTask(() => q.join());
        const putTask = createTask(() => q.put('data2'));
        await sleep(0);
        assert.ok(!putTask.done());
        q.shutdown(false);
        assert.equal(q.qsize(), 1);
        await sleep(0);
        assert.ok(putTask.done());
        await assert.rejects(putTask, isShutDown);
        assert.equal(await q.get(), 'data');
        await sleep(0);
        assert.ok(!joinTask.done());
        await assert.rejects(q.put('data'), isShutDown);
        assert.throws(() => q.putNowait('data'), isShutDown);
        await assert.rejects(q.get(), isShutDown);
        assert.throws(() => q.getNowait(), isShutDown);
        q.taskDone();
        await sleep(0);
        assert.ok(joinTask.done());
        await joinTask;
        assert.throws(() => q.taskDone(), RangeError);
      });
    });

    test('shutdown immediate drops the items and counts them done for join', async () => {
      // CPython test_shutdown_immediate.
      await run(async () => {
        const q = new Q<string>();
        q.putNowait('data');
        const joinTask = createTask(() => q.join());
        q.shutdown(true);
        assert.equal(q.qsize(), 0);
        await sleep(0);
        assert.ok(joinTask.done());
        await joinTask;
        await assert.rejects(q.put('data'), isShutDown);
        assert.throws(() => q.putNowait('data'), isShutDown);
        await assert.rejects(q.get(), isShutDown);
        assert.throws(() => q.getNowait(), isShutDown);
        assert.throws(() => q.taskDone(), RangeError);
      });
    });

    test('shutdown immediate with an item got but not done leaves join waiting for it', async () => {
      // CPython test_shutdown_immediate_with_unfinished.
      await run(async () => {
        const q = new Q<string>();
        q.putNowait('data');
        q.putNowait('data');
        const joinTask = createTask(() => q.join());
        assert.equal(await q.get(), 'data');
        q.shutdown(true);
        assert.equal(q.qsize(), 0);
        await sleep(0);
        assert.ok(!joinTask.done());
        await assert.rejects(q.put('data'), isShutDown);
        await assert.rejects(q.get(), isShutDown);
        q.taskDone();
        assert.throws(() => q.taskDone(), RangeError);
        await sleep(0);
        assert.ok(joinTask.done());
        await joinTask;
      });
    });

    test('shutdown wakes every waiting getter and putter', async () => {
      await run(async () => {
        const empty = new Q<number>(1);
        const getters = [0, 1, 2].map(() => createTask(() => empty.get()));
        const full = new Q<number>(1);
        full.putNowait(0);
        const putters = [1, 2, 3].map((i) => createTask(() => full.put(i)));
        await sleep(0);
        empty.shutdown();
        full.shutdown();
        const results = await gather(...getters, ...putters, { returnExceptions: true });
        assert.ok(results.every(isShutDown));
        assert.deepEqual(waiters(empty), { getters: 0, putters: 0 });
        assert.deepEqual(waiters(full), { getters: 0, putters: 0 });
        assert.equal(full.qsize(), 1, 'the item put before the shutdown stays');
      });
    });
  });
}

describe('Queue async iteration', () => {
  test('for await gets items until the queue is shut down and drained', async () => {
    await run(async () => {
      const q = new Queue<number>(2);
      const producer = createTask(async () => {
        for (let i = 0; i < 5; i++) await q.put(i);
        q.shutdown();
      });
      const got: number[] = [];
      for await (const item of q) {
        got.push(item);
        q.taskDone();
      }
      await producer;
      assert.deepEqual(got, [0, 1, 2, 3, 4]);
      await q.join();
    });
  });

  test('for await ends at once after shutdown immediate, dropping the rest', async () => {
    await run(async () => {
      const q = new Queue<number>();
      for (let i = 0; i < 5; i++) q.putNowait(i);
      const got: number[] = [];
      for await (const item of q) {
        got.push(item);
        if (item === 1) q.shutdown(true);
      }
      assert.deepEqual(got, [0, 1]);
      assert.equal(q.qsize(), 0);
    });
  });

  test('breaking out of for await leaves the remaining items in the queue', async () => {
    await run(async () => {
      const q = new Queue<number>();
      for (let i = 0; i < 5; i++) q.putNowait(i);
      for await (const item of q) {
        if (item === 2) break;
      }
      assert.equal(q.qsize(), 2);
      assert.equal(q.getNowait(), 3);
    });
  });

  test('a task cancelled inside for await stops with CancelledError and loses no item', async () => {
    await run(async () => {
      const q = new Queue<number>();
      const got: number[] = [];
      const consumer = createTask(async () => {
        for await (const item of q) got.push(item);
      });
      q.putNowait(1);
      await sleep(0);
      consumer.cancel();
      q.putNowait(2);
      await assert.rejects(consumer, CancelledError);
      assert.deepEqual(got, [1]);
      assert.equal(q.getNowait(), 2);
      assert.deepEqual(waiters(q), { getters: 0, putters: 0 });
    });
  });

  test('several consumers iterating one queue share its items without duplicates', async () => {
    await run(async () => {
      const q = new Queue<number>(3);
      const seen: number[][] = [[], [], []];
      const consumers = seen.map((mine) =>
        createTask(async () => {
          for await (const item of q) {
            mine.push(item);
            await sleep(0);
          }
        }),
      );
      for (let i = 0; i < 30; i++) await q.put(i);
      q.shutdown();
      await gather(...consumers);
      const all = seen.flat().sort((a, b) => a - b);
      assert.deepEqual(
        all,
        Array.from({ length: 30 }, (_, i) => i),
      );
      assert.ok(
        seen.every((s) => s.length > 0),
        'FIFO getters share the work',
      );
    });
  });
});

describe('Queue bad input', () => {
  test('maxsize must be a non-negative integer', () => {
    assert.throws(
      () => new Queue(-1),
      (e: unknown) =>
        e instanceof RangeError && /maxsize must be >= 0.*received -1/.test(e.message),
    );
    assert.throws(
      () => new Queue(1.3),
      (e: unknown) =>
        e instanceof TypeError && /maxsize must be an integer: received 1.3/.test(e.message),
    );
    assert.throws(() => new Queue('2' as unknown as number), TypeError);
    assert.throws(() => new Queue(Number.NaN), TypeError);
    assert.throws(() => new LifoQueue(-1), RangeError);
    assert.throws(() => new PriorityQueue(0.5), TypeError);
    assert.equal(new Queue().maxsize, 0);
  });

  test('waiting calls reject bad options with TypeError naming what was received', async () => {
    const q = new Queue<number>(1);
    q.putNowait(1);
    await assert.rejects(
      q.put(2, { timeout: 'soon' as unknown as number }),
      (e: unknown) =>
        e instanceof TypeError && /Queue.put: timeout must be a number/.test((e as Error).message),
    );
    await assert.rejects(
      q.put(2, { block: 'no' as unknown as boolean }),
      (e: unknown) =>
        e instanceof TypeError && /block must be a boolean/.test((e as Error).message),
    );
    await assert.rejects(
      q.get({ signal: {} as AbortSignal }),
      (e: unknown) =>
        e instanceof TypeError && /signal must be an AbortSignal/.test((e as Error).message),
    );
    await assert.rejects(q.get(5 as never), TypeError);
    assert.equal(q.qsize(), 1);
    assert.deepEqual(waiters(q), { getters: 0, putters: 0 });
  });
});

// ---- property tests ------------------------------------------------------------------------

type Op =
  | { kind: 'putNowait'; item: number }
  | { kind: 'putNoBlock'; item: number }
  | { kind: 'getNowait' }
  | { kind: 'getNoBlock' }
  | { kind: 'taskDone' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('putNowait' as const), item: fc.integer({ min: 0, max: 20 }) }),
  fc.record({ kind: fc.constant('putNoBlock' as const), item: fc.integer({ min: 0, max: 20 }) }),
  fc.record({ kind: fc.constant('getNowait' as const) }),
  fc.record({ kind: fc.constant('getNoBlock' as const) }),
  fc.record({ kind: fc.constant('taskDone' as const) }),
);

/** The reference: a plain array, and which element each kind of queue takes out. */
const takeFrom: Record<string, (items: number[]) => number> = {
  Queue: (items) => items.shift()!,
  LifoQueue: (items) => items.pop()!,
  PriorityQueue: (items) => {
    const min = Math.min(...items);
    items.splice(items.indexOf(min), 1);
    return min;
  },
};

describe('Queue property tests', () => {
  for (const Q of [Queue, LifoQueue, PriorityQueue] as const) {
    test(`${Q.name}: random operations match a model in order, size and unfinished count`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 4 }),
          fc.array(opArb, { maxLength: 60 }),
          async (maxsize, ops) => {
            await run(async () => {
              const q = new Q<number>(maxsize);
              const model: number[] = [];
              let unfinished = 0;
              const full = () => maxsize > 0 && model.length >= maxsize;
              for (const op of ops) {
                switch (op.kind) {
                  case 'putNowait':
                  case 'putNoBlock': {
                    const put = () =>
                      op.kind === 'putNowait'
                        ? q.putNowait(op.item)
                        : q.put(op.item, { block: false });
                    if (full()) {
                      if (op.kind === 'putNowait') assert.throws(put, QueueFull);
                      else await assert.rejects(put() as Promise<void>, QueueFull);
                    } else {
                      await put();
                      model.push(op.item);
                      unfinished++;
                    }
                    break;
                  }
                  case 'getNowait':
                  case 'getNoBlock': {
                    if (model.length === 0) {
                      if (op.kind === 'getNowait') assert.throws(() => q.getNowait(), QueueEmpty);
                      else await assert.rejects(q.get({ block: false }), QueueEmpty);
                    } else {
                      const got =
                        op.kind === 'getNowait' ? q.getNowait() : await q.get({ block: false });
                      assert.equal(got, takeFrom[Q.name]!(model));
                    }
                    break;
                  }
                  case 'taskDone':
                    if (unfinished === 0) assert.throws(() => q.taskDone(), RangeError);
                    else {
                      q.taskDone();
                      unfinished--;
                    }
                    break;
                }
                assert.equal(q.qsize(), model.length);
                assert.equal(q.empty(), model.length === 0);
                assert.equal(q.full(), full());
              }
              // join resolves exactly when nothing is unfinished.
              const joined = createTask(() => q.join());
              await sleep(0);
              assert.equal(joined.done(), unfinished === 0);
              for (; unfinished > 0; unfinished--) q.taskDone();
              await joined;
            });
          },
        ),
        { numRuns: 150 },
      );
    });

    test(`${Q.name}: random producers and consumers with random sleeps lose and duplicate nothing`, async () => {
      const producerArb = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 8 });
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 3 }),
          fc.array(producerArb, { minLength: 1, maxLength: 4 }),
          fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
          fc.array(fc.option(fc.integer({ min: 0, max: 6 })), { minLength: 0, maxLength: 3 }),
          async (maxsize, producers, consumerSleeps, cancelTimes) => {
            await run(async () => {
              const q = new Q<number>(maxsize);
              const putOrder: number[] = [];
              const getOrder: number[] = [];
              const produced: number[] = [];
              const producerTasks = producers.map((sleeps, p) =>
                createTask(async () => {
                  for (const [k, ms] of sleeps.entries()) {
                    const item = p * 100 + k;
                    produced.push(item);
                    await sleep(ms);
                    await q.put(item);
                    putOrder.push(item); // same step as the put: nothing runs in between
                  }
                }),
              );
              const consumer = (ms: number) => async () => {
                for await (const item of q) {
                  getOrder.push(item);
                  q.taskDone();
                  await sleep(ms);
                }
              };
              // Extra consumers that get cancelled at random moments; the regular ones are
              // never cancelled, so the queue always drains.
              const doomed = cancelTimes.map((t) => ({ task: createTask(consumer(0)), at: t }));
              const consumers = consumerSleeps.map((ms) => createTask(consumer(ms)));
              const cancellers = doomed.map(({ task, at }) =>
                createTask(async () => {
                  if (at === null) return;
                  await sleep(at);
                  task.cancel();
                }),
              );
              await gather(...producerTasks);
              await q.join();
              q.shutdown();
              await gather(...consumers);
              await gather(...cancellers);
              await gather(...doomed.map((d) => d.task), { returnExceptions: true });

              const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
              assert.deepEqual(sorted(getOrder), sorted(produced), 'every item got exactly once');
              if (Q === Queue) assert.deepEqual(getOrder, putOrder, 'FIFO');
              assert.equal(q.qsize(), 0);
              assert.deepEqual(waiters(q as Queue<unknown>), { getters: 0, putters: 0 });
            });
          },
        ),
        { numRuns: 40 },
      );
    });

    test(`${Q.name}: producers and consumers giving up by timeout and abort lose and duplicate nothing`, async () => {
      const stepArb = fc.record({
        sleep: fc.integer({ min: 0, max: 2 }),
        timeout: fc.option(fc.integer({ min: 0, max: 3 })),
        abortAfter: fc.option(fc.integer({ min: 0, max: 3 })),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3 }),
          fc.array(fc.array(stepArb, { maxLength: 6 }), { minLength: 1, maxLength: 3 }),
          fc.array(stepArb, { minLength: 1, maxLength: 3 }),
          async (maxsize, producers, consumerSteps) => {
            await run(async () => {
              const q = new Q<number>(maxsize);
              const putOrder: number[] = [];
              const getOrder: number[] = [];
              const timers: Promise<void>[] = [];
              /** Options for one call: maybe a timeout, maybe a signal aborted a bit later. */
              const optionsFor = (s: { timeout: number | null; abortAfter: number | null }) => {
                const o: { timeout?: number; signal?: AbortSignal } = {};
                if (s.timeout !== null) o.timeout = s.timeout;
                if (s.abortAfter !== null) {
                  const ac = new AbortController();
                  o.signal = ac.signal;
                  timers.push(sleep(s.abortAfter).then(() => ac.abort(new Error('abort'))));
                }
                return o;
              };
              const producerTasks = producers.map((steps, p) =>
                createTask(async () => {
                  for (const [k, step] of steps.entries()) {
                    await sleep(step.sleep);
                    const item = p * 100 + k;
                    try {
                      await q.put(item, optionsFor(step));
                      putOrder.push(item);
                    } catch (e) {
                      // Gave up: the item must not be in the queue.
                      if (!(e instanceof QueueFull) && (e as Error).message !== 'abort') throw e;
                    }
                  }
                }),
              );
              const consumers = consumerSteps.map((step) =>
                createTask(async () => {
                  for (;;) {
                    try {
                      getOrder.push(await q.get(optionsFor(step)));
                      q.taskDone();
                    } catch (e) {
                      if (e instanceof QueueShutDown) return;
                      if (!(e instanceof QueueEmpty) && (e as Error).message !== 'abort') throw e;
                      // Gave up: it tries again a timer's turn later at the soonest. A get with
                      // timeout 0 gives up at once, so with no sleep it would spin, and burn CPU
                      // for all the time the producers sleep.
                      await sleep(Math.max(step.sleep, 1));
                      continue;
                    }
                    await sleep(step.sleep);
                  }
                }),
              );
              await gather(...producerTasks);
              await q.join();
              q.shutdown();
              await gather(...consumers);
              await Promise.all(timers);
              const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
              assert.deepEqual(
                sorted(getOrder),
                sorted(putOrder),
                'every item put got exactly once',
              );
              if (Q === Queue) assert.deepEqual(getOrder, putOrder, 'FIFO');
              assert.deepEqual(waiters(q as Queue<unknown>), { getters: 0, putters: 0 });
            });
          },
        ),
        { numRuns: 40 },
      );
    });
  }
});
