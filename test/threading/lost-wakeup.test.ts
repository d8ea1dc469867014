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
import { AGAIN } from '../../src/internal/shm/wait.js';
import { BoundedSemaphore, Lock, RLock, Semaphore } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** More than the engine's initial attempt + spin, so the first park happens in the window. */
const LOST_RACES = 500;
/** Long enough for the buggy park to be obvious, short enough to fail fast. */
const TIMEOUT = 2_000;

interface Attempting {
  attempt(): unknown;
}

/** Makes the first `n` attempts of `target` fail as if another thread won each race. */
function loseRaces(target: Attempting, n: number): () => number {
  const real = target.attempt.bind(target);
  let lost = 0;
  target.attempt = () => {
    if (lost < n) {
      lost++;
      return AGAIN;
    }
    return real();
  };
  return () => lost;
}

interface Subject {
  target: Attempting;
  sync(): boolean;
  async(): Promise<boolean>;
}

const makers: (readonly [string, () => Subject])[] = [
  ...[Lock, RLock].map(
    (Kind) =>
      [
        Kind.name,
        () => {
          const l = new Kind();
          return {
            target: l._core,
            sync: () => l.acquireSync({ timeout: TIMEOUT }),
            async: () => l.acquire({ timeout: TIMEOUT }),
          };
        },
      ] as const,
  ),
  ...[Semaphore, BoundedSemaphore].map(
    (Kind) =>
      [
        Kind.name,
        () => {
          const s = new Kind(1);
          return {
            target: s as unknown as Attempting,
            sync: () => s.acquireSync({ timeout: TIMEOUT }),
            async: () => s.acquire({ timeout: TIMEOUT }),
          };
        },
      ] as const,
  ),
];

for (const [name, make] of makers) {
  describe(`${name}: a waiter that lost the race for a free word`, () => {
    test('acquireSync tries again instead of parking on the free value', () => {
      const m = make();
      const lost = loseRaces(m.target, LOST_RACES);
      assert.equal(m.sync(), true);
      assert.equal(lost(), LOST_RACES);
    });

    test('acquire (async) tries again instead of parking on the free value', async () => {
      const m = make();
      const lost = loseRaces(m.target, LOST_RACES);
      assert.equal(await m.async(), true);
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
