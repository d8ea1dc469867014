/**
 * A process that gives a Semaphore's permit back in the slab while a waiter is parked
 * and dies before its release of 0 reaches the broker: the permit sits in the slab with WAITERS
 * set. The waiter must still get it (the broker, told the session ended, serves the parked).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readySlab, wordIndex } from '../../src/internal/process/lock-slab.js';
import { Event, Process, Semaphore } from '../../src/multiprocessing/index.js';
import { roundTrip } from '../support/broker-messages.js';
import { slabExpected } from '../support/slab.js';
import { releaseAndDie } from './fixtures/semaphore-death-targets.js';

test('a releaser dying between its compare-and-swap and its word to the broker', {
  skip: !slabExpected,
}, async () => {
  const sem = new Semaphore(0);
  await roundTrip();
  const waiting = sem.acquire({ timeout: 10_000 });
  await roundTrip();
  const ready = new Event();
  const p = new Process({ target: releaseAndDie, args: [sem, ready] });
  p.start();
  await p.join({ timeout: 60_000 });
  assert.equal(p.exitcode, -9);
  const a = readySlab() as Int32Array;
  const w = Atomics.load(a, wordIndex(sem._params.slot as number));
  const got = await waiting;
  assert.equal(
    got,
    true,
    `the parked waiter never got the permit (word after the death: ${w.toString(16)}, value now ${sem.getValue()})`,
  );
  assert.equal(sem.getValue(), 0);
});
