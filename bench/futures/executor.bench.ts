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
import { run as runAsyncio, toThread } from 'weft/asyncio';
import { type Executor, ProcessPoolExecutor, ThreadPoolExecutor } from 'weft/futures';
import workerpool from 'workerpool';
import { type BenchSuite, type Figure, goalTools, ratio } from '../harness.js';
import { inc } from './tasks.js';

export const SCENARIOS = {
  threadSubmit: 'thread pool (2): submit+result of N trivial tasks',
  threadMap: 'thread pool (2): map of N trivial tasks',
  threadMapChunked: 'thread pool (2): map chunksize=1000 of N trivial tasks',
  processSubmit: 'process pool (2): submit+result of N trivial tasks',
  processMap: 'process pool (2): map chunksize=1 of N trivial tasks',
  processMapChunked: 'process pool (2): map chunksize=1000 of N trivial tasks',
  toThread: 'to a thread and back, one call at a time (asyncio toThread)',
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

/** Interleaved passes over the thread-pool rows (a full run). */
const THREAD_PASSES = 3;

export const suite: BenchSuite = {
  name: 'futures-executor',
  title: 'weft/futures executors vs piscina, tinypool, workerpool and Python concurrent.futures',
  async run(h) {
    const n = h.quick ? 10_000 : 100_000;
    // The per-postMessage pools run 7-25k tasks/s here: a round of 100,000 took up to 15 s, and
    // every figure is measured in several passes. A rate is per task, so a tenth as many serve.
    const peerN = n / 10;
    const unit = 'tasks/s';
    h.note(
      `piscina, tinypool and workerpool rounds are ${peerN} tasks (weft's and Python's ${n}): they run at a few tens of thousands of tasks/s`,
    );

    // ── threads ──
    // The thread-pool rows (the goal of 10× Python sits near the line) are the medians of
    // interleaved passes over all of them, Python's included (see Harness.interleaved).
    h.note(
      `thread pools: every figure is the median of ${h.quick ? 1 : THREAD_PASSES} interleaved passes over all the thread-pool rows, Python's included (± is half the range of the passes); a goal's ratio is the median of the per-pass ratios`,
    );
    await h.interleaved(h.quick ? 1 : THREAD_PASSES, async () => {
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
          n: peerN,
          unit,
          fn: () => viaPromises((x) => pool.run(x), peerN, 'piscina'),
        });
        await pool.destroy();
      }
      {
        const pool = new Tinypool({ filename: peerTask, minThreads: 2, maxThreads: 2 });
        await Promise.all([pool.run(0), pool.run(1)]);
        await h.measure({
          scenario: SCENARIOS.threadSubmit,
          impl: 'tinypool',
          n: peerN,
          unit,
          fn: () => viaPromises((x) => pool.run(x), peerN, 'tinypool'),
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
          n: peerN,
          unit,
          fn: () =>
            viaPromises(
              (x) => pool.exec('inc', [x]) as unknown as Promise<number>,
              peerN,
              'workerpool',
            ),
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
    });

    // ── one call at a time: the latency of a round trip to a worker thread ──
    {
      const seqN = h.quick ? 2_000 : 20_000;
      h.note(
        `${SCENARIOS.toThread}: ${seqN} calls, each awaited before the next; python: asyncio.to_thread in one task (bench/futures/to_thread.py); piscina: await pool.run() one at a time`,
      );
      await runAsyncio(async () => {
        await toThread(inc, 0);
        await h.measure({
          scenario: SCENARIOS.toThread,
          impl: 'weft',
          n: seqN,
          unit: 'calls/s',
          fn: async () => {
            let s = 0;
            for (let i = 0; i < seqN; i++) s += await toThread(inc, i);
            check(s, seqN, 'weft toThread');
          },
        });
      });
      {
        const pool = new Piscina({ filename: peerTask, minThreads: 1, maxThreads: 1 });
        await pool.run(0);
        await h.measure({
          scenario: SCENARIOS.toThread,
          impl: 'piscina',
          n: seqN,
          unit: 'calls/s',
          fn: async () => {
            let s = 0;
            for (let i = 0; i < seqN; i++) s += (await pool.run(i)) as number;
            check(s, seqN, 'piscina sequential');
          },
        });
        await pool.destroy();
      }
      await h.python(
        fileURLToPath(new URL('./to_thread.py', import.meta.url)),
        [String(seqN)],
        (name) => (name === 'py.asyncio.to_thread.sequential' ? SCENARIOS.toThread : null),
        'python',
      );
    }

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
    for (const line of goals(h.figures)) h.note(line);
  },
};

/** The goals of issue 4 for executors, computed from this run's figures (never typed by hand). */
export function goals(figures: Figure[]): string[] {
  const out: string[] = [];
  const { fig, x, verdict } = goalTools(figures);
  const vsPython = (label: string, sc: string, need: number, pySc: string = sc): void => {
    const w = fig(sc, 'weft');
    const p = fig(pySc, 'python');
    if (w === undefined || p === undefined) return;
    const r = ratio(w, p);
    const goal = need === 1 ? 'ahead of python' : `≥ ${need}× python`;
    out.push(`goal ${label} ${goal}: ${verdict(need === 1 ? r > 1 : r >= need)} — ${x(r)}`);
  };
  vsPython('thread pool submit+result', SCENARIOS.threadSubmit, 10);
  vsPython('thread pool map', SCENARIOS.threadMap, 10);
  // Python's ThreadPoolExecutor.map takes a chunksize and ignores it: its map is the peer.
  vsPython(
    'thread pool map chunksize=1000 (python: its map)',
    SCENARIOS.threadMapChunked,
    10,
    SCENARIOS.threadMap,
  );
  vsPython('process pool submit+result', SCENARIOS.processSubmit, 3);
  vsPython('process pool map chunksize=1000', SCENARIOS.processMapChunked, 1);
  // Not a goal of the issue: how toThread's round trip compares (a line, never a verdict).
  const tw = fig(SCENARIOS.toThread, 'weft');
  const tp = fig(SCENARIOS.toThread, 'python');
  const tpi = fig(SCENARIOS.toThread, 'piscina');
  if (tw !== undefined && (tp !== undefined || tpi !== undefined)) {
    const parts = [
      tp !== undefined ? `${x(ratio(tw, tp))} python's asyncio.to_thread` : null,
      tpi !== undefined ? `${x(ratio(tw, tpi))} piscina` : null,
    ].filter((p) => p !== null);
    out.push(`toThread one call at a time: weft is ${parts.join(', ')}`);
  }
  const w = fig(SCENARIOS.threadSubmit, 'weft');
  const js = ['piscina', 'tinypool', 'workerpool']
    .map((impl) => fig(SCENARIOS.threadSubmit, impl))
    .filter((f): f is Figure => f !== undefined);
  if (w !== undefined && js.length > 0) {
    const best = js.reduce((a, b) => (ratio(w, b) < ratio(w, a) ? b : a));
    out.push(
      `thread pool submit+result: weft is ${x(ratio(w, best))} the fastest JavaScript pool, ${best.impl}`,
    );
  }
  return out;
}
