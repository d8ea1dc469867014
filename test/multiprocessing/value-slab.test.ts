/**
 * A multiprocessing Value in the lock slab (src/internal/process/value-cell.ts): the move from
 * the broker to the cell as the broker comes up, bad numbers, adds past 2^53, and a Value the
 * slab has no room for. The tests run in this order in a fresh process (the first one needs a
 * broker that has not mapped the slab yet; the last fills the slab). Run again with
 * WEFT_LOCK_SLAB=0 by scripts/run-tests.mjs.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { brokerSync } from '../../src/internal/process/broker-sync.js';
import { newSlot, readySlab } from '../../src/internal/process/lock-slab.js';
import { Event, Value } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

const root = new URL('../../', import.meta.url).pathname;
const slabExpected =
  existsSync(`${root}native/shm/build/Release/weft_shm.node`) &&
  existsSync('/dev/shm') &&
  process.env.WEFT_LOCK_SLAB !== '0' &&
  process.env.WEFT_NO_NATIVE !== '1';

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
  // Made before this thread could know the broker's slab: served by the broker first.
  assert.equal(readySlab(), null, 'the first test of a fresh process');
  const ops = await blockingRequests(async () => {
    assert.equal(await v.add(1), 8);
    // Until the broker is up (with the slab, it says so in it; without, a round trip answers).
    for (let i = 0; i < 400 && readySlab() === null; i++) await new Event().wait({ timeout: 0 });
    assert.equal(readySlab() !== null, slabExpected);
    // The move to the cell waits for the add sent to the broker, without blocking.
    assert.equal(await v.get(), 8);
    await v.set(9);
    assert.equal(await v.add(1), 10);
  });
  assert.deepEqual(ops, [], 'no blocking round trip');
  assert.equal(v.value, 10);
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
