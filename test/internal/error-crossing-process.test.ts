/**
 * Every public error class of weft, raised in a child process, comes back to the parent as
 * itself: the same class, `instanceof` each of its classes, its name, message, code and fields,
 * its cause, the errors of a group, and the child's stack as its cause (see
 * src/internal/error-registry.ts). The cases are test/internal/fixtures/error-table.ts;
 * error-crossing-thread.test.ts sends the same ones through threads.
 *
 * A Process's own uncaught error does not cross: the child prints it and ends with exitcode 1,
 * as Python's does.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProcessPoolExecutor } from '../../src/futures/process-pool-executor.js';
import { Pool, Process, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { assertAllSame, assertExecutorCrossing } from './fixtures/error-compare.js';
import { make, putAll, raise } from './fixtures/error-table.js';

checkLeaks({ graceMs: 3000 });

const labels = Object.keys(make);

describe('an error raised in a child process comes back as itself, for every weft error class', () => {
  test('a ProcessPoolExecutor task: its future fails with it, and it comes back as a result', async () => {
    const ex = new ProcessPoolExecutor({ maxWorkers: 2 });
    try {
      await assertExecutorCrossing(ex);
    } finally {
      await ex.shutdown();
    }
  });

  test('a multiprocessing Pool: apply() rejects with it', async () => {
    const pool = new Pool(2);
    try {
      const got = new Map<string, unknown>();
      // Each rejection handled as it is made: they settle before the loop reaches them.
      const calls = labels.map(
        (label) => [label, pool.apply(raise, [label]).catch((e: unknown) => e)] as const,
      );
      for (const [label, call] of calls) got.set(label, await call);
      assertAllSame(got);
    } finally {
      pool.close();
      await pool.join();
    }
  });

  test('a Process puts it on a multiprocessing Queue', async () => {
    const q = new Queue<{ label: string; error: unknown }>();
    const p = new Process({ target: putAll, args: [q] });
    p.start();
    const got = new Map<string, unknown>();
    for (let i = 0; i < labels.length; i++) {
      const { label, error } = await q.get();
      got.set(label, error);
    }
    await p.join();
    q.close();
    assert.equal(p.exitcode, 0);
    assertAllSame(got);
  });
});
