/**
 * A process that sets a multiprocessing Event in the slab while a waiter is parked, and dies
 * between its compare-and-swap and its word to the broker: the flag was set after the waiter
 * parked, so the waiter must return true (broker.ts onSessionEnd, broker-event.ts
 * `wakeSetSince`), even when a clear came before the broker saw the death.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WAITERS } from '../../src/internal/process/lock-slab.js';
import { Event, Process } from '../../src/multiprocessing/index.js';
import { roundTrip } from '../support/broker-messages.js';
import { firstWord } from '../support/first-word.js';
import { slabExpected } from '../support/slab.js';
import { slabWord } from '../support/slab-word.js';
import { until } from '../support/until.js';
import { setAndDie } from './fixtures/event-death-targets.js';

/** Long enough for the broker to see the death on a loaded machine; a wait that times out lost its wake-up. */
const PATIENCE = 20_000;

for (const [clearFirst, connected] of [
  [false, true],
  [true, true],
  [false, false],
  [true, false],
] as const) {
  test(`a setter dying between its compare-and-swap and its word to the broker${clearFirst ? ', the flag cleared before' : ''}${connected ? '' : ', its first word'}: the parked waiter returns true`, {
    skip: !slabExpected,
  }, async () => {
    const ev = new Event();
    const waiting = ev.wait({ timeout: PATIENCE });
    await roundTrip();
    assert.notEqual((slabWord(ev) as number) & WAITERS, 0, 'the waiter is parked');
    if (connected) {
      const p = new Process({ target: setAndDie, args: [ev, new Event(), clearFirst] });
      p.start();
      await p.join({ timeout: PATIENCE });
      assert.equal(p.exitcode, -9);
    } else {
      // A process outside the tree (no session at all: any session's end would wake the waiter).
      const { out, signal } = await firstWord(ev, 'set', clearFirst ? 'clearAndDie' : 'die');
      assert.equal(signal, 'SIGKILL', out);
    }
    assert.equal(ev.isSet(), !clearFirst);
    assert.equal(await waiting, true, 'the parked waiter was never woken');
    // Woken and gone: the next set sends the broker nothing.
    await until(() => ((slabWord(ev) as number) & WAITERS) === 0, 'WAITERS to clear', PATIENCE);
    // A waiter parked after the death waits for the next set, as before.
    ev.clear();
    assert.equal(await ev.wait({ timeout: 10 }), false);
    const later = ev.wait({ timeout: PATIENCE });
    await roundTrip();
    ev.set();
    assert.equal(await later, true);
  });
}
