/**
 * weft/threading Lock against Python's threading.Lock and a bare SharedArrayBuffer futex mutex:
 * uncontended (one thread, acquire+release) and contended (2 threads, each doing half the
 * acquisitions around a shared increment). Issue 3's goal: acquireSync ≥ 2× Python and async
 * acquire ≥ Python, in both scenarios.
 */
import { Lock, Thread, Value } from '../../src/threading/index.js';
import type { BenchSuite, Figure, Harness } from '../harness.js';
import { newControl, runRound, stopRounds } from './control.js';
import { futexLock, futexUnlock } from './futex-mutex.js';
import { futexContender, weftAsyncContender, weftSyncContender } from './lock-tasks.js';

const UNCONTENDED = 'Lock acquire+release, uncontended (1 thread)';
const CONTENDED = 'Lock acquire+release, contended by 2 threads';

async function contended(
  h: Harness,
  impl: string,
  target: Function,
  args: (ctl: Int32Array) => unknown[],
  n: number,
  check: () => void,
): Promise<void> {
  const ctl = newControl();
  const threads = [0, 1].map(
    () => new Thread({ target: target as never, args: args(ctl), daemon: true }),
  );
  for (const t of threads) t.start();
  let finished = false;
  try {
    runRound(ctl, 10, 2);
    await h.measure({ scenario: CONTENDED, impl, n, fn: () => runRound(ctl, n / 2, 2) });
    check();
    finished = true;
  } finally {
    stopRounds(ctl);
    // After a hung round a thread may be parked for ever: joining it would hang the bench.
    // The threads are daemons; they end with the process.
    if (finished) for (const t of threads) await t.join();
  }
}

function copyAs(h: Harness, f: Figure | undefined, scenario: string): void {
  if (f) h.record({ ...f, scenario, name: `${f.impl}: ${scenario}` });
}

export const suite: BenchSuite = {
  name: 'threading-lock',
  title: 'weft/threading Lock vs Python threading.Lock and a bare SAB futex mutex',
  async run(h) {
    const n = h.quick ? 200_000 : 1_000_000;
    const lock = new Lock();
    await h.measure({
      scenario: UNCONTENDED,
      impl: 'weft acquireSync',
      n,
      fn: () => {
        for (let i = 0; i < n; i++) {
          lock.acquireSync();
          lock.release();
        }
      },
    });
    await h.measure({
      scenario: UNCONTENDED,
      impl: 'weft await acquire',
      n,
      fn: async () => {
        for (let i = 0; i < n; i++) {
          await lock.acquire();
          lock.release();
        }
      },
    });
    const m = new Int32Array(new SharedArrayBuffer(4));
    await h.measure({
      scenario: UNCONTENDED,
      impl: 'bare SAB futex mutex',
      n,
      fn: () => {
        for (let i = 0; i < n; i++) {
          futexLock(m, 0);
          futexUnlock(m, 0);
        }
      },
    });
    await h.python(
      'python/prims/lock_uncontended.py',
      [String(h.quick ? 1_000_000 : 5_000_000)],
      (name) => (name === 'py.threading.Lock.acquire+release' ? UNCONTENDED : null),
      'python threading.Lock',
    );

    const counter = Value('i', 0);
    await contended(
      h,
      'weft acquireSync',
      weftSyncContender,
      (ctl) => [ctl, lock, counter],
      n,
      () => {
        if (lock.locked()) throw new Error('lock left held');
      },
    );
    await contended(
      h,
      'weft await acquire',
      weftAsyncContender,
      (ctl) => [ctl, lock, counter],
      n,
      () => {},
    );
    const fm = new Int32Array(new SharedArrayBuffer(4));
    const fc = new Int32Array(new SharedArrayBuffer(4));
    await contended(
      h,
      'bare SAB futex mutex',
      futexContender,
      (ctl) => [ctl, fm, fc],
      n,
      () => {},
    );
    await h.python(
      'python/prims/lock_contended.py',
      [String(h.quick ? 400_000 : 2_000_000)],
      (name) => (name === 'py.threading.Lock.contended-2-threads' ? CONTENDED : null),
      'python threading.Lock',
    );
    void copyAs;
    h.note(
      'Contended: two weft threads (workers) each do n/2 acquire → counter++ → release per round; the threads are started once and park between rounds.',
    );
    h.note(
      'Python contention is GIL-mediated: its threads mostly run in 5 ms slices, so few acquisitions actually contend.',
    );
  },
};
