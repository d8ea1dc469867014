import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  asCompleted,
  CancelledError,
  createTask,
  currentTask,
  Event,
  ExceptionGroup,
  gather,
  Queue,
  run,
  shield,
  sleep,
  TaskGroup,
  TimeoutError,
  timeout,
  wait,
  waitFor,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('combinators bug bash (bb5)', () => {
  test('gather given an array (not spread) is a TypeError, not an empty result', async () => {
    await run(async () => {
      const a = createTask(() => sleep(0, 'a'));
      const b = createTask(() => sleep(0, 'b'));
      const g = gather as unknown as (...args: unknown[]) => Promise<unknown[]>;
      assert.throws(() => g([a, b]), {
        name: 'TypeError',
        message: /separate arguments.*array of length 2/,
      });
      assert.throws(() => g([a], { returnExceptions: true }), { name: 'TypeError' });
      // A plain options object is still the options.
      assert.deepEqual(await gather(a, b, { returnExceptions: true }), ['a', 'b']);
    });
  });

  test('asCompleted iterated a second time goes on from where the first stopped', async () => {
    await run(async () => {
      const gates = [new Event(), new Event(), new Event()];
      const tasks = gates.map((e, i) =>
        createTask(async () => {
          await e.wait();
          return i;
        }),
      );
      const it = asCompleted(tasks);
      const first: number[] = [];
      gates[1]?.set();
      for await (const v of it) {
        first.push(v);
        break; // one step taken
      }
      assert.deepEqual(first, [1]);
      gates[2]?.set();
      gates[0]?.set();
      const rest: number[] = [];
      for await (const v of it) rest.push(v);
      assert.deepEqual(rest.sort(), [0, 2]);
      // Every step is taken: a third loop gives nothing at once (it used to wait for ever).
      const none: Promise<number>[] = [...it];
      assert.equal(none.length, 0);
      const again: number[] = [];
      for await (const v of it) again.push(v);
      assert.deepEqual(again, []);
    });
  });

  test('a TaskGroup child that throws null fails the group and cancels its siblings', async () => {
    await run(async () => {
      let sibling: ReturnType<typeof createTask> | undefined;
      const started = new Event();
      await assert.rejects(
        TaskGroup.run(async (tg) => {
          sibling = tg.createTask(async () => {
            started.set();
            await sleep(60_000);
          });
          tg.createTask(async () => {
            await started.wait();
            throw null;
          });
        }),
        (e: unknown) => {
          assert.ok(e instanceof ExceptionGroup);
          assert.deepEqual(e.exceptions, [null]);
          return true;
        },
      );
      assert.equal(sibling?.cancelled(), true);
    });
  });

  // A weft waiting call made in a task (sleep(ms), event.wait(), queue.get()) and handed to a
  // combinator instead of being awaited: the task awaits the combinator, and a cancel of the
  // task must reach that (CPython wraps the coroutine in a task of its own).
  test('cancelling a task awaiting gather(sleep(ms), task) cancels every child', async () => {
    await run(async () => {
      const other = createTask(() => sleep(60_000));
      const t = createTask(() => gather(sleep(60_000), other));
      await sleep(0);
      await sleep(0);
      assert.equal(t.cancel('stop'), true);
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'stop');
      assert.equal(t.cancelled(), true);
      assert.equal(other.cancelled(), true);
    });
  });

  test('gather of two waiting calls of the task (not tasks): a cancel reaches both, no timer is left, the others run on', async () => {
    // Only the later call was the task's recorded wait: the earlier sleep's 60 s timer ran on
    // (checkLeaks reports it), and its wake-up began a step for a task blocked elsewhere.
    await run(async () => {
      const q = new Queue<number>();
      const log: string[] = [];
      const t = createTask(() => gather(sleep(60_000), q.get(), sleep(60_000)));
      const other = createTask(async () => {
        for (let i = 0; i < 3; i++) {
          await sleep(0);
          log.push(`other ${i}`);
        }
      });
      await sleep(0);
      t.cancel('stop');
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'stop');
      await other;
      assert.deepEqual(log, ['other 0', 'other 1', 'other 2']);
      q.putNowait(1);
      await sleep(0);
      await sleep(0);
      assert.equal(q.qsize(), 1, 'the cancelled get took nothing');
    });
  });

  test('waitFor(q.get(), ms) and gather(q.get(), t) hand the get over: a timeout or a cancel ends it, and it takes no later item', async () => {
    // Queue.get waits inside an async method, so its promise is not its waiter's: the combinator
    // took the wait over only for calls whose promise is the waiter's own (sleep, event.wait).
    await run(async () => {
      const q = new Queue<number>();
      const other = createTask(() => sleep(60_000));
      const t = createTask(() => gather(q.get(), other));
      await sleep(0);
      await sleep(0);
      t.cancel('stop');
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'stop');
      assert.equal(other.cancelled(), true, 'cancelling the gather cancelled every child');
      const u = createTask(async () => {
        const got = q.get(); // made, then handed to waitFor below
        return waitFor(
          shield(sleep(0)).then(() => got),
          20,
        );
      });
      await assert.rejects(u, TimeoutError);
      q.putNowait(5);
      await sleep(0);
      await sleep(0);
      assert.equal(q.qsize(), 1, 'no get left behind took the item');
    });
  });

  test("a get handed to gather that waits again (its item taken by another task) is still the gather's: a cancel ends it", async () => {
    await run(async () => {
      const q = new Queue<number>();
      const other = createTask(() => sleep(60_000));
      const t = createTask(() => gather(q.get(), other));
      await sleep(0);
      await sleep(0);
      // Wakes the get, then takes its item before it runs: the get waits a second time.
      q.putNowait(1);
      assert.equal(q.getNowait(), 1);
      await sleep(0);
      await sleep(0);
      t.cancel('stop');
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'stop');
      assert.equal(other.cancelled(), true, 'the cancel reached the gather, not the second wait');
      q.putNowait(2);
      await sleep(0);
      await sleep(0);
      assert.equal(q.qsize(), 1, 'the get that waited twice took nothing after the cancel');
    });
  });

  test('gather of an earlier and a later sleep of the task: the earlier one ends first and its wake-up begins no step of the task', async () => {
    await run(async () => {
      const order: string[] = [];
      const t = createTask(async () => {
        // Wide margins: 'other' must end between the two on a loaded machine too.
        const r = await gather(sleep(5, 'a'), sleep(300, 'b'));
        order.push('gathered');
        return r;
      });
      const other = createTask(async () => {
        await sleep(100);
        order.push('other');
      });
      assert.deepEqual(await t, ['a', 'b']);
      await other;
      assert.deepEqual(order, ['other', 'gathered']);
    });
  });

  test('gather(sleep(ms), { returnExceptions }) still raises the cancel of the awaiting task', async () => {
    // CPython's test_cancel_gather_2.
    await run(async () => {
      const t = createTask(async () => {
        await gather(sleep(60_000), { returnExceptions: true });
        return 'finished';
      });
      await sleep(0);
      await sleep(0);
      t.cancel('my message');
      await assert.rejects(
        t,
        (e: unknown) => e instanceof CancelledError && e.message === 'my message',
      );
    });
  });

  test('shield(event.wait()): cancelling the waiting task leaves the wait running', async () => {
    await run(async () => {
      const ev = new Event();
      let inner: Promise<boolean> | undefined;
      const t = createTask(() => {
        inner = ev.wait();
        return shield(inner);
      });
      await sleep(0);
      await sleep(0);
      t.cancel();
      await assert.rejects(t, CancelledError);
      ev.set();
      assert.equal(await inner, true);
    });
  });

  test('wait([event.wait()]): a cancel of the waiting task is raised, not lost', async () => {
    await run(async () => {
      const ev = new Event();
      let inner: Promise<boolean> | undefined;
      const t = createTask(() => {
        inner = ev.wait();
        return wait([inner]);
      });
      await sleep(0);
      await sleep(0);
      t.cancel();
      await assert.rejects(t, CancelledError);
      assert.equal(t.cancelled(), true);
      // wait() never cancels what it waits for.
      ev.set();
      assert.equal(await inner, true);
    });
  });

  test('waitFor(queue.get(), ms) that times out takes no item', async () => {
    await run(async () => {
      const q = new Queue<number>();
      await assert.rejects(waitFor(q.get(), 20), TimeoutError);
      q.putNowait(1);
      assert.equal(q.qsize(), 1);
      assert.equal(q.getNowait(), 1);
    });
  });

  test('TaskGroup.run inside an expiring timeout(): the TimeoutError leaves, not a group of it', async () => {
    await run(async () => {
      const t = timeout(20);
      let child: ReturnType<typeof createTask> | undefined;
      await assert.rejects(
        async () => {
          await using _ = t;
          await TaskGroup.run(async (tg) => {
            child = tg.createTask(() => sleep(60_000));
            await sleep(60_000);
          });
        },
        (e: unknown) => {
          assert.ok(e instanceof TimeoutError, `got ${e}`);
          return true;
        },
      );
      assert.equal(t.expired(), true);
      assert.equal(child?.cancelled(), true);
      assert.equal(currentTask()?.cancelling(), 0);
    });
  });

  test("an outer group's failure passes through an inner TaskGroup.run, not kept by it", async () => {
    await run(async () => {
      const boom = new Error('boom');
      const innerStarted = new Event();
      let innerChild: ReturnType<typeof createTask> | undefined;
      await assert.rejects(
        TaskGroup.run(async (outer) => {
          outer.createTask(async () => {
            await innerStarted.wait();
            throw boom;
          });
          await TaskGroup.run(async (inner) => {
            innerChild = inner.createTask(() => sleep(60_000));
            innerStarted.set();
            await sleep(60_000);
          });
        }),
        (e: unknown) => {
          // CPython: ExceptionGroup('…', [boom]); the inner group passes the cancel on.
          assert.ok(e instanceof ExceptionGroup);
          assert.deepEqual(e.exceptions, [boom]);
          return true;
        },
      );
      assert.equal(innerChild?.cancelled(), true);
      assert.equal(currentTask()?.cancelling(), 0);
    });
  });

  test('waitFor: a cancel of the waiting task that the inner task swallows is still raised', async () => {
    // Python 3.11's wait_for (and CPython's test_wait_for_self_cancellation): the inner task is
    // cancelled, waited for, and the CancelledError raised even though it returned a value.
    await run(async () => {
      const caught = new Event();
      const release = new Event();
      const inner = createTask(async () => {
        try {
          await sleep(60_000);
        } catch {
          caught.set();
          await release.wait();
        }
        return 42;
      });
      const t = createTask(() => waitFor(inner, null));
      await sleep(0);
      await sleep(0);
      t.cancel('oc');
      await caught.wait();
      assert.equal(t.done(), false); // waits for the inner task to finish
      release.set();
      await assert.rejects(t, (e: unknown) => e instanceof CancelledError && e.message === 'oc');
      assert.equal(t.cancelled(), true);
      assert.equal(await inner, 42);
    });
  });

  test('waitFor: cancelled after its deadline passed, with the inner task holding out', async () => {
    await run(async () => {
      const caught = [new Event(), new Event()];
      const release = new Event();
      const inner = createTask(async () => {
        try {
          await sleep(60_000);
        } catch {
          caught[0]?.set();
          try {
            await release.wait();
          } catch {
            caught[1]?.set();
            await release.wait();
          }
        }
        return 42;
      });
      const t = createTask(() => waitFor(inner, 20));
      await caught[0]?.wait(); // the deadline passed and cancelled the inner task
      t.cancel();
      await caught[1]?.wait(); // the cancel of the wait reached the inner task too
      release.set();
      await assert.rejects(t, CancelledError);
      assert.equal(await inner, 42);
    });
  });

  test('waitFor: an inner task that returns a value on its deadline gives the value', async () => {
    await run(async () => {
      const inner = createTask(async () => {
        try {
          await sleep(60_000);
        } catch {
          return 'ignored';
        }
        return 'slept';
      });
      assert.equal(await waitFor(inner, 20), 'ignored');
      assert.equal(currentTask()?.cancelling(), 0);
    });
  });
});
