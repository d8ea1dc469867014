/**
 * A task or a Process target may send anything on its child's IPC channel (process.send), where
 * weft's own messages travel too: null, a string, a value shaped like a pool runner's message or
 * a child's boot message. None of it may crash the parent or be taken for weft's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool, Process, Queue } from '../../src/multiprocessing/index.js';
import { sendOnChannel } from '../futures/fixtures/foreign-tasks.js';
import { checkLeaks } from '../support/leaks.js';
import { sendThenPut } from './fixtures/channel-send-targets.js';
import { square } from './fixtures/targets.js';

checkLeaks({ graceMs: 3000 });

for (const which of ['plain', 'shaped'] as const) {
  test(`a Pool task sending ${which} messages with process.send gets its own result; the pool carries on`, async () => {
    const pool = new Pool(1);
    try {
      assert.equal(await pool.apply(sendOnChannel, [which, 42]), 42);
      assert.deepEqual(
        await pool.starmap(sendOnChannel, [
          [which, 'a'],
          [which, 'b'],
        ]),
        ['a', 'b'],
      );
      assert.equal(await pool.apply(square, [3]), 9);
    } finally {
      pool.close();
      await pool.join();
    }
  });

  test(`a Process target sending ${which} messages with process.send runs on and ends cleanly`, async () => {
    const q = new Queue();
    try {
      const p = new Process({ target: sendThenPut, args: [which, q] });
      p.start();
      assert.equal(await q.get({ timeout: 60_000 }), 'after the sends');
      await p.join();
      assert.equal(p.exitcode, 0);
    } finally {
      q.close();
      await q.joinThread();
    }
  });
}
