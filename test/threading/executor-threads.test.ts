/**
 * An executor's worker threads are threads like any other in the thread table: listed by
 * enumerate(), named in deadlock reports, and walked through by deadlock detection. A worker
 * thread weft did not start has no place in the table and must not write in another's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ThreadPoolExecutor } from '../../src/futures/index.js';
import { encode } from '../../src/internal/serialize.js';
import {
  C_WAITERS,
  finishThread,
  ownSlot,
  registerThread,
  slotOf,
  T_WAITING_FOR,
  WORLD_KEY,
  worldBuffer,
  worldWords,
} from '../../src/internal/shm/world.js';
import { DeadlockError, Event, enumerate, Lock } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { TS_WORKER_LOADER } from '../support/ts.js';
import { until } from '../support/until.js';
import { holdThenWaitFor } from './fixtures/tasks.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 15_000;

describe('executor worker threads in the thread table', () => {
  test('enumerate() lists them by name while they live, and no more after shutdown', async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 2, threadNamePrefix: 'crew' });
    await Promise.all([ex.submit(holdThenWaitFor, new Lock(), new Lock(), new Event()).result()]);
    const names = enumerate().map((t) => t.name);
    assert.ok(names.includes('crew_0'), `expected crew_0 among ${names.join(', ')}`);
    await ex.shutdown();
    await until(
      () => !enumerate().some((t) => t.name.startsWith('crew')),
      'the workers to go',
      PATIENCE,
    );
  });

  test('a deadlock between the main thread and an executor worker is reported, naming both', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 1, threadNamePrefix: 'teller' });
    const a = new Lock();
    const b = new Lock();
    const ready = new Event();
    await a.acquire();
    // The worker holds b and waits for a, which this thread holds.
    const f = ex.submit(holdThenWaitFor, b, a, ready);
    assert.equal(await ready.wait({ timeout: PATIENCE }), true);
    // Its wait for `a` recorded in its slot, not just counted: a waiter counts itself before it
    // records and walks, and an async walk made in between finds no cycle (the worker's walk then
    // has this thread walk again, lock-core.ts "Re-walks"; this test checks the first walk).
    const teller = enumerate().find((t) => t.name === 'teller_0');
    assert.ok(teller?.ident, 'the worker in the thread table');
    const slot = ownSlot(teller.ident);
    await until(
      () =>
        Atomics.load(a._core.a, a._core.st + C_WAITERS) > 0 &&
        Atomics.load(worldWords(), slot + T_WAITING_FOR) !== 0,
      'the worker to park',
      PATIENCE,
    );
    let err: unknown;
    try {
      // Untimed (the signal only keeps a missed deadlock from hanging the test).
      err = await b.acquire({ signal: AbortSignal.timeout(PATIENCE) }).then(
        () => null,
        (e: unknown) => e,
      );
    } finally {
      // Let the worker finish whatever happened, or the executor's shutdown would wait for it.
      a.release();
    }
    assert.ok(err instanceof DeadlockError, `expected a DeadlockError, got ${String(err)}`);
    assert.match(err.message, /teller_0/);
    assert.match(err.message, /MainThread/);
    assert.equal(await f.result(), 'done');
  });

  test('a worker weft did not start records no wait in the slot of the thread at its home', async () => {
    const lock = new Lock();
    lock.acquireSync();
    const go = new SharedArrayBuffer(4);
    // Node 20 applies no --import loader to a worker's entry: register the loader, then import.
    const entry = new URL('./fixtures/plain-worker.ts', import.meta.url).href;
    const w = new Worker(
      `import(${JSON.stringify(TS_WORKER_LOADER)}).then((t) => { t.register?.(); return import(${JSON.stringify(entry)}); });`,
      {
        eval: true,
        workerData: { [WORLD_KEY]: worldBuffer(), lock: encode(lock, 'message'), go },
      },
    );
    const plain = w.threadId + 1;
    // A registered thread sitting in the plain worker's home slot.
    const decoy = plain + 1024;
    registerThread(decoy, 'decoy', true);
    try {
      assert.equal(slotOf(decoy), slotOf(plain), 'the decoy took the home slot of the worker');
      Atomics.store(new Int32Array(go), 0, 1);
      Atomics.notify(new Int32Array(go), 0);
      await until(
        () => Atomics.load(lock._core.a, lock._core.st + C_WAITERS) > 0,
        'the park',
        PATIENCE,
      );
      assert.equal(Atomics.load(worldWords(), slotOf(decoy) + T_WAITING_FOR), 0);
    } finally {
      lock.release();
      await new Promise((r) => w.once('exit', r));
      finishThread(decoy);
    }
  });
});
