/**
 * The lost wake-up of a word that comes back to "free" (src/internal/shm/wait.ts): a waiter
 * reads the word free, another thread takes it first (the waiter's attempt fails), releases it
 * and notifies before the waiter parks; a park on "free" then sleeps with the lock free and
 * nobody left to wake it. It hung `npm run bench` (two threads, a million acquisitions a round).
 *
 * The interleaving is made deterministic here: the primitive's first attempts fail while its word
 * stays at the free value, exactly what the waiter sees when it loses that race. Without the fix
 * the wait parks on the free value and times out; with it the waiter tries again and gets in.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BoundedSemaphore, Lock, RLock, Semaphore } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { type Attempting, loseRaces } from '../support/lose-races.js';

checkLeaks();

/** More than the engine's initial attempt + spin, so the first park happens in the window. */
const LOST_RACES = 500;
/** Long enough for the buggy park to be obvious, short enough to fail fast. */
const TIMEOUT = 2_000;

type Primitive = Lock | RLock | Semaphore;

const makers: [string, () => Primitive][] = [
  ['Lock', () => new Lock()],
  ['RLock', () => new RLock()],
  ['Semaphore', () => new Semaphore(1)],
  ['BoundedSemaphore', () => new BoundedSemaphore(1)],
];

/** What the engine attempts: a lock's core, or the semaphore itself. */
function attempting(p: Primitive): Attempting {
  return p instanceof Semaphore ? (p as unknown as Attempting) : p._core;
}

for (const [name, make] of makers) {
  describe(`${name}: a waiter that lost the race for a free word`, () => {
    test('acquireSync tries again instead of parking on the free value', () => {
      const p = make();
      const lost = loseRaces(attempting(p), LOST_RACES);
      assert.equal(p.acquireSync({ timeout: TIMEOUT }), true);
      assert.equal(lost(), LOST_RACES);
    });

    test('acquire (async) tries again instead of parking on the free value', async () => {
      const p = make();
      const lost = loseRaces(attempting(p), LOST_RACES);
      assert.equal(await p.acquire({ timeout: TIMEOUT }), true);
      assert.equal(lost(), LOST_RACES);
    });
  });
}

test('a held Lock still parks, and wakes on release', async () => {
  // The other half of the rule: a value that blocks is parked on, and the release wakes it.
  const l = new Lock();
  l.acquireSync();
  const waiting = l.acquire({ timeout: 30_000 });
  setTimeout(() => l.release(), 20);
  assert.equal(await waiting, true);
  assert.equal(l.locked(), true);
  l.release();
});
