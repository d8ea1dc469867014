import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventLoop, RuntimeError, sleep } from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const stoppedEarly = (e: unknown): boolean =>
  e instanceof RuntimeError && /stopped before Future completed/.test(e.message);

// CPython's loop checks `_stopping` between iterations: a `stop()` ends the loop once the
// callbacks that were ready when its iteration began have run, and `run_until_complete` then asks
// whether its future is done. What that iteration queued belongs to a later one.
describe('EventLoop.stop() ends the iteration it is called in', () => {
  test('a task that stops the loop and then yields: runUntilComplete raises, the task runs on (CPython)', async () => {
    // Python:
    //   async def main(): loop.stop(); await asyncio.sleep(0); return 1
    //   loop.run_until_complete(main())  -> RuntimeError: Event loop stopped before Future completed.
    const loop = new EventLoop();
    const log: string[] = [];
    try {
      const body = loop.createTask(async () => {
        loop.stop();
        await sleep(0);
        log.push('resumed');
        return 1;
      });
      await assert.rejects(loop.runUntilComplete(body), stoppedEarly);
      // `aw` runs on, as in Python (where it resumes once the loop runs again).
      assert.equal(await body, 1);
      assert.deepEqual(log, ['resumed']);
      assert.equal(loop.isRunning(), false);
    } finally {
      loop.close();
    }
  });

  test('a future set by a callback the stopping iteration queued does not count; one set in that iteration does', async () => {
    // Python: call_soon(a); call_soon(b); run_until_complete(fut), where a calls stop() and
    //   - b sets fut's result: it was ready when the iteration began -> the result;
    //   - a queues the setter before stop(): it runs in the next iteration -> RuntimeError.
    const outcome = async (late: boolean): Promise<string> => {
      const loop = new EventLoop();
      try {
        const fut = loop.createFuture<string>();
        loop.callSoon(() => {
          if (late) loop.callSoon(() => fut.setResult('late'));
          loop.stop();
        });
        loop.callSoon(() => {
          if (!late) fut.setResult('same iteration');
        });
        try {
          return await loop.runUntilComplete(fut);
        } catch (e) {
          if (stoppedEarly(e)) return 'stopped';
          throw e;
        }
      } finally {
        loop.close();
      }
    };
    assert.equal(await outcome(false), 'same iteration');
    assert.equal(await outcome(true), 'stopped');
  });

  test('a task that stops the loop and returns in the same step gives its result (CPython)', async () => {
    const loop = new EventLoop();
    try {
      const body = loop.createTask(async () => {
        await sleep(0);
        loop.stop();
        return 'done';
      });
      assert.equal(await loop.runUntilComplete(body), 'done');
    } finally {
      loop.close();
    }
  });

  test('a stop() from outside any callback still ends runForever and runUntilComplete', async () => {
    const loop = new EventLoop();
    try {
      const timer = setTimeout(() => loop.stop(), 5);
      await loop.runForever();
      clearTimeout(timer);
      Promise.resolve().then(() => loop.stop());
      await loop.runForever();
      const fut = loop.createFuture<number>();
      Promise.resolve().then(() => loop.stop());
      await assert.rejects(loop.runUntilComplete(fut), stoppedEarly);
      // A stop() left over from a run that already ended does not stop the next one.
      loop.callSoon(() => fut.setResult(7));
      assert.equal(await loop.runUntilComplete(fut), 7);
    } finally {
      loop.close();
    }
  });
});
