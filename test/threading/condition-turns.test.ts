/**
 * Two threads taking turns under one Condition, each waiting untimed until the turn is its own,
 * then handing it over and notifying (helper-278's benchmark hung here in every run). The
 * notifier often takes the lock back first, finds the turn is not its own and waits again: that
 * new wait must not take the wake-up granted to the thread that was already waiting (a notify
 * wakes only threads waiting when it is called). When it did, the waiting thread was never woken
 * and both parked for ever, after a turn or two.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Condition, Lock, Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { conditionTurns } from './fixtures/tasks.js';

checkLeaks();

const TURNS = 300;

async function takeTurns(parties: number, sync: boolean, cond: Condition): Promise<void> {
  const turn = new Int32Array(new SharedArrayBuffer(4));
  const done = new Int32Array(new SharedArrayBuffer(4 * parties));
  const threads = Array.from(
    { length: parties },
    (_, me) =>
      new Thread({
        target: conditionTurns,
        args: [me, parties, cond, turn, done, TURNS, sync],
        daemon: true,
      }),
  );
  for (const t of threads) t.start();
  // A lost wake-up parks them all for ever: the joins, side by side, give up after 60 s, well
  // inside the runner's 300 s bound for a test.
  await Promise.all(threads.map((t) => t.join({ timeout: 60_000 })));
  assert.deepEqual(
    { alive: threads.map((t) => t.isAlive()), done: Array.from(done) },
    { alive: threads.map(() => false), done: threads.map(() => TURNS) },
  );
}

for (const sync of [true, false]) {
  const how = sync ? 'waitSync' : 'await wait';
  for (const withLock of [false, true]) {
    test(`two threads take ${TURNS} turns each with ${how} on ${withLock ? 'a Lock' : 'the default RLock'}`, () =>
      takeTurns(2, sync, withLock ? new Condition(new Lock()) : new Condition()));
  }
  test(`three threads take ${TURNS} turns each in a ring with ${how} and notifyAll`, () =>
    takeTurns(3, sync, new Condition()));
}
