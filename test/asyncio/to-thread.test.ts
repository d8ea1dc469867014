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
  getRunningLoop,
  run,
  sleep,
  toThread,
} from '../../src/asyncio/index.js';
import {
  add,
  markThenUntilFile,
  throwRange,
  untilFile,
  whoAmI,
} from '../futures/fixtures/tasks.js';
import { checkLeaks } from '../support/leaks.js';

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
