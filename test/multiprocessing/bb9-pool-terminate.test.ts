/**
 * Pool.terminate(), as Python's (checked with 3.11.2 and 3.13, `fork` and `spawn`): the workers
 * get SIGTERM, so their `exitcode` is −15, and `activeChildren()` no longer lists them once
 * terminate() returns (Python's has joined them). weft sent SIGKILL (−9) and listed the workers
 * until their exit was seen.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { activeChildren, Pool, type Process } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { sleepFor } from './fixtures/bb9-targets.js';

checkLeaks({ graceMs: 3000 });

function poolWorkers(pids: number[]): Process[] {
  return activeChildren().filter((c) => pids.includes(c.pid as number));
}

describe('Pool.terminate()', () => {
  for (const busy of [true, false]) {
    test(`ends the workers with SIGTERM and unlists them (${busy ? 'busy' : 'idle'})`, async () => {
      const pool = new Pool(2);
      assert.deepEqual(await pool.map(sleepFor, [1, 1]), [1, 1]);
      const pids = pool.pids();
      const workers = poolWorkers(pids);
      assert.equal(workers.length, pids.length);
      const running = busy ? pool.map(sleepFor, [60_000, 60_000]) : null;
      running?.catch(() => {});
      if (busy) await new Promise((r) => setTimeout(r, 300));
      pool.terminate();
      assert.deepEqual(poolWorkers(pids), [], 'none listed once terminate() returns');
      await pool.join();
      assert.deepEqual(
        workers.map((w) => w.exitcode),
        workers.map(() => -15),
      );
      if (running) await assert.rejects(running, { name: 'CancelledError' });
      assert.deepEqual(poolWorkers(pids), []);
    });
  }
});
