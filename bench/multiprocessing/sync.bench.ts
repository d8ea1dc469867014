/**
 * multiprocessing Semaphore, Event, Condition and Barrier against Python's multiprocessing ones
 * (mp_sync.py here, spawn start method):
 *
 * - Semaphore(8) acquire + release in one process, uncontended.
 * - Event hand-off between 2 processes: two Events, ping and pong. The parent sets ping and
 *   waits for pong; the child waits for ping, clears it and sets pong; the parent clears pong.
 *   One round is two hand-offs.
 * - Condition notify → wait between 2 processes: one Condition and a turn number under its
 *   lock; each process waits until the turn is its own, gives it to the other and notifies.
 *   One round is two hand-offs.
 * - Barrier(2): the parent and one child each wait n times.
 *
 * The processes are started and through a first round before the clock starts (a start is in
 * the queue suite's "Process start" rows); the parent's clock covers n rounds. Each figure is
 * the best of a few whole runs, each checking the child's exit code. The weft rows come in two
 * forms, as the Lock's do: `await` (`acquire`, `wait`) and the blocking twins (`acquireSync`,
 * `waitSync`), the child using the same form as the parent.
 *
 * What differs: Python's four are POSIX semaphores in shared memory (an Event and a Condition
 * are built from several), taken and given in the calling thread. weft keeps a Semaphore's
 * count and an Event's flag in the shared lock slab (docs/multiprocessing.md, "Shared objects
 * and their cost"): a free permit or a set flag is taken in the calling thread; a wait that
 * must wait is parked at the broker, a round trip over its Unix socket, and a release or set
 * with waiters parked is a message sent without waiting. A Condition and a Barrier live in the
 * broker; the Condition's lock is a lock of the shared slab, as a Lock is.
 */
import { fileURLToPath } from 'node:url';
import { Barrier, Condition, Event, Process, Semaphore, Value } from 'weft/multiprocessing';
import { type BenchSuite, bestOf, timed } from '../harness.js';
import { barrierParty, eventPonger, takeTurns, turnTaker } from './sync-targets.js';

export const SCENARIOS = {
  semaphore: 'Semaphore(8) acquire+release (one process, uncontended)',
  event: 'Event ping-pong between 2 processes (round = set→wait there and back)',
  condition: 'Condition notify→wait between 2 processes (round = the turn there and back)',
  barrier: 'Barrier(2) between 2 processes (round = both pass once)',
} as const;

const PERMITS = 8;

async function semaphore(n: number, sync: boolean): Promise<number> {
  const s = new Semaphore(PERMITS);
  // One round trip first: the broker and this thread's connections are up before the clock.
  await s.acquire();
  s.release();
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    if (sync) s.acquireSync();
    else await s.acquire();
    s.release();
  }
  // getValue() answers after the releases this thread sent before it.
  const left = s.getValue();
  const seconds = (performance.now() - t) / 1000;
  if (left !== PERMITS) throw new Error(`the semaphore ends at ${left}, not ${PERMITS}`);
  return seconds;
}

async function joined(p: Process): Promise<void> {
  await p.join();
  if (p.exitcode !== 0) throw new Error(`the child exited with ${p.exitcode}`);
}

async function events(n: number, sync: boolean): Promise<number> {
  const ping = new Event();
  const pong = new Event();
  const p = new Process({ target: eventPonger, args: [ping, pong, n + 1, sync], daemon: true });
  p.start();
  const once = async (): Promise<void> => {
    ping.set();
    if (sync) pong.waitSync();
    else await pong.wait();
    pong.clear();
  };
  await once();
  const t = performance.now();
  for (let i = 0; i < n; i++) await once();
  const seconds = (performance.now() - t) / 1000;
  await joined(p);
  return seconds;
}

