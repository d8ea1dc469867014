import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createTask,
  EventLoop,
  type ExceptionContext,
  getRunningLoop,
  RuntimeError,
  run,
  sleep,
  type Task,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';
import { withHandler } from '../support/loop-handler.js';
import { stderrOf } from '../support/stderr.js';

checkLeaks();

describe('EventLoop edges', () => {
  test('the loop a task outside run() sees is running: runUntilComplete and close raise there', async () => {
    const seen = await createTask(async () => {
      const loop = getRunningLoop();
      const running = loop.isRunning();
      let ruc: unknown = null;
      const inner = loop.runUntilComplete(async () => 'nested');
      try {
        await inner;
      } catch (e) {
        ruc = e;
      }
      let closed: unknown = null;
      try {
        loop.close();
      } catch (e) {
        closed = e;
      }
      return { running, ruc, closed, isClosed: loop.isClosed() };
    });
    assert.equal(seen.running, true);
    assert.ok(seen.ruc instanceof RuntimeError);
    assert.match((seen.ruc as Error).message, /already running/);
    assert.ok(seen.closed instanceof RuntimeError);
    assert.equal(seen.isClosed, false);
  });

  test('getRunningLoop() inside runUntilComplete and runForever is that loop', async () => {
    const loop = new EventLoop();
    try {
      assert.equal(await loop.runUntilComplete(async () => getRunningLoop() === loop), true);
      let inCallback: unknown = null;
      loop.callSoon(() => {
        inCallback = getRunningLoop();
        loop.stop();
      });
      await loop.runForever();
      assert.equal(inCallback, loop);
      assert.throws(() => getRunningLoop(), RuntimeError);
    } finally {
      loop.close();
    }
  });

  test('getRunningLoop() inside a callSoon or callLater callback outside run() is the loop that scheduled it', async () => {
    const loop = new EventLoop();
    const seen: unknown[] = [];
    try {
      loop.callSoon(() => seen.push(getRunningLoop()));
      loop.callLater(1, () => seen.push(getRunningLoop()));
      await sleep(10);
    } finally {
      loop.close();
    }
    assert.deepEqual(seen, [loop, loop]);
    assert.throws(() => getRunningLoop(), RuntimeError);
  });

  test('stop() while runUntilComplete waits raises RuntimeError and does not stop the next runForever', async () => {
    const loop = new EventLoop();
    try {
      const body = createTask(async () => {
        loop.stop();
        return sleep(5, 1);
      });
      await assert.rejects(
        loop.runUntilComplete(body),
        (e: unknown) => e instanceof RuntimeError && /stopped before Future completed/.test(`${e}`),
      );
      // The loop ran one more iteration and returned; the body goes on, as in Python.
      assert.equal(body.done(), false);
      assert.equal(await body, 1);
      const log: string[] = [];
      loop.callSoon(() => log.push('soon'));
      loop.callLater(5, () => {
        log.push('later');
        loop.stop();
      });
      await loop.runForever();
      assert.deepEqual(log, ['soon', 'later']);
      assert.equal(loop.isRunning(), false);
    } finally {
      loop.close();
    }
  });

  test('an exception in a callSoon callback reaches the handler with the handle', async () => {
    const got: ExceptionContext[] = [];
    await withHandler(
      (ctx) => got.push(ctx),
      async (loop) => {
        const h = loop.callSoon(() => {
          throw new Error('boom');
        });
        const log: string[] = [];
        loop.callSoon(() => log.push('next ran'));
        await sleep(0);
        assert.deepEqual(log, ['next ran']);
        assert.equal(got.length, 1);
        assert.equal(got[0]?.message, 'Exception in callback');
        assert.equal(((got[0] as ExceptionContext).exception as Error).message, 'boom');
        assert.equal(got[0]?.handle, h);
      },
    );
  });

  test('callExceptionHandler passes every key of the context to the handler', async () => {
    const got: ExceptionContext[] = [];
    await withHandler(
      (ctx) => got.push(ctx),
      async (loop) => {
        const fut = loop.createFuture();
        const context = { message: 'custom', exception: new Error('e'), future: fut };
        loop.callExceptionHandler(context);
        assert.equal(got.length, 1);
        assert.equal(got[0]?.future, fut);
        assert.equal(got[0]?.message, 'custom');
        assert.throws(() => loop.callExceptionHandler(null as never), TypeError);
      },
    );
  });

  test('defaultExceptionHandler writes the message, the extra keys and the stack to stderr', () => {
    const loop = new EventLoop();
    let text: string;
    try {
      text = stderrOf(() =>
        loop.defaultExceptionHandler({
          message: 'it broke',
          exception: new Error('why'),
          where: 7,
        }),
      );
    } finally {
      loop.close();
    }
    assert.match(text, /it broke/);
    assert.match(text, /where: 7/);
    assert.match(text, /Error: why/);
  });
});

