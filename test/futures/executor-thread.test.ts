/**
 * ThreadPoolExecutor: the executor suite (executor-suite.ts), the tests of thread pools alone,
 * and the asyncio integration.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gather, getRunningLoop, run, wrapFuture } from '../../src/asyncio/index.js';
import { kLink } from '../../src/futures/future.js';
import { BrokenThreadPool, type Future, ThreadPoolExecutor } from '../../src/futures/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import { collect, executorSuite } from './executor-suite.js';
import { add, hog, inc, sleepThen } from './fixtures/tasks.js';

checkLeaks({ graceMs: 3000 });

executorSuite({
  name: 'ThreadPoolExecutor',
  make: (o = {}) => new ThreadPoolExecutor(o),
  Broken: BrokenThreadPool,
});

/**
 * A one-worker pool started before the tests (the leak check counts its worker), for the tests
 * below that need a pool and leave it as it was: a worker thread is slow to start.
 */
let shared: ThreadPoolExecutor;
before(async () => {
  shared = new ThreadPoolExecutor({ maxWorkers: 1 });
  await shared.submit(sleepThen, 1, 0);
});
after(async () => {
  await shared.shutdown();
});

describe('ThreadPoolExecutor only', () => {
  test('a call stolen and handed back to the same worker runs once after a forced cancel', async () => {
    // Worker A is left in one long gated call L with a long pending tail and its other slot
    // free; worker B goes idle and steals half of that tail, and the dispatch sends part of it
    // back to A's free slot — so those calls sit in both of A's batches. A forced cancel of L
    // re-queues A's unfinished calls: each must run exactly once (counted in shared memory).
    // Calls: 0 and 1 hold a worker each; L = 2; then a gated tail for A and an ungated share
    // for B (an even share each: the queue is long).
    const L = 2;
    const TAIL = 150;
    const N = L + 1 + 2 * TAIL;
    const counts = new Int32Array(new SharedArrayBuffer(4 * N));
    const gates = new Int32Array(new SharedArrayBuffer(4 * N));
    const release = (idx: number[]): void => {
      for (const i of idx) {
        Atomics.store(gates, i, 1);
        Atomics.notify(gates, i);
      }
    };
    const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
    try {
      await Promise.all([0, 1].map(() => ex.submit(sleepThen, 200, 0)));
      const work = (i: number, gated: boolean, c: Int32Array, g: Int32Array): number => {
        Atomics.add(c, i, 1);
        if (gated) Atomics.wait(g, i, 0);
        return i;
      };
      // Where the engine has each call: "<worker>/<slot>", or "-" while queued or done.
      const place = (f: unknown): string => {
        const it = (f as { [kLink]: { w: { name: string } | null; slot: number } | null })[kLink];
        return it?.w ? `${it.w.name}/${it.slot}` : '-';
      };
      const fs: Future<number>[] = [0, 1].map((i) => ex.submit(work, i, true, counts, gates));
      await until(() => fs.every((f) => f.running()), 'one call running on each worker');
      for (let i = L; i < N; i++) fs.push(ex.submit(work, i, i <= L + TAIL, counts, gates));
      await until(() => place(fs[L]) !== '-', 'L sent to a worker');
      const A = place(fs[L]).split('/')[0] as string;
      const where = (pred: (p: string) => boolean) =>
        [...Array(N).keys()].filter((i) => pred(place(fs[i])));
      const tailOfA = [...Array(TAIL).keys()].map((j) => L + 1 + j);
      assert.deepEqual(
        where((p) => p === `${A}/1`),
        [L, ...tailOfA],
        "L and its tail in A's slot 1",
      );
      const holdsA = where((p) => p === `${A}/0`);
      const holdsB = [0, 1].filter((i) => !holdsA.includes(i));
      release(holdsA); // A ends its slot 0 and starts L
      await until(() => fs[L]?.running() === true, 'L running');
      release(holdsB); // B runs its ungated share, goes idle and steals half of A's tail
      await until(() => where((p) => p === `${A}/0`).length > 0, "stolen calls back in A's slot 0");
      await until(
        () => fs.some((f, i) => i > L + TAIL / 2 && i <= L + TAIL && f.running()),
        'B in a stolen gated call',
      );
      assert.equal((fs[L] as Future<number>).cancel({ force: true }), true);
      release([...Array(N).keys()]);
      await Promise.all(fs.filter((_, i) => i !== L));
      const twice = [...Array(N).keys()].filter((i) => i !== L && Atomics.load(counts, i) !== 1);
      assert.deepEqual(twice, [], 'calls that did not run exactly once');
    } finally {
      release([...Array(N).keys()]);
      await ex.shutdown();
    }
  });

  test("a finished future does not keep its call's arguments alive", async () => {
    let arg: Uint8Array | null = new Uint8Array(1024);
    const gone = new WeakRef(arg);
    const f = shared.submit((b: Uint8Array) => b.length, arg);
    arg = null;
    assert.equal(await f, 1024);
    await collect(gone, 5);
    assert.equal(gone.deref(), undefined, 'the finished future still holds its arguments');
    assert.equal(f.done(), true); // the future itself is still held here
  });

  test('finished futures kept after shutdown do not keep the pool alive', async () => {
    let ex: ThreadPoolExecutor | null = new ThreadPoolExecutor({ maxWorkers: 1 });
    // The engine holds the pool's shared-memory rings and its workers' records: a program that
    // keeps a list of results' futures must not keep those too.
    const engine = new WeakRef((ex as unknown as { engine: object }).engine);
    const kept = [ex.submit(add, 1, 2), ex.submit(add, 3, 4)];
    assert.deepEqual(await Promise.all(kept), [3, 7]);
    await ex.shutdown();
    ex = null;
    await collect(engine, 10);
    assert.equal(engine.deref(), undefined, 'a finished future still holds the pool engine');
    assert.deepEqual(await Promise.all(kept.map((f) => f.result())), [3, 7]);
  });

  test('a worker out of memory (resourceLimits) breaks the pool with the cause', async () => {
    const ex = new ThreadPoolExecutor({
      maxWorkers: 1,
      resourceLimits: { maxOldGenerationSizeMb: 32 },
    });
    try {
      const err = await ex.submit(hog).exception();
      assert.ok(err instanceof BrokenThreadPool, String(err));
      assert.match(String(((err as Error).cause as Error)?.message), /memory|exit code/i);
    } finally {
      await ex.shutdown();
    }
  });

  // helper-149: Node's Worker ignores a resourceLimits it does not understand, and an old
  // generation of 0 or less ends the worker at once: the pool ran unlimited, or broke at its
  // first call. 0 is Node's default for the other three fields (helper-152).
  test('bad resourceLimits are a TypeError or RangeError from the constructor', async () => {
    const bad: Array<[unknown, ErrorConstructor, RegExp]> = [
      [64, TypeError, /resourceLimits must be an object/],
      [{ maxOldGenSizeMb: 64 }, TypeError, /resourceLimits has no field "maxOldGenSizeMb"/],
      [{ maxOldGenerationSizeMb: '64' }, TypeError, /maxOldGenerationSizeMb must be a number/],
      [{ stackSizeMb: Number.NaN }, TypeError, /stackSizeMb must be a number/],
      [{ maxOldGenerationSizeMb: -1 }, RangeError, /must be greater than 0 .*: received -1/],
      [{ maxOldGenerationSizeMb: 0 }, RangeError, /must be greater than 0 .*: received 0/],
      [
        { stackSizeMb: -1 },
        RangeError,
        /stackSizeMb must be 0 \(Node's default\) or more: received -1/,
      ],
      // A stack too small for a worker's start-up ended the host process at the first submit
      // (Node 20: exit code 6 at 0.1 MB; helper-274).
      [
        { stackSizeMb: 0.1 },
        RangeError,
        /stackSizeMb must be 0 .* or at least 0\.5 .*: received 0\.1/,
      ],
      [{ stackSizeMb: 0.49 }, RangeError, /at least 0\.5 .*: received 0\.49/],
    ];
    for (const [resourceLimits, cls, message] of bad) {
      assert.throws(
        () => new ThreadPoolExecutor({ maxWorkers: 1, resourceLimits: resourceLimits as never }),
        (e: Error) => e instanceof cls && message.test(e.message),
        JSON.stringify(resourceLimits),
      );
    }
    // Accepted as before: every field of Node's, and none.
    for (const resourceLimits of [
      {},
      {
        maxYoungGenerationSizeMb: 16,
        maxOldGenerationSizeMb: 64,
        codeRangeSizeMb: 8,
        stackSizeMb: 4,
      },
      { stackSizeMb: 0.5 },
      { maxOldGenerationSizeMb: undefined },
    ]) {
      void new ThreadPoolExecutor({ maxWorkers: 1, resourceLimits }).shutdown();
    }
    // 0 is Node's default (a worker's own resourceLimits report codeRangeSizeMb: 0), and the
    // limits are copied: a change made after the constructor reaches no worker.
    const limits = { maxYoungGenerationSizeMb: 0, codeRangeSizeMb: 0, stackSizeMb: 0 };
    const ex = new ThreadPoolExecutor({ maxWorkers: 1, resourceLimits: limits });
    try {
      // Were it not copied, this would end the worker at once, out of memory.
      (limits as Record<string, unknown>).maxOldGenerationSizeMb = 1;
      assert.equal(await ex.submit(add, 2, 3).result({ timeout: 30_000 }), 5);
    } finally {
      await ex.shutdown();
    }
  });
});

describe('asyncio integration', () => {
  test('wrapFuture lets a concurrent future be gathered beside asyncio tasks', async () => {
    const r = await run(async () =>
      gather(wrapFuture(shared.submit(add, 1, 2)), wrapFuture(shared.submit(inc, 9))),
    );
    assert.deepEqual(r, [3, 10]);
  });

  test('runInExecutor(null, …) uses a default ThreadPoolExecutor', async () => {
    const r = await run(async () => {
      const loop = getRunningLoop();
      // run() closes the loop at its end, which shuts the default executor down (checkLeaks
      // fails the test on a worker left behind); closing it here would be closing a running loop.
      return loop.runInExecutor(null, add, 40, 2);
    });
    assert.equal(r, 42);
  });
});