async function condition(n: number, sync: boolean): Promise<number> {
  const cond = new Condition();
  const turn = Value('i', 0);
  const p = new Process({ target: turnTaker, args: [cond, turn, 1, n + 1, sync], daemon: true });
  p.start();
  await takeTurns(cond, turn, 0, 1, sync);
  const t = performance.now();
  await takeTurns(cond, turn, 0, n, sync);
  // The child's last turn hands the turn back once more: the n-th round ends there.
  await cond.run(async () => {
    while (turn.value !== 0) await cond.wait();
  });
  const seconds = (performance.now() - t) / 1000;
  await joined(p);
  return seconds;
}

async function barrier(n: number, sync: boolean): Promise<number> {
  const b = new Barrier(2);
  const p = new Process({ target: barrierParty, args: [b, n + 1, sync], daemon: true });
  p.start();
  await b.wait();
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    if (sync) b.waitSync();
    else await b.wait();
  }
  const seconds = (performance.now() - t) / 1000;
  await joined(p);
  return seconds;
}

export const suite: BenchSuite = {
  name: 'multiprocessing-sync',
  title: 'weft/multiprocessing Semaphore, Event, Condition and Barrier vs Python multiprocessing',
  async run(h) {
    const nSem = h.quick ? 10_000 : 100_000;
    const n = h.quick ? 1_000 : 5_000;
    const runs = h.quick ? 1 : 3;
    const rows: [string, string, number, string, () => Promise<number>][] = [
      [SCENARIOS.semaphore, 'weft await acquire()', nSem, 'ops/s', () => semaphore(nSem, false)],
      [SCENARIOS.semaphore, 'weft acquireSync()', nSem, 'ops/s', () => semaphore(nSem, true)],
      [SCENARIOS.event, 'weft await wait()', n, 'rounds/s', () => events(n, false)],
      [SCENARIOS.event, 'weft waitSync()', n, 'rounds/s', () => events(n, true)],
      [SCENARIOS.condition, 'weft await wait()', n, 'rounds/s', () => condition(n, false)],
      [SCENARIOS.condition, 'weft waitSync()', n, 'rounds/s', () => condition(n, true)],
      [SCENARIOS.barrier, 'weft await wait()', n, 'rounds/s', () => barrier(n, false)],
      [SCENARIOS.barrier, 'weft waitSync()', n, 'rounds/s', () => barrier(n, true)],
    ];
    for (const [scenario, impl, count, unit, run] of rows) {
      h.record(timed(scenario, impl, count, await bestOf(runs, run), unit));
    }
    // Python's semaphore is taken in the calling thread: more operations, for a measurable time.
    await h.python(
      fileURLToPath(new URL('./mp_sync.py', import.meta.url)),
      [String(h.quick ? 100_000 : 1_000_000), String(n), String(runs)],
      (name) =>
        name.includes('.Semaphore(')
          ? SCENARIOS.semaphore
          : name.includes('.Event.')
            ? SCENARIOS.event
            : name.includes('.Condition.')
              ? SCENARIOS.condition
              : name.includes('.Barrier(')
                ? SCENARIOS.barrier
                : null,
      'python',
    );
    h.note(
      "Python's Semaphore, Event, Condition and Barrier are POSIX semaphores in shared memory (an Event, a Condition and a Barrier are built from several), taken and given in the calling thread. weft keeps a Semaphore's count and an Event's flag in the shared lock slab: a free permit or a set flag is taken in the calling thread, a wait that must wait is parked at the broker (a round trip over its Unix socket), and a release or set with waiters parked is a message sent without waiting. A Condition and a Barrier live in the broker; the Condition's lock is a lock of the shared slab, as a Lock is, and its wait is a broker round trip that releases and re-takes it. No goal.",
    );
    h.note(
      `processes are started and through a first round before the clock starts; the parent's clock covers n rounds (${n}); each figure is the best of ${runs} whole run(s); the child uses the same form (await or …Sync) as the parent; Python: spawn start method, its semaphore loop ${h.quick ? 100_000 : 1_000_000} operations`,
    );
  },
};
