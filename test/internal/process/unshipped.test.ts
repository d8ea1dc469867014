/**
 * When a polled read of shared memory hands on what its thread queued for the broker
 * (src/internal/process/unshipped.ts): by the second read of a loop that works a millisecond or
 * more per read, and never at every read of a tight loop.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  markQueued,
  POLL_READS,
  setShip,
  setUnshipped,
  shipQueued,
  shipQueuedNow,
} from '../../../src/internal/process/unshipped.js';

/** Busy for `ms` (a read's loop doing work between reads). */
function work(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

/** Reads (with `ms` of work before each) until a shipment: how many it took. */
function readsUntilShipped(ms: number, limit: number): number {
  let shipped = false;
  setShip(() => {
    shipped = true;
    setUnshipped(0);
  });
  markQueued();
  for (let reads = 1; reads <= limit; reads++) {
    work(ms);
    shipQueued();
    if (shipped) return reads;
  }
  return Number.POSITIVE_INFINITY;
}

test('a poll doing milliseconds of work per read ships by its second read', () => {
  // The first look at the clock starts the wait; the second, a read later, finds it over.
  assert.equal(readsUntilShipped(2, 200), 2);
});

test('a tight poll looks at the clock ever less often, then every POLL_READS reads, and ships once', () => {
  let ships = 0;
  let looks = 0;
  const now = performance.now.bind(performance);
  // Counts the looks: each one reads the clock once.
  performance.now = () => {
    looks++;
    return now();
  };
  try {
    setShip(() => {
      ships++;
      setUnshipped(0);
    });
    markQueued();
    const start = now();
    let reads = 0;
    while (ships === 0) {
      shipQueued();
      reads++;
    }
    const elapsed = now() - start;
    assert.equal(ships, 1);
    // Looks after 1, 1, 2, 4, 8, 16, then every POLL_READS reads: far fewer than one per read.
    assert.ok(looks <= 6 + Math.ceil(reads / POLL_READS), `${looks} looks in ${reads} reads`);
    assert.ok(elapsed >= 1, 'shipped before the messages waited a millisecond');
    // Nothing queued any more: reads do nothing.
    for (let i = 0; i < 10 * POLL_READS; i++) shipQueued();
    assert.equal(ships, 1);
  } finally {
    performance.now = now;
  }
});

test('a shipment that throws does not fail the read, and the polls try again', () => {
  let tries = 0;
  setShip(() => {
    tries++;
    if (tries === 1) throw new Error('the sync client could not start (test)');
    setUnshipped(0);
  });
  markQueued();
  for (let i = 0; i < 4 * POLL_READS && tries < 2; i++) {
    work(0.1);
    shipQueued();
  }
  assert.equal(tries, 2);
});

test('shipQueuedNow ships at once when something is queued, and does nothing otherwise', () => {
  let ships = 0;
  setShip(() => {
    ships++;
    setUnshipped(0);
  });
  shipQueuedNow();
  assert.equal(ships, 0);
  markQueued();
  shipQueuedNow();
  assert.equal(ships, 1);
});
