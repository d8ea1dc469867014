/**
 * Every message weft's own roles post on parentPort carries the spawning thread's mark
 * (worker/protocol.ts), the multiprocessing broker thread's word that it listens included: a
 * parent that waits for it must not find it taken for the thread's own code's.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { slabPathOf } from '../../src/internal/process/lock-slab.js';
import { isWorkerMessage } from '../../src/internal/worker/protocol.js';
import { spawnWorker } from '../../src/internal/worker/spawn.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

test("the broker thread's 'listening' is marked as weft's", async () => {
  const path = join(tmpdir(), `weft-marks-${process.pid}.sock`);
  const role = new URL('../../src/internal/process/broker-thread.ts', import.meta.url).href;
  const w = spawnWorker({ role, payload: { path }, name: 'weft-broker-test' });
  try {
    const m = await new Promise<unknown>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`the broker thread exited (${code})`)));
    });
    assert.deepEqual((m as { value?: unknown }).value, 'listening');
    assert.equal(isWorkerMessage(m), true, `not marked: ${JSON.stringify(m)}`);
  } finally {
    await w.terminate();
    for (const f of [path, slabPathOf(path)]) rmSync(f, { force: true });
  }
});
