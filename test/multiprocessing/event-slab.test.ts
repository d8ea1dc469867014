/**
 * multiprocessing Event with its flag in the lock slab (src/internal/process/lock-slab.ts,
 * broker-event.ts): isSet, clear, a set nobody waits for and a wait on a set flag stay in the
 * calling thread; waits on a clear flag are parked by the broker, which marks the word while any
 * is parked. The runner runs this file again with WEFT_LOCK_SLAB=0, where the broker serves
 * every call.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { broker } from '../../src/internal/process/broker-client.js';
import { genBefore, setWord } from '../../src/internal/process/broker-event.js';
import { brokerSync } from '../../src/internal/process/broker-sync.js';
import { EVENT_FLAG, EVENT_GEN, readySlab, WAITERS } from '../../src/internal/process/lock-slab.js';
import { Event, Process, Queue, RawValue } from '../../src/multiprocessing/index.js';
import { Thread } from '../../src/threading/index.js';
import { brokerMessages, roundTrip } from '../support/broker-messages.js';
import { checkLeaks } from '../support/leaks.js';
import { slabExpected } from '../support/slab.js';
import { slabWord } from '../support/slab-word.js';
import {
  loopWaiter,
  parkAndStay,
  parkedWaiter,
  raceSetter,
  raceWaiter,
  ringMember,
  setAfter,
  setThenPoll,
  toggler,
} from './fixtures/event-slab-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 30_000;
const EVENT_OPS = new Set(['set', 'clear', 'isSet', 'wait']);

/** Counts the Event messages this thread sends to the broker while `fn` runs. */
function eventMessages(fn: () => Promise<void> | void): Promise<number> {
  return brokerMessages((o) => EVENT_OPS.has(o), fn);
}

/** The word's WAITERS bit, or null without a slab. */
function waitersBit(ev: Event): boolean | null {
  const w = slabWord(ev);
  return w === null ? null : (w & WAITERS) !== 0;
}

