/**
 * lock.ts keeps, per thread, a record of the holds of each lock id (shared by every handle on
 * that id). A record goes when the last handle on its lock in the thread is collected and it
 * holds nothing: a program making many short-lived Locks, RLocks, Conditions and Values must not
 * keep one per lock for ever. One whose lock is still held stays, for a handle revived later.
 * The runner runs this file again with WEFT_LOCK_SLAB=0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run } from '../../src/asyncio/index.js';
import { Condition, Lock, RLock, Value } from '../../src/multiprocessing/index.js';
import { _holdsRecords } from '../../src/multiprocessing/lock.js';
import { roundTrip } from '../support/broker-messages.js';
import { collected, gc } from '../support/gc.js';
import { until } from '../support/until.js';

/**
 * Makes and uses `n` of each kind of lock, in a task and outside any; their handles go into
 * `keep`, so that they live until the caller drops them (a collection during the churn, as Node
 * 24's collector made in a run of this file, would take records before they are counted).
 */
async function churn(n: number, keep: object[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const lock = new Lock();
    keep.push(lock);
    await lock.acquire();
    lock.release();
    const r = new RLock();
    keep.push(r);
    r.acquireSync();
    await r.acquire();
    r.release();
    r.release();
    lock.runSync(() => {});
    const v = Value('i', 0);
    keep.push(v);
    v.getLock().runSync(() => {
      v.value += 1;
    });
    const c = new Condition();
    keep.push(c);
    await c.run(async () => {
      c.notifyAll();
      assert.equal(await c.wait({ timeout: 0 }), false);
    });
  }
  await run(async () => {
    for (let i = 0; i < n; i++) {
      const r = new RLock();
      keep.push(r);
      await r.run(async () => {
        await r.run(() => {});
      });
    }
  });
}

test('the records of dropped locks go: the count comes back to where it was', async () => {
  await roundTrip();
  const kept = new RLock();
  kept.acquireSync();
  const before = _holdsRecords();
  const handles: object[] = [];
  await churn(200, handles);
  assert.ok(_holdsRecords() >= before + 200, 'a record for each lock while its handles live');
  handles.length = 0;
  await until(() => {
    gc();
    return _holdsRecords() === before;
  }, `the records to come back to ${before} (now ${_holdsRecords()})`);
  // The lock still held keeps its record and its count.
  assert.equal(kept._heldHere(), true);
  kept.release();
  assert.equal(kept._heldHere(), false);
});

test('a lock held when its last handle goes keeps its record: a later handle releases it', async () => {
  await roundTrip();
  let ref: WeakRef<object> | null = null;
  let init: { id: string; params: Record<string, unknown> } | null = null;
  (() => {
    const lock = new RLock();
    lock.acquireSync();
    init = { id: lock._id, params: lock._params };
    ref = new WeakRef(lock);
  })();
  await collected(ref as unknown as WeakRef<object>, 'the only handle on the held lock');
  // Its record, if dropped, would make the new handle's release throw "not held".
  const again = RLock._revive(init as unknown as { id: string; params: Record<string, unknown> });
  assert.equal(again._heldHere(), true);
  again.release();
  assert.equal(again._heldHere(), false);
  assert.equal(again.locked(), false);
});
