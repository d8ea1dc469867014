/**
 * A process that gives a Semaphore's permit back in the slab while a waiter is parked
 * and dies before its release of 0 reaches the broker: the permit sits in the slab with WAITERS
 * set. The waiter must still get it (the broker, told the session ended, serves the parked),
 * also when that release was its thread's first word to the broker (the thread makes itself
 * known first: data-route.ts `knownBeforeWake`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readySlab, WAITERS, wordIndex } from '../../src/internal/process/lock-slab.js';
import { Event, Process, Semaphore } from '../../src/multiprocessing/index.js';
import { roundTrip } from '../support/broker-messages.js';
import { firstWord } from '../support/first-word.js';
import { slabExpected } from '../support/slab.js';
import { slabWord } from '../support/slab-word.js';
import { releaseAndDie } from './fixtures/semaphore-death-targets.js';

/** Long enough for the broker to see the death on a loaded machine; an acquire that times out lost its permit. */
const PATIENCE = 20_000;

for (const first of [false, true]) {
  test(`a releaser dying between its compare-and-swap and its word to the broker${first ? ', its first word' : ''}`, {
    skip: !slabExpected,
  }, async () => {
    const sem = new Semaphore(0);
    await roundTrip();
    const waiting = sem.acquire({ timeout: PATIENCE });
    await roundTrip();
    assert.notEqual((slabWord(sem) as number) & WAITERS, 0, 'the waiter is parked');
    if (first) {
      // A process outside the tree (no session at all: any session's end would serve the waiter).
      const { out, signal } = await firstWord(sem, 'release', 'die');
      assert.equal(signal, 'SIGKILL', out);
    } else {
      const p = new Process({ target: releaseAndDie, args: [sem, new Event()] });
      p.start();
      await p.join({ timeout: 60_000 });
      assert.equal(p.exitcode, -9);
    }
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
}
