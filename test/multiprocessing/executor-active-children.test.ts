/**
 * `activeChildren()` lists a ProcessPoolExecutor's workers while they run, as Python's
 * `active_children()` does (checked with 3.11.2, `spawn` and `fork`: `SpawnProcess-1`, listed
 * until shutdown has joined it). weft's listed none.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProcessPoolExecutor } from '../../src/futures/index.js';
import { activeChildren, Process } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { sleepFor } from './fixtures/bb9-targets.js';

checkLeaks({ graceMs: 3000 });

describe("a ProcessPoolExecutor's workers in activeChildren()", () => {
  test('are listed while they run, with their name and identity, and not after shutdown', async () => {
    const before = new Process({})._identity[0] as number;
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    let pid: number | undefined;
    try {
      assert.equal(await ex.submit(sleepFor, 0), 0);
      [pid] = ex._pids();
      assert.ok(pid !== undefined);
      const listed = activeChildren().filter((p) => p.pid === pid);
      assert.equal(listed.length, 1, 'the worker is listed');
      const w = listed[0] as Process;
      assert.match(w.name, /^ProcessPoolExecutor-\d+_0$/);
      assert.deepEqual(w._identity, [before + 1]);
      assert.equal(w.isAlive(), true);
      assert.equal(w.exitcode, null);
    } finally {
      await ex.shutdown();
    }
    assert.equal(
      activeChildren().some((p) => p.pid === pid),
      false,
      'no longer listed once shutdown has returned',
    );
  });
});
