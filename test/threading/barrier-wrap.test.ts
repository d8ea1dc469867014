/**
 * Barrier generations are 32-bit words that wrap. A waiter tells "broken" from "passed" by
 * BROKE_GEN === its generation + 1; at generation 2^31 − 1 that sum is 2^31, which no Int32
 * word can hold, so an abort at that generation looked like a pass: the waiter went on with its
 * index instead of BrokenBarrierError. (2^31 generations: a barrier passed a million times a
 * second gets there in 36 minutes.) And BROKE_GEN's initial 0 reads as "generation −1 broke":
 * after 2^32 − 1 passes, every wait of generation −1 threw BrokenBarrierError.
 *
 * (Since then a waiter reads its generation's own outcome bit instead of BROKE_GEN; the cases
 * stay, for the generations around the wrap.)
 *
 * Deterministic: the barrier is put at a generation next to the wrap (GEN, and COUNT's generation
 * bits, as src/threading/barrier.ts lays them out), then aborted while a party waits, or passed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Barrier, BrokenBarrierError } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const GEN = 0;
const COUNT = 1;

function atGeneration(b: Barrier, gen: number): void {
  Atomics.store(b._a, GEN, gen);
  // The generation's low 11 bits above the arrivals (20 bits) and the CAPABLE bit.
  Atomics.store(b._a, COUNT, ((gen & 0x7ff) << 21) | 0);
}

for (const gen of [0x7fffffff, -2]) {
  test(`an abort at generation ${gen} breaks the waiting party`, async () => {
    const b = new Barrier(2);
    atGeneration(b, gen);
    const waiting = b.wait({ timeout: 30_000 });
    assert.equal(b.nWaiting, 1);
    b.abort();
    await assert.rejects(waiting, BrokenBarrierError);
    b.reset();
    // And the barrier still passes afterwards, across the wrap.
    const [x, y] = await Promise.all([b.wait({ timeout: 30_000 }), b.wait({ timeout: 30_000 })]);
    assert.deepEqual([x, y].sort(), [0, 1]);
  });
}

test('a barrier passes through generations -1 and 0', async () => {
  // BROKE_GEN starts at 0, which reads as "generation -1 broke" to a waiter of generation -1.
  const b = new Barrier(2);
  atGeneration(b, -2);
  for (let round = 0; round < 3; round++) {
    const [x, y] = await Promise.all([b.wait({ timeout: 30_000 }), b.wait({ timeout: 30_000 })]);
    assert.deepEqual([x, y].sort(), [0, 1]);
  }
  assert.equal(b.broken, false);
});
