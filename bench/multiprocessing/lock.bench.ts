/**
 * multiprocessing `Lock` against Python's `multiprocessing.Lock` (this repository's peer
 * bench/peers/python/mp_lock.py; no shared peer measures one):
 *
 * - uncontended: one process, n × acquire + release — `await acquire()` and `acquireSync()`.
 * - contended by 2 processes: each child does n/2 × acquire + release on one Lock once a start
 *   Event is set; the clock stops when both have exited (exit code 0 checked).
 *
 * What it shows: weft's Lock word lives in the lock slab, memory the processes of the tree share
 * (src/internal/process/lock-slab.ts), so a free lock is taken and released with a
 * compare-and-swap in the calling thread, as Python's POSIX semaphore is. A lock held by another
 * thread is watched for a moment, then waited for at the broker (a round trip over a Unix
 * socket), which hands it over to the parked threads in FIFO order. Neither lock is fair
 * overall: a process that releases and takes it again in a loop mostly keeps it, so the
 * contended rows count mostly compare-and-swaps, with the broker's hand-overs in between.
 */
import { Event, Lock, Process, Value } from 'weft/multiprocessing';
import { type BenchSuite, bestOf, timed } from '../harness.js';
import { runLocalPython } from '../peers/python.js';
import { lockWorker } from './targets.js';

export const SCENARIOS = {
  uncontended: 'Lock acquire+release (one process, uncontended)',
  contended: 'Lock contended by 2 processes',
  value: "Value('i') += 1 under its lock (one process)",
} as const;

/** Python's `with v.get_lock(): v.value += 1`, n times (`sync`: runSync; else run and await). */
async function valueIncrements(n: number, sync: boolean): Promise<number> {
  const v = Value('i', 0);
  const lock = v.getLock();
  const t = performance.now();
  if (sync) {
    for (let i = 0; i < n; i++) {
      lock.runSync(() => {
        v.value += 1;
      });
    }
  } else {
    for (let i = 0; i < n; i++) {
      await lock.run(() => {
        v.value += 1;
      });
    }
  }
  const seconds = (performance.now() - t) / 1000;
  if (v.value !== n) throw new Error(`the Value ends at ${v.value}, not ${n}`);
  return seconds;
}

async function uncontended(n: number, sync: boolean): Promise<number> {
  const lock = new Lock();
  // One round trip first: the broker and this thread's connections are up before the clock.
  await lock.acquire();
  lock.release();
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    if (sync) lock.acquireSync();
    else await lock.acquire();
    lock.release();
  }
  // The last release is sent, not waited for: a locked() answers after it.
  if (lock.locked()) throw new Error('the lock is still held');
  return (performance.now() - t) / 1000;
}

async function contended(n: number, sync: boolean): Promise<number> {
  const lock = new Lock();
  const go = new Event();
  const ps = [0, 1].map(
    () => new Process({ target: lockWorker, args: [lock, go, n / 2, sync], daemon: true }),
  );
  for (const p of ps) p.start();
  // Both children started and connected to the broker (as Python's peer sleeps 0.5 s).
  await new Promise((r) => setTimeout(r, 1500));
  const t = performance.now();
  go.set();
  for (const p of ps) await p.join();
  const seconds = (performance.now() - t) / 1000;
  for (const p of ps) if (p.exitcode !== 0) throw new Error(`a worker exited with ${p.exitcode}`);
  return seconds;
}

export const suite: BenchSuite = {
  name: 'multiprocessing-lock',
  title: 'weft/multiprocessing Lock and Value vs Python multiprocessing',
  async run(h) {
    const n1 = h.quick ? 100_000 : 1_000_000;
    const n2 = h.quick ? 20_000 : 200_000;
    const runs = h.quick ? 1 : 3;
    const rows: [string, string, number, () => Promise<number>][] = [
      [SCENARIOS.uncontended, 'weft await acquire()', n1, () => uncontended(n1, false)],
      [SCENARIOS.uncontended, 'weft acquireSync()', n1, () => uncontended(n1, true)],
      [SCENARIOS.contended, 'weft await acquire()', n2, () => contended(n2, false)],
      [SCENARIOS.contended, 'weft acquireSync()', n2, () => contended(n2, true)],
      [SCENARIOS.value, 'weft await lock.run()', n2, () => valueIncrements(n2, false)],
      [SCENARIOS.value, 'weft lock.runSync()', n2, () => valueIncrements(n2, true)],
    ];
    for (const [scenario, impl, n, run] of rows) {
      h.record(timed(scenario, impl, n, await bestOf(runs, run), 'ops/s'));
    }
    // Python's loops are far faster per operation: more of them, for a measurable time.
    await runLocalPython(
      h,
      'mp_lock.py',
      [String(h.quick ? 100_000 : 1_000_000), String(h.quick ? 100_000 : 1_000_000)],
      (name) =>
        name.endsWith('uncontended')
          ? SCENARIOS.uncontended
          : name.endsWith('contended2')
            ? SCENARIOS.contended
            : name.endsWith('locked_increment')
              ? SCENARIOS.value
              : null,
      'python',
    );
    h.note(
      "weft's Lock word is in memory the processes share (the lock slab): a free lock is taken with a compare-and-swap, as Python's POSIX semaphore is; one held by another thread is watched for a moment, then waited for at the broker (a round trip; the parked are served in FIFO order). Neither lock is fair overall: a process that takes it again in a loop mostly keeps it. No goal.",
    );
    h.note(
      "Value: weft's number is in the same shared memory (a slot of the lock slab), as Python's ctypes Value is; its lock is a slab lock.",
    );
    h.note('each weft figure is the best of 3 whole runs (1 with --quick)');
  },
};
