/** toThread: asyncio.to_thread on the running loop's default executor. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { threadId } from 'node:worker_threads';
import {
  CancelledError,
  createTask,
  currentTask,
  type Future,
  getRunningLoop,
  run,
  shield,
  sleep,
  toThread,
} from '../../src/asyncio/index.js';
import { GreenletExit } from '../../src/gevent/errors.js';
import {
  add,
  markThenUntilFile,
  throwRange,
  untilFile,
  whoAmI,
} from '../futures/fixtures/tasks.js';
import { checkLeaks } from '../support/leaks.js';
import { throwCancelled, throwGreenletExit } from './to-thread-fixtures.js';

checkLeaks({ graceMs: 3000 });

describe('toThread', () => {
  test('runs a marked function or a self-contained inline one on another thread', async () => {
    await run(async () => {
      assert.equal(await toThread(add, 2, 3), 5);
      assert.equal(await toThread((s: string, n: number) => s.repeat(n), 'ab', 3), 'ababab');
      const where = await toThread(whoAmI);
      assert.equal(where, `${process.pid}:${where.split(':')[1]}`);
      assert.notEqual(Number(where.split(':')[1]), threadId, 'not the calling thread');
    });
  });

  test('the loop goes on while the call waits in its thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-to-thread-'));
    try {
      const gate = join(dir, 'open');
      const seen: string[] = [];
      await run(async () => {
        const call = toThread(untilFile, gate, 'done').then((v) => seen.push(`thread ${v}`));
        for (let i = 0; i < 3; i++) {
          await sleep(1);
          seen.push(`tick ${i}`);
        }
        writeFileSync(gate, '');
        await call;
      });
      assert.deepEqual(seen, ['tick 0', 'tick 1', 'tick 2', 'thread done']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an error from the thread keeps its class', async () => {
    await run(async () => {
      await assert.rejects(toThread(throwRange, 'too big'), (e: Error) => {
        return e instanceof RangeError && e.message === 'too big';
      });
    });
  });

  test('cancelling the awaiting task rejects at once; run() still waits for the running call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-to-thread-'));
    try {
      const gate = join(dir, 'open');
      const started = join(dir, 'started');
      const order: string[] = [];
      await run(async () => {
        const t = createTask(toThread(markThenUntilFile, started, gate, 'late'));
        // Running in its thread, not only queued (a queued call is cancelled with its task, and
        // nothing is left to wait for: the test's own race on a loaded machine, seen on Node 22).
        while (!existsSync(started)) await sleep(5);
        t.cancel();
        await assert.rejects(t, CancelledError);
        order.push('cancelled');
        // The call goes on in its thread; run() waits for it (shutdownDefaultExecutor).
        setTimeout(() => {
          order.push('gate opened');
          writeFileSync(gate, '');
        }, 30);
      });
      order.push('run returned');
      assert.deepEqual(order, ['cancelled', 'gate opened', 'run returned']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a CancelledError or GreenletExit the call raises is re-raised as itself; the awaiting task is not cancelled', async () => {
    // CPython 3.11 (checked): to_thread / run_in_executor re-raise the thread's own exception
    // (class, message) into the awaiting coroutine, which can catch it and go on (cancelling()
    // stays 0); the future is not cancelled, it holds that exception. weft cancelled the
    // future: a GreenletExit came back as a plain CancelledError, and the first calls (made
    // while the default executor was being created) lost the message too.
    await run(async () => {
      const seen: string[] = [];
      const check = async (f: Future<never>, cls: typeof CancelledError, msg: string) => {
        try {
          await f;
          seen.push('returned');
        } catch (e) {
          assert.ok(e instanceof cls, `raised ${String(e)}`);
          assert.equal((e as Error).message, msg);
          seen.push(
            `${(e as Error).name}: ${(e as Error).message}, cancelling ${currentTask()!.cancelling()}`,
          );
        }
        assert.equal(f.cancelled(), false);
        assert.ok(f.exception() instanceof cls);
      };
      // Both made before the default executor exists, then two once it does.
      const early = [toThread(throwCancelled, 'first'), toThread(throwGreenletExit, 'second')];
      await check(early[0] as Future<never>, CancelledError, 'first');
      await check(early[1] as Future<never>, GreenletExit, 'second');
      await check(toThread(throwCancelled, 'third'), CancelledError, 'third');
      await check(toThread(throwGreenletExit, 'fourth'), GreenletExit, 'fourth');
      await sleep(1);
      assert.deepEqual(seen, [
        'CancelledError: first, cancelling 0',
        'GreenletExit: second, cancelling 0',
        'CancelledError: third, cancelling 0',
        'GreenletExit: fourth, cancelling 0',
      ]);
      // Let out of a task, it ends that task cancelled, as any CancelledError its code raises.
      const t = createTask(async () => {
        await toThread(throwCancelled, 'out');
      });
      await assert.rejects(t, (e: Error) => e instanceof CancelledError && e.message === 'out');
      assert.equal(t.cancelled(), true);
      // shield copies the exception (it threw setException's TypeError into the loop, and the
      // shield never settled).
      await assert.rejects(
        shield(toThread(throwGreenletExit, 'shielded')),
        (e: Error) => e instanceof GreenletExit && e.message === 'shielded',
      );
      assert.equal(currentTask()!.cancelling(), 0);
    });
  });

  test('bad input: outside a running loop RuntimeError, a non-function TypeError', async () => {
    await assert.rejects(toThread(add, 1, 2), {
      name: 'RuntimeError',
      code: 'ERR_WEFT_NO_RUNNING_LOOP',
    });
    await run(async () => {
      // @ts-expect-error: not a function
      await assert.rejects(toThread(42), TypeError);
      assert.ok(getRunningLoop().isRunning());
    });
  });
});
