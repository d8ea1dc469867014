/**
 * A worker or child that imports one task module, its target's, before any code of the user's
 * runs there imports it without an AsyncLocalStorage (task-ref.ts, `untouched`): running one
 * installs promise hooks on Node 20 and 22, and V8 then keeps some of its promise fast paths
 * off in that thread for good. Which module's top-level code is running is still known there:
 * top-level-start.test.ts (futures) and top-level-start-scope.test.ts (threading) check that.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage, type AsyncResource } from 'node:async_hooks';
import { test } from 'node:test';
import { ProcessPoolExecutor, ThreadPoolExecutor } from '../../src/futures/index.js';
import {
  _loadingStoreValue,
  _madeLoadingStore,
  loadingTaskModule,
  resolveTaskRef,
  untouchedThread,
} from '../../src/internal/task-ref.js';
import { Process, Queue } from '../../src/multiprocessing/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { madeStore, markStore, putStore } from './fixtures/loading-store-targets.js';

checkLeaks({ graceMs: 3000 });

/** Whether Node's AsyncLocalStorage here runs on async hooks (context.ts, `storageOnHooks`). */
const storageOnHooks =
  typeof (AsyncLocalStorage.prototype as unknown as { _enable?: unknown })._enable === 'function';

test("a Thread's worker imports its target's module without an AsyncLocalStorage", async () => {
  const out = new SharedArrayBuffer(4);
  const t = new Thread({ target: markStore, args: [out] });
  t.start();
  await t.join({ timeout: 60_000 });
  assert.equal(Atomics.load(new Int32Array(out), 0), 2, 'the worker made one');
});

test("a Process's child imports its target's module without an AsyncLocalStorage", async () => {
  const out = new Queue<boolean>();
  const p = new Process({ target: putStore, args: [out] });
  p.start();
  assert.equal(await out.get({ timeout: 60_000 }), false, 'the child made one');
  await p.join({ timeout: 60_000 });
  assert.equal(p.exitcode, 0);
});

test('pool workers, of threads and of processes, import their calls’ module without one', async () => {
  for (const Executor of [ThreadPoolExecutor, ProcessPoolExecutor]) {
    const ex = new Executor({ maxWorkers: 1 });
    try {
      assert.equal(
        await ex.submit(madeStore).result(),
        false,
        `${Executor.name}'s worker made one`,
      );
    } finally {
      await ex.shutdown();
    }
  }
});

test('an import made and ended while the first one is in flight leaves the storage disabled', async () => {
  // This thread made no storage and ran none of the user's code yet, as a worker that starts.
  untouchedThread();
  let reached!: () => void;
  const atGate = new Promise<void>((r) => {
    reached = r;
  });
  let open!: () => void;
  const gate = { reached, open: new Promise<void>((r) => (open = r)) };
  (globalThis as { weftQuietGate?: unknown }).weftQuietGate = gate;
  const holder = globalThis as { weftLaterScope?: AsyncResource };
  try {
    const urlA = new URL('./fixtures/loading-store-gated.ts', import.meta.url).href;
    const urlB = new URL('./fixtures/loading-store-later.ts', import.meta.url).href;
    // The first import: the quiet one, held at the module's gate.
    const first = resolveTaskRef({ kind: 'module', url: urlA, index: 0, name: 'gatedQuiet' }, true);
    await atGate;
    assert.equal(_madeLoadingStore(), false);
    // A background import (a revived Barrier's action) comes and goes meanwhile.
    const later = await resolveTaskRef({ kind: 'module', url: urlB, index: 0, name: 'later' });
    assert.equal(later(), 'later');
    const scope = holder.weftLaterScope as AsyncResource;
    // Still enabled: the first import is in flight.
    assert.equal(
      scope.runInAsyncScope(() => _loadingStoreValue()),
      urlB,
    );
    open();
    assert.equal((await first)(), 'quiet');
    assert.equal(loadingTaskModule(), null);
    // No import in flight: the storage is disabled, as after any other import. Seen through a
    // scope made while it was enabled only where Node's storage runs on async hooks (the kind
    // that costs the thread): Node's frame-based one (Node 24) clears a disabled store from the
    // current frame alone, and costs no promise hooks, enabled or not.
    if (storageOnHooks) {
      assert.equal(
        scope.runInAsyncScope(() => _loadingStoreValue()),
        undefined,
        'the storage was left enabled',
      );
    }
  } finally {
    delete (globalThis as { weftQuietGate?: unknown }).weftQuietGate;
    delete holder.weftLaterScope;
  }
});