describe('Task and run edges', () => {
  test('a task awaiting itself raises RuntimeError in the task instead of hanging', async () => {
    const t: Task<unknown> = createTask(async () => {
      try {
        await t;
        return 'awaited';
      } catch (e) {
        return e;
      }
    });
    const e = await t;
    assert.ok(e instanceof RuntimeError);
    assert.match((e as Error).message, /cannot await on itself/);
    // Cancelling such a task used to recurse through its own awaited future.
    const u: Task<unknown> = createTask(async () => {
      await u;
    });
    await assert.rejects(u, RuntimeError);
    assert.equal(u.cancel(), false);
  });

  test('run() reports a leftover task whose cleanup raised instead of dropping the error', async () => {
    const got: ExceptionContext[] = [];
    const log: string[] = [];
    const loop = new EventLoop();
    loop.setExceptionHandler((ctx) => got.push(ctx));
    let left: Task<void> | null = null;
    try {
      await run(async () => {
        left = createTask(
          async () => {
            try {
              await sleep(10_000);
            } finally {
              log.push('finally ran');
              // biome-ignore lint/correctness/noUnsafeFinally: the cleanup that fails is the case
              throw new Error('cleanup failed');
            }
          },
          { name: 'leftover' },
        );
        createTask(() => sleep(10_000), { name: 'quiet' });
        await sleep(0);
      });
    } finally {
      loop.setExceptionHandler(null);
      loop.close();
    }
    assert.deepEqual(log, ['finally ran']);
    assert.equal(got.length, 1);
    assert.match(got[0]?.message ?? '', /shutdown/);
    assert.equal(((got[0] as ExceptionContext).exception as Error).message, 'cleanup failed');
    assert.equal(got[0]?.task, left);
  });

  test('run() with a bad main raises TypeError and leaves the next run() free', async () => {
    await assert.rejects(run(5 as never), TypeError);
    await assert.rejects(
      run(async () => 1, { name: 5 as never }),
      TypeError,
    );
    assert.equal(await run(async () => 'ran'), 'ran');
  });

  test('another loop cannot run inside run(), a task or a running loop: RuntimeError, and what was passed is left alone (Python)', async () => {
    const other = (e: unknown): boolean =>
      e instanceof RuntimeError && e.code === 'ERR_WEFT_OTHER_LOOP_RUNNING';
    const loop = new EventLoop();
    await run(async () => {
      const inner = createTask(() => sleep(0, 'inner'));
      await assert.rejects(loop.runUntilComplete(inner), other);
      await assert.rejects(loop.runForever(), other);
      assert.equal(loop.isRunning(), false);
      assert.equal(await inner, 'inner', 'the task passed runs on in its own loop');
    });
    // A task made outside every run() runs in the default loop: that one is running there.
    const t = createTask(async () => {
      await assert.rejects(loop.runUntilComplete(sleep(0)), other);
      return 'checked';
    });
    assert.equal(await t, 'checked');
    // Inside another loop's runUntilComplete.
    const outer = new EventLoop();
    assert.equal(
      await outer.runUntilComplete(
        (async () => {
          await sleep(0); // now inside outer's runUntilComplete
          await assert.rejects(loop.runUntilComplete(sleep(0)), other);
          return 'nested refused';
        })(),
      ),
      'nested refused',
    );
    outer.close();
    // Outside all of them the loop runs.
    assert.equal(await loop.runUntilComplete(sleep(0, 'ran')), 'ran');
    loop.close();
  });
});
