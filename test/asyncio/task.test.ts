import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  allTasks,
  CancelledError,
  createTask,
  currentTask,
  Event,
  Future,
  gather,
  Lock,
  Queue,
  run,
  sleep,
  type Task,
  wait,
} from '../../src/asyncio/index.js';
import { promiseFulfilled } from '../../src/internal/context.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('Task', () => {
  test('a body that returns without suspending ends its task in its first step', async () => {
    // CPython finishes such a task inside its first step. weft reads the state of the body's
    // promise through the context addon; with promise hooks, or an addon built before it had
    // the read, a reaction job one microtask later ends it, so a microtask the body queued runs
    // first.
    const seen: boolean[] = [];
    const order: string[] = [];
    await run(async () => {
      const t: Task<number> = createTask(async () => {
        Promise.resolve().then(() => seen.push(t.done()));
        return 7;
      });
      t.addDoneCallback(() => order.push('done callback'));
      await t;
      order.push('awaiter');
      assert.equal(t.result(), 7);
    });
    assert.deepEqual(seen, [promiseFulfilled !== null]);
    // Callbacks are still scheduled, in registration order, never called inside the step.
    assert.deepEqual(order, ['done callback', 'awaiter']);
  });

  test('a body that cancels itself and returns at once ends cancelled, as in CPython', async () => {
    await run(async () => {
      const t = createTask(async () => {
        (currentTask() as Task).cancel('stop');
        return 1;
      });
      const [r] = await gather(t, { returnExceptions: true });
      assert.equal(t.cancelled(), true);
      assert.ok(r instanceof CancelledError);
      assert.equal((r as CancelledError).message, 'stop');
    });
  });

  test('a body that throws without suspending fails its task, with no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => {
      unhandled.push(e);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      await run(async () => {
        const e = new Error('at once');
        const t = createTask(async () => {
          throw e;
        });
        await assert.rejects(t, (x) => x === e);
      });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, []);
  });

  test('a body returning a promise whose constructor getter throws ends the task with that error', async () => {
    // The first step read `constructor` outside its try: the error went to the exception
    // handler and the task never finished.
    const p = Promise.resolve(1);
    Object.defineProperty(p, 'constructor', {
      get() {
        throw new Error('no constructor here');
      },
    });
    await run(async () => {
      const t = createTask(() => p);
      await wait([t], { timeout: 2000 });
      assert.equal(t.done(), true, 'the task finished');
      assert.match(String(t.exception()), /no constructor here/);
    });
  });

  test('a body throwing an error whose stack getter throws fails its task and leaves no task current', async () => {
    // Finishing the task read the error's stack (future.ts); the getter's throw escaped the
    // first step: the task never settled, and the drain never put back what was current.
    const e = new Error('body');
    let reads = 0;
    Object.defineProperty(e, 'stack', {
      get() {
        if (reads++ === 0) throw new Error('stack getter');
        return 'Error: body';
      },
    });
    const seen: unknown[] = [];
    await run(async () => {
      const t = createTask(
        () => {
          throw e;
        },
        { name: 'Bad' },
      );
      // This step waits on a native promise: the task starts from the turn's immediate.
      setImmediate(() => seen.push(currentTask()));
      await new Promise((r) => setTimeout(r, 20));
      await wait([t], { timeout: 2000 });
      assert.equal(t.done(), true);
      assert.equal(t.exception(), e);
    });
    assert.deepEqual(seen, [null]);
  });

  test('a body returning a native promise with a then of its own is settled without calling it', async () => {
    // An own `then` passed the native-promise check and was called; calling back later, it
    // found no task current and threw an uncaught TypeError, and the task never ended.
    const p = Promise.resolve(7);
    let called = false;
    Object.defineProperty(p, 'then', {
      value(this: Promise<number>, ok: (v: number) => void, fail: (e: unknown) => void) {
        called = true;
        setTimeout(() => Promise.prototype.then.call(this, ok, fail), 5);
      },
    });
    await run(async () => {
      const t = createTask(() => p);
      await wait([t], { timeout: 2000 });
      assert.equal(t.done(), true);
      assert.equal(t.result(), 7);
    });
    assert.equal(called, false, 'await ignores an own then of a native promise, as here');
  });

  test('createTask gives default names Task-N and keeps a given name', async () => {
    await run(async () => {
      const a = createTask(async () => 1);
      const b = createTask(async () => 2, { name: 'worker' });
      assert.match(a.name, /^Task-\d+$/);
      assert.equal(b.getName(), 'worker');
      b.setName('renamed');
      assert.equal(b.name, 'renamed');
      assert.deepEqual(await Promise.all([a, b]), [1, 2]);
    });
  });

  test('the body starts when the creator suspends, not inside createTask', async () => {
    await run(async () => {
      const log: string[] = [];
      const t = createTask(async () => log.push('body'));
      log.push('after createTask');
      await sleep(0);
      assert.deepEqual(log, ['after createTask', 'body']);
      await t;
    });
  });

  test('currentTask is the task across native awaits, timers and weft waits', async () => {
    await run(async () => {
      const seen: string[] = [];
      const body = (name: string) => async () => {
        seen.push(`${name}:${currentTask()?.name}`);
        await Promise.resolve();
        seen.push(`${name}:${currentTask()?.name}`);
        await new Promise((r) => setTimeout(r, 2));
        seen.push(`${name}:${currentTask()?.name}`);
        await sleep(1);
        seen.push(`${name}:${currentTask()?.name}`);
      };
      await Promise.all([
        createTask(body('x'), { name: 'X' }),
        createTask(body('y'), { name: 'Y' }),
      ]);
      for (const s of seen) {
        const [who, task] = s.split(':');
        assert.equal(task, who!.toUpperCase(), `wrong current task in ${s}`);
      }
      assert.equal(seen.length, 8);
    });
    assert.equal(currentTask(), null);
  });

  test('cancel delivers CancelledError with the message at the awaited sleep', async () => {
    await run(async () => {
      const log: string[] = [];
      const t = createTask(async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          log.push(`caught ${(e as Error).name}: ${(e as Error).message}`);
          throw e;
        }
      });
      await sleep(1);
      assert.equal(t.cancel('enough'), true);
      await assert.rejects(t, CancelledError);
      assert.equal(t.cancelled(), true);
      assert.deepEqual(log, ['caught CancelledError: enough']);
      assert.equal(t.cancel(), false);
    });
  });

  // CPython: the first cancel cancels the future the task is suspended on and the second finds
  // it cancelled already, so the task raises the future's CancelledError, the first message.
  // With no future to cancel (a bare yield, a task not started yet) the last message wins.
  test('cancel twice with messages raises the first message when the task waits on a future', async () => {
    await run(async () => {
      const fut = new Future<void>();
      const blocked = createTask(() => sleep(10_000));
      const waits: Record<string, () => Promise<unknown>> = {
        sleep: () => sleep(10_000),
        future: async () => await fut,
        'awaited task': async () => await blocked,
        'sleep(0)': () => sleep(0),
        'a task not started': async () => await createTask(() => sleep(10_000)),
      };
      const got: string[] = [];
      for (const [what, wait] of Object.entries(waits)) {
        const t = createTask(wait);
        await sleep(0); // t is blocked in its wait (a sleep(0)'s resume waits in the queue)
        t.cancel('first');
        t.cancel('second');
        try {
          await t;
          got.push(`${what}: not cancelled`);
        } catch (e) {
          got.push(`${what}: ${(e as Error).name}('${(e as Error).message}')`);
        }
      }
      assert.deepEqual(got, [
        "sleep: CancelledError('first')",
        "future: CancelledError('first')",
        "awaited task: CancelledError('first')",
        "sleep(0): CancelledError('second')",
        "a task not started: CancelledError('second')",
      ]);
    });
  });

  test('cancel cancels the awaited task too', async () => {
    await run(async () => {
      const inner = createTask(() => sleep(10_000));
      const outer = createTask(() => inner);
      await sleep(1);
      outer.cancel();
      await assert.rejects(outer, CancelledError);
      assert.equal(inner.cancelled(), true);
    });
  });

  test('cancel before the first step never runs the body', async () => {
    await run(async () => {
      let ran = false;
      const t = createTask(async () => {
        ran = true;
      });
      t.cancel();
      await assert.rejects(t, CancelledError);
      assert.equal(ran, false);
    });
  });

  test('a task may catch CancelledError and finish with a result', async () => {
    await run(async () => {
      const t = createTask(async () => {
        try {
          await sleep(10_000);
        } catch {
          return 'cleaned up';
        }
        return 'not cancelled';
      });
      await sleep(1);
      t.cancel();
      assert.equal(await t, 'cleaned up');
      assert.equal(t.cancelled(), false);
    });
  });

  test('cancel while waiting on a native promise is raised at the next weft await', async () => {
    await run(async () => {
      const log: string[] = [];
      let release: (() => void) | undefined;
      const t = createTask(async () => {
        await new Promise<void>((r) => {
          release = r;
        });
        log.push('native wait over');
        await sleep(0);
        log.push('not reached');
      });
      while (release === undefined) await sleep(0);
      t.cancel();
      release(); // the native wait ends after the cancel, which waits for the next weft await
      await assert.rejects(t, CancelledError);
      assert.deepEqual(log, ['native wait over']);
    });
  });

  test('signal aborts when cancellation is requested', async () => {
    await run(async () => {
      const t = createTask(async () => {
        const signal = currentTask()!.signal;
        await new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        );
      });
      await sleep(1);
      t.cancel();
      await assert.rejects(t, CancelledError);
    });
  });

  test('cancelling and uncancel count requests', async () => {
    await run(async () => {
      const t = createTask(() => sleep(10_000));
      await sleep(0);
      t.cancel();
      t.cancel();
      assert.equal(t.cancelling(), 2);
      assert.equal(t.uncancel(), 1);
      await assert.rejects(t, CancelledError);
    });
  });

  test('an error thrown by the body fails the task with it', async () => {
    await run(async () => {
      const t = createTask(async () => {
        await sleep(0);
        throw new RangeError('bad value');
      });
      await assert.rejects(t, RangeError);
      assert.ok(t.exception() instanceof RangeError);
      const sync = createTask(() => {
        throw new TypeError('sync throw');
      });
      await assert.rejects(sync, TypeError);
    });
  });

  test('allTasks lists the tasks not done', async () => {
    await run(async () => {
      const t = createTask(() => sleep(10_000));
      assert.ok(allTasks().has(t as Task<unknown>));
      assert.ok(allTasks().has(currentTask()!));
      t.cancel();
      await assert.rejects(t);
      assert.equal(allTasks().has(t as Task<unknown>), false);
    });
  });

  test('allTasks stays exact when tasks finish out of creation order', async () => {
    // A finishing task takes the last one into its place: every order of finishing must leave
    // exactly the tasks still running.
    await run(async () => {
      const main = currentTask()!;
      const gates = Array.from({ length: 6 }, () => new Future<void>());
      const tasks = gates.map((g) => createTask(() => g) as Task<unknown>);
      const running = new Set<Task<unknown>>(tasks);
      const others = () => new Set([...allTasks()].filter((t) => t !== main));
      assert.deepEqual(others(), running);
      for (const i of [5, 0, 3, 1, 4, 2]) {
        gates[i]!.setResult();
        await tasks[i];
        running.delete(tasks[i]!);
        assert.deepEqual(others(), running, `after task ${i} finished`);
      }
      assert.deepEqual([...allTasks()], [main]);
    });
  });

  test('property: allTasks is exactly the tasks not done, whatever the order of creating and finishing', async () => {
    // A step either creates a task (blocked on its own gate) or finishes the k-th running one
    // (modulo how many run): any interleaving of the array's swaps must keep the registry exact.
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant(-1), fc.nat(50)), { minLength: 1, maxLength: 40 }),
        async (steps) => {
          await run(async () => {
            const main = currentTask()!;
            const running: [Task<unknown>, Future<void>][] = [];
            for (const step of steps) {
              if (step === -1 || running.length === 0) {
                const gate = new Future<void>();
                running.push([createTask(() => gate) as Task<unknown>, gate]);
              } else {
                const [t, gate] = running.splice(step % running.length, 1)[0]!;
                gate.setResult();
                await t;
              }
              const expected = new Set([main, ...running.map(([t]) => t)]);
              assert.deepEqual(allTasks(), expected);
            }
            for (const [t, gate] of running) {
              gate.setResult();
              await t;
            }
            assert.deepEqual([...allTasks()], [main]);
          });
        },
      ),
      { numRuns: 80 },
    );
  });

  test('setResult and setException are refused on a task', async () => {
    await run(async () => {
      const t = createTask(async () => 1);
      assert.throws(() => t.setResult(2), /does not support setResult/);
      assert.throws(() => t.setException(new Error()), /does not support setException/);
      await t;
    });
  });

  test('bad input to createTask and cancel raises TypeError', async () => {
    assert.throws(
      () => createTask(42 as never),
      /needs a function to run or a promise to await: received 42/,
    );
    assert.throws(() => createTask(async () => 1, { name: 7 as never }), /name must be a string/);
    await run(async () => {
      const t = createTask(async () => 1);
      assert.throws(() => t.cancel(5 as never), /Cancel message must be a string/);
      await t;
    });
  });

  test('a task awaiting a future resumes with the future cancelled from elsewhere', async () => {
    await run(async () => {
      const f = new Future<number>();
      const t = createTask(() => f);
      await sleep(0);
      f.cancel('elsewhere');
      await assert.rejects(
        t,
        (e: unknown) => e instanceof CancelledError && e.message === 'elsewhere',
      );
    });
  });

  test('cancelling a task blocked on a lock, queue or event leaves no waiter behind', async () => {
    await run(async () => {
      const lock = new Lock();
      const q = new Queue<number>();
      const ev = new Event();
      await lock.acquire();
      const waiters = [
        createTask(() => lock.acquire()),
        createTask(() => q.get()),
        createTask(() => ev.wait()),
      ];
      await sleep(0);
      for (const w of waiters) w.cancel();
      for (const w of waiters) await assert.rejects(w, CancelledError);
      lock.release();
      assert.equal(lock.locked(), false, 'the lock went to a cancelled waiter');
      q.putNowait(1);
      assert.equal(q.qsize(), 1, 'an item went to a cancelled getter');
    });
  });
});
