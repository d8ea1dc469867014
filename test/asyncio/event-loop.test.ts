import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import {
  createTask,
  currentTask,
  getRunningLoop,
  iscoroutine,
  iscoroutinefunction,
  RuntimeError,
  run,
  sleep,
  wrapFuture,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

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
      ['--import', 'tsx', '--input-type=module', '-e', script],
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
      assert.equal(loop.isRunning(), false);
    });
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
    assert.equal(iscoroutine(Promise.resolve(1)), true);
    const thenable = Object.fromEntries([['then', () => {}]]);
    assert.equal(iscoroutine(thenable), false);
  });
});
