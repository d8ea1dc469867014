/**
 * A multiprocessing Value in the lock slab (src/internal/process/value-cell.ts): the move from
 * the broker to the cell as the broker comes up, bad numbers, adds past 2^53, and a Value the
 * slab has no room for. The tests run in this order in a fresh process (the first one needs a
 * broker that has not mapped the slab yet; the last fills the slab). Run again with
 * WEFT_LOCK_SLAB=0 by scripts/run-tests.mjs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brokerSync } from '../../src/internal/process/broker-sync.js';
import { newSlot, readySlab } from '../../src/internal/process/lock-slab.js';
import { Event, Process, Queue, Value } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { slabExpected } from '../support/slab.js';
import { readAfterEvent } from './fixtures/lock-slab-targets.js';

checkLeaks({ graceMs: 3000 });

/** The blocking requests this thread makes while `fn` runs. */
async function blockingRequests(fn: () => Promise<void>): Promise<string[]> {
  const sync = brokerSync();
  const request = sync.request;
  const ops: string[] = [];
  sync.request = (op, ...rest) => {
    ops.push(op);
    return request.call(sync, op, ...rest);
  };
  try {
    await fn();
  } finally {
    sync.request = request;
  }
  return ops;
}

test('a Value used before and after the broker maps the slab: its async calls never block the thread', async () => {
  const v = Value('i', 7, { lock: false });
  const w = Value('i', 3, { lock: false });
  // Made before this thread could know the broker's slab: served by the broker first.
  assert.equal(readySlab(), null, 'the first test of a fresh process');
  const ops = await blockingRequests(async () => {
    assert.equal(await v.add(1), 8);
    // Until the broker is up (with the slab, it says so in it; without, a round trip answers).
    for (let i = 0; i < 400 && readySlab() === null; i++) await new Event().wait({ timeout: 0 });
    assert.equal(readySlab() !== null, slabExpected);
  });
  assert.deepEqual(ops, [], 'no blocking round trip');
  // The move to the slab waits for the add sent to the broker: an async call starts it, and
  // synchronous reads meanwhile make one blocking round trip at most.
  const reads = await blockingRequests(async () => {
    const p = v.get();
    for (let i = 0; i < 200; i++) assert.equal(w.value, 3);
    assert.equal(await p, 8);
  });
  // (Without the slab every `.value` is a blocking round trip: documented.)
  if (slabExpected) assert.ok(reads.length <= 1, `${reads.length} blocking requests`);
  else assert.equal(reads.length, 200);
  const later = await blockingRequests(async () => {
    await v.set(9);
    assert.equal(await v.add(1), 10);
    assert.equal(await v.get(), 10);
  });
  assert.deepEqual(later, []);
  assert.equal(v.value, 10);
});

test("a Value's calls take effect in the order they are made", async () => {
  const w = Value('i', 0, { lock: false });
  const p = w.set(1);
  w.value = 2;
  await p;
  assert.equal(w.value, 2, 'set(1) then .value = 2');
  const u = Value('i', 0, { lock: false });
  const q = u.set(5);
  assert.equal(u.value, 5, 'set(5) then .value');
  await q;
  // A process woken by an Event set after an (unawaited) set() sees the number.
  const v = Value('i', 0, { lock: false });
  const [ready, ev] = [new Event(), new Event()];
  const out = new Queue<number>();
  const child = new Process({ target: readAfterEvent, args: [v, ready, ev, out] });
  child.start();
  assert.equal(await ready.wait({ timeout: 20_000 }), true);
  void v.set(5);
  ev.set();
  // Synchronous work after it, as a CPU loop would do.
  const until = Date.now() + 300;
  while (Date.now() < until);
  assert.equal(await out.get({ timeout: 20_000 }), 5);
  await child.join({ timeout: 20_000 });
  assert.equal(child.exitcode, 0);
});

test("a bad initial number is a TypeError, as Python's, and takes no slot", () => {
  const before = newSlot();
  assert.throws(() => Value('q', 1.5), TypeError);
  assert.throws(() => Value('Q', Number.NaN), TypeError);
  assert.throws(() => Value('i', 1.5), TypeError);
  const after = newSlot();
  if (slabExpected) assert.equal(after, before + 1, 'only these two probes took slots');
  else assert.deepEqual([before, after], [-1, -1]);
});

test('add() resolves to the number it stored, an n past 2^53 wrapped first (c_int)', async () => {
  const v = Value('i', 1, { lock: false });
  assert.equal(await v.add(2 ** 53), 1);
  assert.equal(v.value, 1);
  assert.equal(await v.add(-3), -2);
  const b = Value('b', 127, { lock: false });
  assert.equal(await b.add(300), -85);
  assert.equal(b.value, -85);
});

test('a Value the slab has no room for is served by the broker, without blocking async calls', async () => {
  await new Event().wait({ timeout: 0 });
  // As after 65,532 Locks and Values.
  while (newSlot() >= 0);
  const v = Value('i', 0, { lock: false });
  assert.equal(v._params.slot, -1);
  const ops = await blockingRequests(async () => {
    for (let i = 0; i < 20; i++) await v.add(1);
    assert.equal(await v.get(), 20);
  });
  assert.deepEqual(ops, []);
  assert.equal(v.value, 20);
});
