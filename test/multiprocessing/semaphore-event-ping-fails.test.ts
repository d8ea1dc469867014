/**
 * A thread the broker does not know yet pings it before it wakes waiters parked there through
 * the slab (an Event's set, a Semaphore's release: data-route.ts `knownBeforeWake`). A ping that
 * fails (the broker unreachable) does not stop the set or the release: the word is written and
 * the broker told all the same, as for a thread it knows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WAITERS } from '../../src/internal/process/lock-slab.js';
import { Event, Semaphore } from '../../src/multiprocessing/index.js';
import { roundTrip } from '../support/broker-messages.js';
import { firstWord } from '../support/first-word.js';
import { slabExpected } from '../support/slab.js';
import { slabWord } from '../support/slab-word.js';

/** Long enough for the broker to hear the post on a loaded machine; a wait that times out lost it. */
const PATIENCE = 20_000;

test('an Event set over parked waiters goes ahead when its ping fails', {
  skip: !slabExpected,
}, async () => {
  const ev = new Event();
  const waiting = ev.wait({ timeout: PATIENCE });
  await roundTrip();
  assert.notEqual((slabWord(ev) as number) & WAITERS, 0, 'the waiter is parked');
  const { out, code } = await firstWord(ev, 'set', 'pingFails');
  assert.equal(code, 0, out);
  assert.deepEqual(JSON.parse(out), { pings: 1 });
  assert.equal(ev.isSet(), true);
  assert.equal(await waiting, true, 'the parked waiter was never woken');
});

test('a Semaphore release over a parked waiter goes ahead when its ping fails', {
  skip: !slabExpected,
}, async () => {
  const sem = new Semaphore(0);
  const waiting = sem.acquire({ timeout: PATIENCE });
  await roundTrip();
  assert.notEqual((slabWord(sem) as number) & WAITERS, 0, 'the waiter is parked');
  const { out, code } = await firstWord(sem, 'release', 'pingFails');
  assert.equal(code, 0, out);
  assert.deepEqual(JSON.parse(out), { pings: 1 });
  assert.equal(await waiting, true, 'the parked waiter never got the permit');
  assert.equal(sem.getValue(), 0);
});
