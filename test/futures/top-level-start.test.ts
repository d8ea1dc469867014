/**
 * Top-level code of a task module runs again in every worker and child that loads the module to
 * find a task: a start made there is refused with a RuntimeError (Python refuses it in a spawn
 * child) instead of starting workers that start workers without end.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ProcessPoolExecutor,
  RuntimeError,
  TaskReferenceError,
  ThreadPoolExecutor,
} from '../../src/futures/index.js';
import { checkLeaks } from '../support/leaks.js';
import { noop as poolNoop } from './fixtures/top-level-pool.js';
import { noop as processNoop } from './fixtures/top-level-process.js';
import { noop as threadNoop } from './fixtures/top-level-thread.js';

checkLeaks({ graceMs: 3000 });

function refused(what: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof TaskReferenceError, `a TaskReferenceError, got ${String(e)}`);
    // The worker's error, under the RemoteStack of where it was raised.
    const cause = (e.cause as Error).cause as Error;
    assert.ok(cause instanceof RuntimeError, `its cause a RuntimeError, got ${String(cause)}`);
    assert.equal((cause as RuntimeError).code, 'ERR_WEFT_START_IN_TASK_MODULE');
    assert.match(cause.message, what);
    assert.match(cause.message, /top-level code of .*top-level-/);
    return true;
  };
}

describe('a start from the top-level code of a task module', () => {
  test('Thread.start() and a pool call in a thread worker are refused; the pool lives on', async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      await assert.rejects(ex.submit(threadNoop).result(), refused(/^Thread\.start\(\)/));
      await assert.rejects(
        ex.submit(poolNoop).result(),
        // Both guards: isMainThread, which covers this copy, then the one a process pool needs
        // (its children run on their own main thread, where isMainThread guards nothing).
        refused(
          /^A call submitted to .*isMainThread.*for threads, and .*currentProcess\(\)\.name === 'MainProcess'/s,
        ),
      );
      assert.equal(await ex.submit((x: number) => x + 1, 1).result(), 2);
    } finally {
      await ex.shutdown();
    }
  });

  test('Process.start() in a child process is refused, naming the guard for processes', async () => {
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    try {
      await assert.rejects(
        ex.submit(processNoop).result(),
        refused(
          /^Process\.start\(\).*currentProcess\(\)\.name === 'MainProcess'.*for child processes, and .*isMainThread/s,
        ),
      );
    } finally {
      await ex.shutdown();
    }
  });
});
