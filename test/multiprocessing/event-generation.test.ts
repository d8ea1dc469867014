/**
 * The broker's own set (a thread that reaches it without the slab, broker.ts `case 'set'`)
 * wakes the waiters parked before it by its generation, as a client's set told by message does:
 * another process's clear in the slab may land between its compare-and-swap and the waiters'
 * check, and a check of FLAG alone then left them parked (a lost wake-up).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerEvent } from '../../src/internal/process/broker-event.js';
import { EVENT_FLAG, WAITERS, wordIndex } from '../../src/internal/process/lock-slab.js';

test("the broker's set, then a slab clear before the waiters are checked: the waiter parked before the set wakes", () => {
  const slab = new Int32Array(new SharedArrayBuffer(4 * (wordIndex(0) + 8)));
  const i = wordIndex(0);
  const e = new BrokerEvent(slab, 0);
  const gen = e.arm();
  assert.notEqual(gen, null);
  let woken = 0;
  const waiter = { attempt: () => e.wakes(gen as number) };
  e.waiters.push(waiter as never);
  const pump = (list: typeof e.waiters) => {
    for (let k = 0; k < list.length; ) {
      if ((list[k] as unknown as typeof waiter).attempt()) {
        woken++;
        list.splice(k, 1);
      } else k++;
    }
  };
  const g = e.set();
  assert.equal(typeof g, 'number', 'set() returns the generation it made');
  Atomics.and(slab, i, ~EVENT_FLAG); // another process's clear() in the slab, just then
  e.wakeBefore(g as number, pump);
  e.settle(pump);
  assert.equal(woken, 1, 'the waiter parked before the set is still parked');
  assert.equal(Atomics.load(slab, i) & WAITERS, 0);
  assert.equal(e.set() === null, false);
  assert.equal(e.set(), null, 'a set of a set event makes no generation');
});
