import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import {
  createTask,
  currentTask,
  Event,
  EventLoop,
  getRunningLoop,
  iscoroutine,
  iscoroutinefunction,
  RuntimeError,
  run,
  sleep,
  type TimerHandle,
  wrapFuture,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';
import { TS_IMPORT } from '../support/ts.js';

checkLeaks();

describe('run', () => {
  test('resolves to the main result and cancels what is left', async () => {
    let leftover: ReturnType<typeof createTask> | null = null;
    const r = await run(async () => {
      leftover = createTask(() => sleep(10_000));
      return 'main done';
    });
    assert.equal(r, 'main done');
    assert.equal(leftover!.cancelled(), true);
  });

  test('rejects with the error of the main task', async () => {
    await assert.rejects(
      run(async () => {
        throw new RangeError('main failed');
      }),
      RangeError,
    );
  });

  test('inside a task is a RuntimeError', async () => {
    await run(async () => {
      await assert.rejects(
        run(async () => 1),
        (e: unknown) =>
          e instanceof RuntimeError &&
          /cannot be called from a running event loop/.test((e as Error).message),
      );
    });
  });

  test('reports a global deadlock instead of hanging (a child process)', () => {
    const script = `
      import { run, Lock, Event, createTask, sleep } from './src/asyncio/index.ts';
      try {
        await run(async () => {
          const lock = new Lock({ name: 'gate' });
          await lock.acquire();
          createTask(() => lock.acquire(), { name: 'blocked-on-lock' });
          await new Event().wait();
        }, { name: 'main' });
        console.log('no error');
      } catch (e) { console.log(e.name + ' :: ' + e.message); }
    `;
    const r = spawnSync(
      process.execPath,
      ['--import', TS_IMPORT, '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.match(r.stdout, /DeadlockError :: Deadlock: every task is blocked/);
    assert.match(r.stdout, /Task 'main' waits for an Event/);
    assert.match(r.stdout, /Task 'blocked-on-lock' waits for Lock 'gate'/);
  });
});

describe('EventLoop', () => {
  test('getRunningLoop outside every task is a RuntimeError', () => {
    assert.throws(() => getRunningLoop(), /no running event loop/);
  });

  test('callSoon runs callbacks in order after the current step; a cancelled handle does not run', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const log: string[] = [];
      loop.callSoon((x: string) => log.push(x), 'a');
      const h = loop.callSoon(() => log.push('cancelled'));
      loop.callSoon(() => log.push(`current=${currentTask()?.name ?? 'none'}`));
      h.cancel();
      log.push('sync');
      await sleep(0);
      assert.deepEqual(log, ['sync', 'a', 'current=none']);
    });
  });

  test('callLater and callAt run at their time; time() is monotonic milliseconds', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const t0 = loop.time();
      const log: string[] = [];
      loop.callLater(10, () => log.push('later'));
      loop.callAt(t0 + 1, () => log.push('at'));
      const cancelled = loop.callLater(2, () => log.push('never'));
      cancelled.cancel();
      await sleep(20);
      assert.deepEqual(log, ['at', 'later']);
      assert.ok(loop.time() >= t0 + 10);
    });
  });

  test('a callLater of the same delay as a wait timeout armed earlier in the turn fires after it, as the earlier deadline does in CPython', async () => {
    // callLater armed Node's timer with `when - time()`, a fraction under the delay, so it ran
    // before an earlier 10 ms timeout in about 19 of 20 tries (187 of 200 in one run).
    await run(async () => {
      const loop = getRunningLoop();
      const order: string[] = [];
      for (let i = 0; i < 10; i++) {
        const ev = new Event();
        let first = '';
        const w = createTask(async () => {
          const got = await ev.wait({ timeout: 10 });
          first ||= got ? 'callLater' : 'timeout';
        });
        await sleep(0); // the wait's timer is armed now
        loop.callLater(10, () => {
          first ||= 'callLater';
          ev.set();
        });
        await w;
        await sleep(15);
        order.push(first);
      }
      assert.deepEqual(order, Array(10).fill('timeout'));
    });
  });

  test('runForever runs until stop()', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const log: string[] = [];
      loop.callLater(2, () => {
        log.push('stopping');
        loop.stop();
      });
      const inner = createTask(async () => {
        const l = getRunningLoop();
        return l;
      });
      assert.equal(await inner, loop);
      await loop.runForever();
      assert.deepEqual(log, ['stopping']);
      // runForever is over; run() still runs on the loop.
      assert.equal(loop.isRunning(), true);
    });
  });

  test('inside run() the loop is running: runUntilComplete and close raise RuntimeError', async () => {
    let loop: EventLoop | null = null;
    await run(async () => {
      loop = getRunningLoop();
      assert.equal(loop.isRunning(), true);
      await assert.rejects(
        loop.runUntilComplete(sleep(1, 'ran')),
        (e: unknown) =>
          e instanceof RuntimeError && e.message === 'This event loop is already running',
      );
      assert.throws(
        () => loop!.close(),
        (e: unknown) =>
          e instanceof RuntimeError && e.message === 'Cannot close a running event loop',
      );
      assert.equal(loop.isClosed(), false);
      assert.equal(await sleep(1, 'still usable'), 'still usable');
    });
    assert.equal(loop!.isRunning(), false);
    assert.equal(loop!.isClosed(), true);
  });

  /**
   * runForever(), answering 'lost' instead of hanging when no earlier stop() makes it return:
   * a guard stops it after a while (it measures nothing; it only keeps a failure from hanging).
   */
  const runForeverOrLost = async (loop: EventLoop): Promise<string> => {
    let lost = false;
    const guard = setTimeout(() => {
      lost = true;
      loop.stop();
    }, 5_000);
    await loop.runForever();
    clearTimeout(guard);
    return lost ? 'lost' : 'returned';
  };

  test('stop() before runForever() makes it run the ready callbacks once and return', async () => {
    const loop = new EventLoop();
    const log: string[] = [];
    loop.stop();
    loop.callSoon(() => log.push('ready callback'));
    log.push(await runForeverOrLost(loop));
    assert.deepEqual(log, ['ready callback', 'returned']);
    assert.equal(loop.isRunning(), false);
    loop.close();
  });

  test('stop() before runForever() inside run() is not lost', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      loop.stop();
      assert.equal(await runForeverOrLost(loop), 'returned');
      // A second runForever waits for a stop() of its own.
      loop.callLater(1, () => loop.stop());
      await loop.runForever();
    });
  });

  test('stop() inside run() stops it: the tasks left are cancelled and run() raises, as asyncio.run', async () => {
    const log: string[] = [];
    const other = async (): Promise<void> => {
      try {
        log.push('other runs');
        getRunningLoop().stop();
        await sleep(0); // the loop stops at the end of this iteration: never resumed normally
        log.push('other went on');
      } catch (e) {
        log.push(`other: ${(e as Error).name}`);
        throw e;
      }
    };
    await assert.rejects(
      run(async () => {
        createTask(other);
        try {
          await sleep(50);
          log.push('main went on');
        } catch (e) {
          log.push(`main: ${(e as Error).name}`);
          throw e;
        }
      }),
      (e: unknown) =>
        e instanceof RuntimeError &&
        e.code === 'ERR_WEFT_LOOP_STOPPED' &&
        e.message.startsWith('Event loop stopped before Future completed'),
    );
    assert.deepEqual(log, ['other runs', 'other: CancelledError', 'main: CancelledError']);
  });

  test('stop() inside run() in the iteration the main task returns in: run() gives its value', async () => {
    assert.equal(
      await run(async () => {
        getRunningLoop().stop();
        return 'returned';
      }),
      'returned',
    );
    // and a main task that catches the cancel and returns still makes run() raise
    await assert.rejects(
      run(async () => {
        const loop = getRunningLoop();
        loop.callSoon(() => loop.stop());
        try {
          await sleep(0); // resumed in the iteration of the stop
          await sleep(0);
        } catch {
          return 'swallowed';
        }
        return 'slept';
      }),
      RuntimeError,
    );
  });

  test('what is registered to close with the loop runs once at close(); a throw is reported', () => {
    const loop = new EventLoop();
    const log: string[] = [];
    const reported: unknown[] = [];
    loop.setExceptionHandler((context) => reported.push(context.exception));
    loop._atClose(() => log.push('a'));
    const off = loop._atClose(() => log.push('taken off'));
    loop._atClose(() => {
      throw new Error('boom');
    });
    loop._atClose(() => log.push('c'));
    off();
    loop.close();
    loop.close();
    assert.deepEqual(log, ['a', 'c']);
    assert.equal(reported.length, 1);
    assert.equal((reported[0] as Error).message, 'boom');
    loop._atClose(() => log.push('after close'));
    assert.deepEqual(log, ['a', 'c']);
  });

  test('closing the loop drops a pending callLater: no timer is left behind', async () => {
    const timers = (): number =>
      process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    let handle: TimerHandle | null = null;
    await run(async () => {
      handle = getRunningLoop().callLater(10_000, () => assert.fail('ran on a closed loop'));
    });
    assert.equal(timers(), before);
    assert.equal(handle!.cancelled(), true);
  });

  test('runInExecutor uses any executor with submit and awaits its future', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      const executor = {
        submit(fn: (...a: number[]) => number, ...args: number[]) {
          const callbacks: ((f: unknown) => void)[] = [];
          let value = 0;
          const fut = {
            addDoneCallback: (cb: (f: unknown) => void) => callbacks.push(cb),
            cancelled: () => false,
            cancel: () => false,
            result: async () => value,
          };
          setTimeout(() => {
            value = fn(...args);
            for (const cb of callbacks) cb(fut);
          }, 1);
          return fut;
        },
      };
      assert.equal(await loop.runInExecutor(executor, (a: number, b: number) => a * b, 6, 7), 42);
      await assert.rejects(
        loop.runInExecutor({} as never, () => 1),
        /expects an executor with submit\(\) or null/,
      );
    });
  });

  test('run waits for a default executor call still running, as asyncio.run does', async () => {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    let call: Promise<unknown> | null = null;
    await run(async () => {
      call = getRunningLoop().runInExecutor(
        null,
        async (f: Int32Array) => {
          await new Promise((resolve) => setTimeout(resolve, 200));
          Atomics.store(f, 0, 1);
        },
        flag,
      );
      await sleep(10);
    });
    assert.equal(Atomics.load(flag, 0), 1, 'run() resolved before the call ended');
    await call;
  });

  test('runInExecutor(null) after shutdownDefaultExecutor raises RuntimeError', async () => {
    await run(async () => {
      const loop = getRunningLoop();
      assert.equal(await loop.runInExecutor(null, (a: number) => a + 1, 1), 2);
      await loop.shutdownDefaultExecutor();
      await assert.rejects(
        loop.runInExecutor(null, () => 1),
        {
          name: 'RuntimeError',
          code: 'ERR_WEFT_EXECUTOR_SHUTDOWN',
        },
      );
    });
  });

  test('close refuses while running and makes the loop unusable after', async () => {
    let loop: ReturnType<typeof getRunningLoop> | null = null;
    await run(async () => {
      loop = getRunningLoop();
    });
    assert.equal(loop!.isClosed(), true);
    assert.throws(() => loop!.callSoon(() => {}), /Event loop is closed/);
  });

  test('wrapFuture follows a concurrent future', async () => {
    await run(async () => {
      let done: ((f: unknown) => void) | null = null;
      const cf = {
        addDoneCallback: (cb: (f: unknown) => void) => {
          done = cb;
        },
        cancelled: () => false,
        cancel: () => false,
        result: async () => 'from the pool',
      };
      const f = wrapFuture<string>(cf as never);
      setTimeout(() => done!(cf), 1);
      assert.equal(await f, 'from the pool');
    });
  });
});

describe('coroutine checks', () => {
  test('iscoroutinefunction and iscoroutine', () => {
    assert.equal(
      iscoroutinefunction(async () => 1),
      true,
    );
    assert.equal(
      iscoroutinefunction(() => 1),
      false,
    );
    // Python: an `async def` with `yield` is an async generator function, not a coroutine one.
    assert.equal(
      iscoroutinefunction(async function* () {}),
      false,
    );
    assert.equal(iscoroutine(Promise.resolve(1)), true);
    const thenable = Object.fromEntries([['then', () => {}]]);
    assert.equal(iscoroutine(thenable), false);
  });
});
