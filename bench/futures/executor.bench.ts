/**
 * Executors side by side: weft's ThreadPoolExecutor and ProcessPoolExecutor against piscina,
 * tinypool and workerpool (2 threads each) and Python's concurrent.futures (the shared peers
 * thread_pool.py and process_pool.py). Every pool has 2 workers, already started; a round
 * submits N trivial tasks (`x + 1`) and collects every result, checking their sum — so a pool
 * that loses or duplicates a result fails the suite instead of posting a figure.
 *
 * weft collects the way a user does: `await` on each Future in submission order (Python's
 * `fu.result()` loop), or `for await` over `map`.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import Tinypool from 'tinypool';
import { type Executor, ProcessPoolExecutor, ThreadPoolExecutor } from 'weft/futures';
import workerpool from 'workerpool';
import type { BenchSuite } from '../harness.js';
import { inc } from './tasks.js';

export const SCENARIOS = {
  threadSubmit: 'thread pool (2): submit+result of N trivial tasks',
  threadMap: 'thread pool (2): map of N trivial tasks',
  threadMapChunked: 'thread pool (2): map chunksize=1000 of N trivial tasks',
  processSubmit: 'process pool (2): submit+result of N trivial tasks',
  processMap: 'process pool (2): map chunksize=1 of N trivial tasks',
  processMapChunked: 'process pool (2): map chunksize=1000 of N trivial tasks',
} as const;

const peerTask = fileURLToPath(new URL('./peer-task.mjs', import.meta.url));
const peerWorkerpool = fileURLToPath(new URL('./peer-workerpool.cjs', import.meta.url));

function check(sum: number, n: number, who: string): void {
  if (sum !== (n * (n + 1)) / 2) throw new Error(`${who}: wrong sum ${sum} for ${n} tasks`);
}

async function submitAll(ex: Executor, n: number): Promise<void> {
  const fs = new Array(n);
  for (let i = 0; i < n; i++) fs[i] = ex.submit(inc, i);
  let s = 0;
  for (const f of fs) s += await f;
  check(s, n, 'weft submit');
}

const inputs = new Map<number, number[]>();

async function mapAll(ex: Executor, n: number, chunksize: number): Promise<void> {
  // The input list is built once, outside the timed rounds: Python's peer maps over a lazy
  // `range(N)`, which costs nothing to create; reading it is timed on both sides.
  let xs = inputs.get(n);
  if (xs === undefined) inputs.set(n, (xs = Array.from({ length: n }, (_, i) => i)));
  let s = 0;
  for await (const v of ex.map(inc, [xs], { chunksize })) s += v;
  check(s, n, 'weft map');
}

async function viaPromises(
  run: (x: number) => Promise<number>,
  n: number,
  who: string,
): Promise<void> {
  const ps = new Array<Promise<number>>(n);
  for (let i = 0; i < n; i++) ps[i] = run(i);
  let s = 0;
  for (const p of ps) s += await p;
  check(s, n, who);
}

export const suite: BenchSuite = {
  name: 'futures-executor',
  title: 'weft/futures executors vs piscina, tinypool, workerpool and Python concurrent.futures',
  async run(h) {
    const n = h.quick ? 10_000 : 100_000;
    const unit = 'tasks/s';

    // ── threads ──
    {
      await using ex = new ThreadPoolExecutor({ maxWorkers: 2 });
      await Promise.all([ex.submit(inc, 0), ex.submit(inc, 1)]);
      await h.measure({
        scenario: SCENARIOS.threadSubmit,
        impl: 'weft',
        n,
        unit,
        fn: () => submitAll(ex, n),
      });
      await h.measure({
        scenario: SCENARIOS.threadMap,
        impl: 'weft',
        n,
        unit,
        fn: () => mapAll(ex, n, 1),
      });
      await h.measure({
        scenario: SCENARIOS.threadMapChunked,
        impl: 'weft',
        n,
        unit,
        fn: () => mapAll(ex, n, 1000),
      });
    }
    {
      const pool = new Piscina({ filename: peerTask, minThreads: 2, maxThreads: 2 });
      await Promise.all([pool.run(0), pool.run(1)]);
      await h.measure({
        scenario: SCENARIOS.threadSubmit,
        impl: 'piscina',
        n,
        unit,
        fn: () => viaPromises((x) => pool.run(x), n, 'piscina'),
      });
      await pool.destroy();
    }
    {
      const pool = new Tinypool({ filename: peerTask, minThreads: 2, maxThreads: 2 });
      await Promise.all([pool.run(0), pool.run(1)]);
      await h.measure({
        scenario: SCENARIOS.threadSubmit,
        impl: 'tinypool',
        n,
        unit,
        fn: () => viaPromises((x) => pool.run(x), n, 'tinypool'),
      });
      await pool.destroy();
    }
    {
      const pool = workerpool.pool(peerWorkerpool, {
        minWorkers: 2,
        maxWorkers: 2,
        workerType: 'thread',
      });
      await Promise.all([pool.exec('inc', [0]), pool.exec('inc', [1])]);
      await h.measure({
        scenario: SCENARIOS.threadSubmit,
        impl: 'workerpool',
        n,
        unit,
        fn: () =>
          viaPromises((x) => pool.exec('inc', [x]) as unknown as Promise<number>, n, 'workerpool'),
      });
      await pool.terminate();
    }
    await h.python(
      'python/prims/thread_pool.py',
      [String(n)],
      (name) =>
        name.endsWith('submit+result')
          ? SCENARIOS.threadSubmit
          : name.endsWith('.map')
            ? SCENARIOS.threadMap
            : null,
      'python',
    );

    // ── processes ──
    {
      await using ex = new ProcessPoolExecutor({ maxWorkers: 2 });
      await Promise.all([ex.submit(inc, 0), ex.submit(inc, 1)]);
      await h.measure({
        scenario: SCENARIOS.processSubmit,
        impl: 'weft',
        n,
        unit,
        fn: () => submitAll(ex, n),
      });
      await h.measure({
        scenario: SCENARIOS.processMap,
        impl: 'weft',
        n,
        unit,
        fn: () => mapAll(ex, n, 1),
      });
      await h.measure({
        scenario: SCENARIOS.processMapChunked,
        impl: 'weft',
        n,
        unit,
        fn: () => mapAll(ex, n, 1000),
      });
    }
    await h.python(
      'python/prims/process_pool.py',
      [String(n)],
      (name) =>
        name.endsWith('submit+result')
          ? SCENARIOS.processSubmit
          : name.endsWith('chunksize=1000')
            ? SCENARIOS.processMapChunked
            : name.endsWith('chunksize=1')
              ? SCENARIOS.processMap
              : null,
      'python',
    );
  },
};
