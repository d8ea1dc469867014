/**
 * The stress of the "no false deadlock reports" tests: asyncio tasks that each take a random
 * subset of some locks, always in index order (so no lock-order cycle is possible), with untimed
 * async acquires and yields between them, then release them all. Run it inside asyncio's
 * `run()`; it answers how many rounds took their locks and what every failed round raised.
 */
import { createTask, gather } from '../../src/asyncio/index.js';
import { outcome } from './seeded.js';

/** What the rounds take: a weft Lock or RLock of any module. */
export interface Takeable {
  acquire(): Promise<unknown>;
  release(): void;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `ntasks` tasks × `rounds` rounds over `locks`; each lock is in a round's subset with
 * probability `pick`, and a round that picked none takes `lone` (the first lock, or any one).
 */
export async function orderedRounds(
  locks: readonly Takeable[],
  rand: () => number,
  opts: { ntasks: number; rounds: number; pick: number; lone: 'first' | 'any' },
): Promise<{ ok: number; errors: string[] }> {
  let ok = 0;
  const errors: string[] = [];
  const tasks = [];
  for (let k = 0; k < opts.ntasks; k++) {
    tasks.push(
      createTask(async () => {
        for (let r = 0; r < opts.rounds; r++) {
          let chosen = locks.filter(() => rand() < opts.pick);
          if (chosen.length === 0) {
            const i = opts.lone === 'first' ? 0 : Math.floor(rand() * locks.length);
            chosen = [locks[i] as Takeable];
          }
          const held: Takeable[] = [];
          try {
            for (const l of chosen) {
              await l.acquire();
              held.push(l);
              if (rand() < 0.3) await pause(0);
            }
            ok++;
            if (rand() < 0.5) await pause(rand() < 0.5 ? 0 : 1);
          } catch (err) {
            errors.push(outcome(err));
          } finally {
            for (const l of held.reverse()) l.release();
          }
        }
      }),
    );
  }
  await gather(...tasks);
  return { ok, errors };
}
