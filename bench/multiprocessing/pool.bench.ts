/**
 * multiprocessing `Pool(2)` against Python's `multiprocessing.Pool(2)` with the spawn start
 * method (weft's children are spawned too; mp_pool.py here). Both pools are warm: their two
 * workers have run calls before any clock starts, so a pool's start is not measured (a process
 * start is in the queue suite's "Process start" rows). Every round checks the sum of its
 * results (`f(x) = x + 1`, bench/futures/tasks.ts).
 *
 * - `map` of N trivial calls with the default chunksize (Python's rule: the items over 4 × the
 *   workers, rounded up — both implement it), and of N1 calls with chunksize 1.
 * - `applyAsync(f, [i]).get()` one call at a time, each waited for before the next: the round
 *   trip to a worker and back.
 *
 * The ProcessPoolExecutor side (submit, map with chunksize 1 and 1000, against Python's
 * concurrent.futures) is in bench/futures/executor.bench.ts; weft's Pool runs on the same engine.
 */
import { fileURLToPath } from 'node:url';
import { Pool } from 'weft/multiprocessing';
import { inc, pidOf } from '../futures/tasks.js';
import { type BenchSuite, bestOf, timed } from '../harness.js';

export const SCENARIOS = {
  mapDefault: 'Pool(2) map of N trivial calls, default chunksize',
  map1: 'Pool(2) map of N trivial calls, chunksize=1',
  apply: 'Pool(2) applyAsync(f, [x]).get(), one call at a time',
} as const;

function check(sum: number, n: number, who: string): void {
  if (sum !== (n * (n + 1)) / 2) throw new Error(`${who}: wrong sum ${sum} for ${n} calls`);
}

const inputs = new Map<number, number[]>();

/** The input list is built once, outside the timed rounds, as Python's `range(N)` costs nothing. */
function items(n: number): number[] {
  let xs = inputs.get(n);
  if (xs === undefined) inputs.set(n, (xs = Array.from({ length: n }, (_, i) => i)));
  return xs;
}

export const suite: BenchSuite = {
  name: 'multiprocessing-pool',
  title: 'weft/multiprocessing Pool vs Python multiprocessing.Pool (spawn)',
  async run(h) {
    const n = h.quick ? 10_000 : 100_000;
    // Python's Pool runs chunksize 1 at about 10 k calls/s here: a tenth as many serve.
    const n1 = n / 10;
    const m = h.quick ? 500 : 5_000;
    const runs = h.quick ? 1 : 3;
    {
      await using pool = new Pool(2);
      // Warm: both workers started and through calls (weft starts workers on demand, so the
      // second may still be booting after the first 100 calls on a loaded machine: wait until
      // both have answered), then one untimed pass of the largest map (V8 compiles the hot
      // paths of the parent and the workers; Python's side does the same pass).
      check(
        (await pool.map(inc, items(100), 1)).reduce((a, b) => a + b, 0),
        100,
        'warm-up',
      );
      const seen = new Set<number>();
      const warmUntil = performance.now() + 60_000;
      while (seen.size < 2 && performance.now() < warmUntil) {
        for (const pid of await pool.map(pidOf, items(20), 1)) seen.add(pid);
      }
      if (seen.size < 2) h.note(`warm-up: only ${seen.size} of weft's 2 workers answered in 60 s`);
      check(
        (await pool.map(inc, items(n))).reduce((a, b) => a + b, 0),
        n,
        'warm-up map',
      );
      const mapRun = async (k: number, chunksize: number | null): Promise<number> => {
        const xs = items(k);
        const t = performance.now();
        const r = await pool.map(inc, xs, chunksize);
        const seconds = (performance.now() - t) / 1000;
        check(
          r.reduce((a, b) => a + b, 0),
          k,
          `weft map chunksize=${chunksize}`,
        );
        return seconds;
      };
      const applyRun = async (): Promise<number> => {
        let s = 0;
        const t = performance.now();
        for (let i = 0; i < m; i++) s += await pool.applyAsync(inc, [i]).get();
        const seconds = (performance.now() - t) / 1000;
        check(s, m, 'weft applyAsync');
        return seconds;
      };
      const rows: [string, number, () => Promise<number>][] = [
        [SCENARIOS.mapDefault, n, () => mapRun(n, null)],
        [SCENARIOS.map1, n1, () => mapRun(n1, 1)],
        [SCENARIOS.apply, m, applyRun],
      ];
      for (const [scenario, k, run] of rows) {
        h.record(timed(scenario, 'weft', k, await bestOf(runs, run), 'calls/s'));
      }
      h.note(`weft's pool ran its calls on ${pool.pids().length} worker processes`);
    }
    await h.python(
      fileURLToPath(new URL('./mp_pool.py', import.meta.url)),
      [String(n), String(n1), String(m), String(runs)],
      (name) =>
        name.endsWith('chunksize=default')
          ? SCENARIOS.mapDefault
          : name.endsWith('chunksize=1')
            ? SCENARIOS.map1
            : name.endsWith('one-at-a-time')
              ? SCENARIOS.apply
              : null,
      'python',
    );
    h.note(
      `N = ${n} (default chunksize), N1 = ${n1} (chunksize 1), ${m} applyAsync calls; each figure is the best of ${runs} passes on one warm pool, weft's and Python's alike (Python's workers start in its constructor, weft's on demand; both pools first ran a map of 100 calls, then maps of 20 calls until both workers had answered, then one untimed map of N calls). Pool start is not measured.`,
    );
    h.note(
      "What differs: weft's Pool is the ProcessPoolExecutor engine (calls travel to the workers in batches, results come back in batches); Python's sends each chunk as one pickled message through a pipe and has handler threads move tasks and results.",
    );
  },
};