/** Resolves once `ev`'s WAITERS bit is clear (the broker has dropped every waiter). */
async function waitersGone(ev: Event): Promise<void> {
  const until = Date.now() + PATIENCE;
  while (waitersBit(ev) === true) {
    assert.ok(Date.now() < until, 'WAITERS stayed set with no waiter parked');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('the word', () => {
  test('a set moves the generation on; older generations come before newer ones, across the wrap', () => {
    const w = setWord(0);
    assert.equal(w & EVENT_FLAG, EVENT_FLAG);
    assert.equal(w & EVENT_GEN, 2);
    assert.equal(setWord(WAITERS) & WAITERS, WAITERS, 'WAITERS is kept');
    const top = EVENT_GEN; // the last generation before the wrap
    assert.equal(setWord(top) & EVENT_GEN, 0, 'the generation wraps to 0');
    assert.equal(genBefore(top, 0), true);
    assert.equal(genBefore(0, top), false);
    assert.equal(genBefore(4, 6), true);
    assert.equal(genBefore(6, 6), false);
    assert.equal(genBefore(6, 4), false);
  });
});

describe('where the flag is read and written', () => {
  test('isSet, set, clear and a wait on a set flag send nothing to the broker when the slab is there', async () => {
    const ev = new Event();
    brokerSync(); // started before counting
    await roundTrip();
    assert.equal(readySlab() !== null, slabExpected);
    const N = 20;
    const sent = await eventMessages(async () => {
      for (let i = 0; i < N; i++) {
        assert.equal(ev.isSet(), false);
        ev.set();
        assert.equal(ev.isSet(), true);
        ev.set(); // a set of a set event
        assert.equal(await ev.wait(), true);
        assert.equal(ev.waitSync({ timeout: 0 }), true);
        assert.equal(await ev.wait({ timeout: 5 }), true);
        ev.clear();
        assert.equal(ev.isSet(), false);
      }
    });
    if (slabExpected) {
      assert.equal(sent, 0);
      assert.equal(slabWord(ev), (N * 2) & EVENT_GEN, 'clear, the generation counted, no WAITERS');
    } else assert.ok(sent >= N * 8, `${sent} messages`);
  });

  test('a wait on a clear flag goes to the broker, and answers false on timeout', async () => {
    const ev = new Event();
    await roundTrip();
    const sent = await eventMessages(async () => {
      assert.equal(await ev.wait({ timeout: 0 }), false);
      assert.equal(ev.waitSync({ timeout: 0 }), false);
      assert.equal(await ev.wait({ timeout: 20 }), false);
      assert.equal(ev.waitSync({ timeout: 20 }), false);
    });
    assert.equal(sent, 4);
    // The last waiter gone: WAITERS is clear again, so a set tells nobody.
    assert.notEqual(waitersBit(ev), true);
    assert.equal(await eventMessages(() => ev.set()), slabExpected ? 0 : 1);
    assert.equal(ev.isSet(), true);
  });

  test("isSet in a poll loop sees another process's set", async () => {
    const ev = new Event();
    const go = new Event();
    const p = new Process({ target: setAfter, args: [go, ev] });
    p.start();
    go.set();
    const until = Date.now() + PATIENCE;
    let polls = 0;
    const sent = await eventMessages(async () => {
      while (!ev.isSet()) {
        assert.ok(Date.now() < until, 'the set never showed');
        polls++;
        if (polls % 64 === 0) await new Promise((r) => setImmediate(r));
      }
    });
    if (slabExpected) assert.equal(sent, 0);
    else assert.equal(sent, polls + 1);
    await p.join({ timeout: PATIENCE });
    assert.equal(p.exitcode, 0);
    assert.equal(ev.isSet(), true);
  });

  test('a set made before the process ever yielded, then a poll of isSet: the set still reaches the broker', async () => {
    const a = new Event();
    const b = new Event();
    const out = new Queue<string>();
    const p = new Process({ target: setThenPoll, args: [a, b, out] });
    const woken = a.wait({ timeout: PATIENCE });
    await roundTrip(); // parked: the child's set finds WAITERS
    p.start();
    assert.equal(await woken, true);
    b.set();
    assert.equal(await out.get({ timeout: PATIENCE }), 'saw b');
    await p.join({ timeout: PATIENCE });
    assert.equal(p.exitcode, 0);
  });
});

describe('waiters', () => {
  test('every waiter parked when set() happens returns true, though clear() follows at once', async () => {
    const ev = new Event();
    await roundTrip();
    const ws = [ev.wait(), ev.wait({ timeout: PATIENCE }), ev.wait()];
    await roundTrip(); // all three parked
    if (slabExpected) assert.equal(waitersBit(ev), true);
    ev.set();
    ev.clear();
    assert.deepEqual(await Promise.all(ws), [true, true, true]);
    await roundTrip();
    assert.equal(ev.isSet(), false);
    assert.notEqual(waitersBit(ev), true, 'WAITERS goes with the last waiter');
  });

  test('a waiter parked after a set and a clear is not woken by that set', async () => {
    const ev = new Event();
    await roundTrip();
    const first = ev.wait();
    await roundTrip();
    ev.set();
    const gen = (slabWord(ev) ?? 0) & EVENT_GEN;
    ev.clear();
    assert.equal(await first, true);
    let answered = false;
    const second = ev.wait({ timeout: PATIENCE }).then((v) => {
      answered = true;
      return v;
    });
    await roundTrip();
    if (slabExpected) {
      // The set's word arriving late (as it may from another process): the waiter stays.
      broker().post('set', ev._id, [gen]);
      await roundTrip();
      assert.equal(answered, false);
      assert.equal(waitersBit(ev), true);
    }
    ev.set();
    assert.equal(await second, true);
  });

  test('withdrawing a waiter (an aborted signal) leaves the others parked; WAITERS goes with the last', async () => {
    const ev = new Event();
    await roundTrip();
    const ac1 = new AbortController();
    const ac2 = new AbortController();
    const w1 = ev.wait({ signal: ac1.signal });
    const w2 = ev.wait({ signal: ac2.signal });
    await roundTrip();
    ac1.abort(new Error('gone'));
    await assert.rejects(w1, /gone/);
    await roundTrip();
    if (slabExpected) assert.equal(waitersBit(ev), true, 'one waiter is still parked');
    ac2.abort(new Error('gone too'));
    await assert.rejects(w2, /gone too/);
    await roundTrip();
    assert.notEqual(waitersBit(ev), true);
    assert.equal(await eventMessages(() => ev.set()), slabExpected ? 0 : 1);
    // An aborted signal rejects even on a set flag.
    const ac3 = new AbortController();
    ac3.abort(new Error('before'));
    await assert.rejects(ev.wait({ signal: ac3.signal }), /before/);
  });

  test('a child killed while parked is dropped: WAITERS clears, the event goes on', async () => {
    const ev = new Event();
    const parked = new Queue<string>();
    const p = new Process({ target: parkAndStay, args: [ev, new Event(), parked] });
    p.start();
    assert.equal(await parked.get({ timeout: PATIENCE }), 'parked');
    if (slabExpected) assert.equal(waitersBit(ev), true);
    p.kill();
    await p.join({ timeout: PATIENCE });
    assert.equal(p.exitcode, -9);
    await waitersGone(ev);
    assert.equal(await eventMessages(() => ev.set()), slabExpected ? 0 : 1);
    assert.equal(await ev.wait(), true);
    ev.clear();
    assert.equal(await ev.wait({ timeout: 10 }), false);
  });
});

describe('processes and threads racing', () => {
  test('set then clear at once with waiters parked in two processes: every wait answers true, every round', async () => {
    const ev = new Event();
    const parked = new Queue<[number, number]>();
    const out = new Queue<string>();
    const R = 40;
    const ps = [0, 1].map(
      (who) => new Process({ target: parkedWaiter, args: [ev, new Event(), who, R, parked, out] }),
    );
    for (const p of ps) p.start();
    // A waiter may run a round ahead (its next wait finding the flag still set before this
    // thread's clear): each round waits for both to be parked in it or past it.
    const reached = [-1, -1];
    for (let r = 0; r < R; r++) {
      while (Math.min(...reached) < r) {
        const [who, round] = await parked.get({ timeout: PATIENCE });
        reached[who] = round;
      }
      ev.set();
      ev.clear();
    }
    assert.deepEqual(
      [await out.get({ timeout: PATIENCE }), await out.get({ timeout: PATIENCE })],
      [`all ${R} true`, `all ${R} true`],
    );
    for (const p of ps) await p.join({ timeout: PATIENCE });
    assert.deepEqual(
      ps.map((p) => p.exitcode),
      [0, 0],
    );
    assert.notEqual(waitersBit(ev), true);
  });

  test('sets landing as waits reach the broker, in two pairs of processes: none is lost', async () => {
    const R = 300;
    const out = new Queue<string>();
    const pairs = (['async', 'sync'] as const).map((how) => ({
      how,
      ev: new Event(),
      round: RawValue('i', -1),
    }));
    const ps = pairs.map(
      ({ ev, round }) => new Process({ target: raceSetter, args: [ev, round, R, out] }),
    );
    const [mine, theirs] = pairs as [(typeof pairs)[0], (typeof pairs)[0]];
    ps.push(new Process({ target: raceWaiter, args: [theirs.ev, theirs.round, R, 'sync', out] }));
    for (const p of ps) p.start();
    await raceWaiter(mine.ev, mine.round, R, 'async', out);
    const reports: string[] = [];
    for (let i = 0; i < 4; i++) reports.push(await out.get({ timeout: PATIENCE }));
    for (const p of ps) await p.join({ timeout: PATIENCE });
    assert.deepEqual(reports.sort(), [
      `setter: ${R}`,
      `setter: ${R}`,
      `waiter async: ${R}`,
      `waiter sync: ${R}`,
    ]);
    for (const { ev } of pairs) assert.notEqual(waitersBit(ev), true);
  });

  test('ping-pong between two processes, awaited here and blocking there: no hand-off is lost', async () => {
    // Every set finds the other side parked (WAITERS), and every wait follows a set.
    const ring = [new Event(), new Event()];
    const out = new Queue<string>();
    const R = 400;
    const p = new Process({ target: ringMember, args: [ring, 1, R, 'sync', out] });
    p.start();
    ring[0]?.set();
    await ringMember(ring, 0, R, 'async', out);
    const reports = [await out.get({ timeout: PATIENCE }), await out.get({ timeout: PATIENCE })];
    await p.join({ timeout: PATIENCE });
    assert.deepEqual(reports.sort(), [`async 0: ${R}`, `sync 1: ${R}`]);
    for (const e of ring) assert.notEqual(waitersBit(e), true);
  });

  test('a ring of Events across three processes and a thread: no hand-off is lost', async () => {
    const ring = [new Event(), new Event(), new Event(), new Event()];
    const out = new Queue<string>();
    const R = 60;
    const ps = [
      new Process({ target: ringMember, args: [ring, 1, R, 'async', out] }),
      new Process({ target: ringMember, args: [ring, 2, R, 'sync', out] }),
    ];
    const t = new Thread({ target: ringMember, args: [ring, 3, R, 'sync', out] });
    for (const p of ps) p.start();
    t.start();
    ring[0]?.set();
    await ringMember(ring, 0, R, 'async', out);
    const reports: string[] = [];
    for (let i = 0; i < 4; i++) reports.push(await out.get({ timeout: PATIENCE }));
    for (const p of ps) await p.join({ timeout: PATIENCE });
    await t.join();
    assert.deepEqual(reports.sort(), [
      `async 0: ${R}`,
      `async 1: ${R}`,
      `sync 2: ${R}`,
      `sync 3: ${R}`,
    ]);
    for (const e of ring) assert.notEqual(waitersBit(e), true);
  });

  test('two processes toggling, waiters in a process, a thread and this one: the last set wakes them all', async () => {
    const ev = new Event();
    const done = new Event();
    const out = new Queue<string>();
    const N = 300;
    const ps = [
      new Process({ target: toggler, args: [ev, done, N, out] }),
      new Process({ target: toggler, args: [ev, done, N, out] }),
      new Process({ target: loopWaiter, args: [ev, done, 'sync', out] }),
    ];
    const t = new Thread({ target: loopWaiter, args: [ev, done, 'sync', out] });
    for (const p of ps) p.start();
    t.start();
    await loopWaiter(ev, done, 'async', out);
    const reports: string[] = [];
    for (let i = 0; i < 5; i++) reports.push(await out.get({ timeout: PATIENCE }));
    for (const p of ps) await p.join({ timeout: PATIENCE });
    await t.join();
    assert.deepEqual(reports.sort(), [
      'async: done',
      'sync: done',
      'sync: done',
      'toggled',
      'toggled',
    ]);
    assert.equal(ev.isSet(), true, 'each toggler left it set');
    if (slabExpected) assert.equal(waitersBit(ev), false, 'no WAITERS left behind');
  });
});
