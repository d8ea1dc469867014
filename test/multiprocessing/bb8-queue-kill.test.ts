/**
 * A process killed while it waits in a Queue's get() or put(): the queue goes on for the other
 * processes, and nothing is lost or invented. Python 3.11 ('fork' and 'spawn') is worse off
 * there — a process killed inside get() holds the queue's read lock, and every later get of any
 * process waits for ever — and loses the blocked put's item too, as weft does. No behaviour
 * change: these pin what docs/multiprocessing.md now says.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EOFError, Event, Pipe, Process, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { waitInGet, waitInPut } from './fixtures/bb8-targets.js';

checkLeaks({ graceMs: 3000 });

/**
 * Starts `target(q, ready, sync, end)`, waits for `ready`, lets its call reach the broker, kills
 * it, and waits until the broker has seen its session end (its Pipe end closed with it).
 */
async function killWhileWaiting(
  target: typeof waitInGet,
  q: Queue<unknown>,
  sync: boolean,
): Promise<void> {
  const ready = new Event();
  const [mine, theirs] = Pipe();
  const p = new Process({ target, args: [q, ready, sync, theirs] });
  p.start();
  theirs.close();
  assert.equal(await ready.wait({ timeout: 60_000 }), true);
  // The call is made right after set(); the broker holds it parked until the kill. Whether it
  // got there first or not, the outcome below must be the same.
  await new Promise((r) => setTimeout(r, 300));
  p.kill();
  await p.join({ timeout: 60_000 });
  assert.equal(p.exitcode, -9);
  await assert.rejects(mine.recv(), EOFError);
  mine.close();
}

describe('a process killed while it waits on a Queue', () => {
  for (const sync of [false, true]) {
    test(`in ${sync ? 'getSync' : 'get'}(): every item put afterwards reaches the other consumers`, async () => {
      const q = new Queue<unknown>();
      await killWhileWaiting(waitInGet, q, sync);
      for (let i = 0; i < 5; i++) await q.put(i);
      const got: unknown[] = [];
      for (let i = 0; i < 5; i++) got.push(await q.get({ timeout: 10_000 }));
      assert.deepEqual(got, [0, 1, 2, 3, 4]);
      assert.equal(q.qsize(), 0);
      q.close();
    });

    test(`in ${sync ? 'putSync' : 'put'}() on a full queue: its item is not put, the room is there`, async () => {
      const q = new Queue<unknown>(1);
      await q.put('first');
      await killWhileWaiting(waitInPut, q, sync);
      assert.equal(await q.get({ timeout: 10_000 }), 'first');
      await assert.rejects(q.get({ timeout: 300 }), { name: 'Empty' });
      await q.put('after', { timeout: 10_000 });
      assert.equal(q.qsize(), 1);
      assert.equal(await q.get({ timeout: 10_000 }), 'after');
      q.close();
    });
  }
});
