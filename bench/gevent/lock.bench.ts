/**
 * weft/gevent's Semaphore and RLock against gevent itself (Debian's python3-gevent):
 * `acquire()`+`release()` by one greenlet (uncontended), and a release→acquire hand-off between
 * two greenlets through two Semaphores of 0 (each releases the one the other waits on, then
 * waits on its own).
 *
 * weft runs as a gevent user writes it: greenlets spawned from the main program, no `run()`.
 * Every round checks its answer (the permits all back, the turns counted). The Python peer
 * (gevent_lock.py, next to this file) does the same work, one warm-up pass and one timed pass
 * per run; every figure, Python's included, is the median of interleaved passes.
 */
import { fileURLToPath } from 'node:url';
import { RLock, Semaphore, spawn } from '../../src/gevent/index.js';
import type { BenchSuite, Harness } from '../harness.js';

const UNCONTENDED = 'Semaphore acquire+release, uncontended, single greenlet';
const RLOCK = 'RLock acquire+release, uncontended, single greenlet';
const HANDOFF = 'Semaphore release→acquire hand-off between 2 greenlets';

const N_UNCONTENDED = 200_000;
const N_HANDOFF = 50_000;
const PASSES = 3;
const PEER = fileURLToPath(new URL('./gevent_lock.py', import.meta.url));

async function uncontended(n: number): Promise<void> {
  const sem = new Semaphore(1);
  await spawn(async () => {
    for (let i = 0; i < n; i++) {
      await sem.acquire();
      sem.release();
    }
  }).get();
  if (sem.counter !== 1) throw new Error(`a permit was lost: ${sem.counter}`);
}

async function rlock(n: number): Promise<void> {
  const lock = new RLock();
  await spawn(async () => {
    for (let i = 0; i < n; i++) {
      await lock.acquire();
      lock.release();
    }
  }).get();
  if (!(await lock.acquire({ blocking: false }))) throw new Error('the lock was left held');
  lock.release();
}

/** Two greenlets hand the turn to each other through two Semaphores: 2n hand-offs. */
async function handoffs(n: number): Promise<void> {
  const toB = new Semaphore(0);
  const toA = new Semaphore(0);
  let turns = 0;
  const b = spawn(async () => {
    for (let i = 0; i < n; i++) {
      await toB.acquire();
      turns++;
      toA.release();
    }
  });
  const a = spawn(async () => {
    for (let i = 0; i < n; i++) {
      toB.release();
      await toA.acquire();
      turns++;
    }
  });
  await a.get();
  await b.get();
  if (turns !== 2 * n || toA.counter !== 0 || toB.counter !== 0) {
    throw new Error(`the hand-off went wrong: ${turns} turns`);
  }
}

export const suite: BenchSuite = {
  name: 'gevent-lock',
  title: 'weft/gevent Semaphore and RLock vs gevent',
  async run(h: Harness) {
    h.note(
      `every figure is the median of ${h.quick ? 1 : PASSES} interleaved passes, gevent's included; weft's greenlets are spawned from the main program, as a gevent user does`,
    );
    const nu = h.quick ? N_UNCONTENDED / 10 : N_UNCONTENDED;
    const nh = h.quick ? N_HANDOFF / 10 : N_HANDOFF;
    await h.interleaved(h.quick ? 1 : PASSES, async () => {
      await h.measure({ scenario: UNCONTENDED, impl: 'weft', n: nu, fn: () => uncontended(nu) });
      await h.measure({ scenario: RLOCK, impl: 'weft', n: nu, fn: () => rlock(nu) });
      await h.measure({ scenario: HANDOFF, impl: 'weft', n: 2 * nh, fn: () => handoffs(nh) });
      await h.python(
        PEER,
        [String(nu), String(nh)],
        (name) =>
          name === 'py.gevent.Semaphore.uncontended'
            ? UNCONTENDED
            : name === 'py.gevent.RLock.uncontended'
              ? RLOCK
              : name === 'py.gevent.Semaphore.handoff'
                ? HANDOFF
                : null,
        'python gevent',
      );
    });
  },
};
