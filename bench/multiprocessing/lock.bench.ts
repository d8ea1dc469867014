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
import { Event, Lock, Process, Array as SharedArrayOf, Value } from 'weft/multiprocessing';
import { type BenchSuite, bestOf, timed } from '../harness.js';
import { runLocalPython } from '../peers/python.js';
import { lockWorker } from './targets.js';

export const SCENARIOS = {
  uncontended: 'Lock acquire+release (one process, uncontended)',
  contended: 'Lock contended by 2 processes',
  value: "Value('i') += 1 under its lock (one process)",
  arrayItem: "Array('i', 64): write an item, read it back (one process)",
  arraySlice: "Array('d', 1000): read the whole slice (one process)",
} as const;

/** Items of the Array read whole by the slice rows (Python's `arr[:]`). */
const SLICE_ITEMS = 1000;

/** Python's `arr[i % 64] = i; x = arr[i % 64]`, n times (`sync`: setSync/getSync; else await). */
async function arrayItems(n: number, sync: boolean): Promise<number> {
  const a = SharedArrayOf('i', 64);
  let sum = 0;
  const t = performance.now();
  if (sync) {
    for (let i = 0; i < n; i++) {
      a.setSync(i & 63, i);
      sum += a.getSync(i & 63);
    }
  } else {
    for (let i = 0; i < n; i++) {
      await a.set(i & 63, i);
      sum += await a.get(i & 63);
    }
  }
  const seconds = (performance.now() - t) / 1000;
  if (sum !== (n * (n - 1)) / 2) throw new Error(`read back ${sum}, not ${(n * (n - 1)) / 2}`);
  return seconds;
}

/** Python's `arr[:]` of SLICE_ITEMS doubles, n times (`sync`: toArraySync; else await slice()). */
async function arraySlices(n: number, sync: boolean): Promise<number> {
  const a = SharedArrayOf(
    'd',
    Array.from({ length: SLICE_ITEMS }, (_, i) => i),
  );
  let sum = 0;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const items = sync ? a.toArraySync() : await a.slice();
    sum += items[SLICE_ITEMS - 1] as number;
  }
  const seconds = (performance.now() - t) / 1000;
  if (sum !== n * (SLICE_ITEMS - 1)) throw new Error(`read ${sum}, not ${n * (SLICE_ITEMS - 1)}`);
  return seconds;
}

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
  title: 'weft/multiprocessing Lock, Value and Array vs Python multiprocessing',
  async run(h) {
    const n1 = h.quick ? 100_000 : 1_000_000;
    const n2 = h.quick ? 20_000 : 200_000;
    const n3 = h.quick ? 2_000 : 20_000;
    const runs = h.quick ? 1 : 3;
    const rows: [string, string, number, () => Promise<number>][] = [
      [SCENARIOS.uncontended, 'weft await acquire()', n1, () => uncontended(n1, false)],
      [SCENARIOS.uncontended, 'weft acquireSync()', n1, () => uncontended(n1, true)],
      [SCENARIOS.contended, 'weft await acquire()', n2, () => contended(n2, false)],
      [SCENARIOS.contended, 'weft acquireSync()', n2, () => contended(n2, true)],
      [SCENARIOS.value, 'weft await lock.run()', n2, () => valueIncrements(n2, false)],
      [SCENARIOS.value, 'weft lock.runSync()', n2, () => valueIncrements(n2, true)],
      [SCENARIOS.arrayItem, 'weft await set()/get()', n2, () => arrayItems(n2, false)],
      [SCENARIOS.arrayItem, 'weft setSync()/getSync()', n2, () => arrayItems(n2, true)],
      [SCENARIOS.arraySlice, 'weft await slice()', n3, () => arraySlices(n3, false)],
      [SCENARIOS.arraySlice, 'weft toArraySync()', n3, () => arraySlices(n3, true)],
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
              : name.endsWith('item_rw')
                ? SCENARIOS.arrayItem
                : name.endsWith('slice1000')
                  ? SCENARIOS.arraySlice
                  : null,
      'python',
    );
    h.note(
      "weft's Lock word is in memory the processes share (the lock slab): a free lock is taken with a compare-and-swap, as Python's POSIX semaphore is; one held by another thread is watched for a moment, then waited for at the broker (a round trip; the parked are served in FIFO order). Neither lock is fair overall: a process that takes it again in a loop mostly keeps it. No goal.",
    );
    h.note(
      "Value: weft's number is in the same shared memory (a slot of the lock slab), as Python's ctypes Value is; its lock is a slab lock.",
    );
    h.note(
      "Array: weft's items are in a file of their own in /dev/shm that every process maps (src/internal/process/array-store.ts), as Python's are a ctypes array in shared memory; each write takes the Array's guard word and each read checks a sequence word, so every item and slice is read as of one instant. Python's synchronized Array takes its RLock for each access.",
    );
    h.note('each weft figure is the best of 3 whole runs (1 with --quick)');
  },
};
