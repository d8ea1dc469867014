import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancelledError } from '../../src/futures/index.js';
import { Pool, TimeoutError } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import {
  boom,
  mul,
  pidAfter,
  pidWhenGo,
  sleepMs,
  square,
  workerIdentity,
} from './fixtures/targets.js';

checkLeaks({ graceMs: 3000 });

describe('Pool', () => {
  let pool: Pool;
  before(async () => {
    pool = new Pool(2);
    // Start both children before the tests (the leak check counts them).
    await Promise.all([pool.apply(pidAfter, [100]), pool.apply(pidAfter, [100])]);
  });
  after(async () => {
    pool.close();
    await pool.join();
  });

  test('a map of many chunks joins their results in order, an uneven last chunk included', async () => {
    const xs = Array.from({ length: 1001 }, (_, i) => i);
    const squares = xs.map((x) => x * x);
    // The default chunksize: ceil(1001 / (2 workers × 4)) = 126, the last chunk 119.
    assert.deepEqual(await pool.map(square, xs), squares);
    assert.deepEqual(await pool.map(square, xs, 7), squares);
    assert.deepEqual(
      await pool.starmap(
        mul,
        xs.map((x) => [x, 3]),
        10,
      ),
      xs.map((x) => x * 3),
    );
  });

  test('apply, map, starmap return results in order', async () => {
    assert.equal(await pool.apply(mul, [6, 7]), 42);
    assert.deepEqual(await pool.map(square, [1, 2, 3, 4, 5]), [1, 4, 9, 16, 25]);
    assert.deepEqual(await pool.map(square, [1, 2, 3, 4, 5], 2), [1, 4, 9, 16, 25]);
    assert.deepEqual(
      await pool.starmap(mul, [
        [1, 2],
        [3, 4],
      ]),
      [2, 12],
    );
    assert.deepEqual(await pool.map(square, []), []);
  });

  test('map and imap with progress draw a bar on a terminal stream only', async () => {
    const chunks: string[] = [];
    const tty = { isTTY: true, columns: 100, write: (s: string) => chunks.push(String(s)) > 0 };
    const xs = Array.from({ length: 40 }, (_, i) => i);
    assert.deepEqual(
      await pool.map(square, xs, 7, { progress: { stream: tty } }),
      xs.map((x) => x * x),
    );
    assert.match(chunks.join(''), /40\/40/);
    assert.ok(chunks.join('').endsWith('\n'), 'the bar was stopped');
    chunks.length = 0;
    const got: number[] = [];
    for await (const v of pool.imap(square, xs, 5, { progress: { stream: tty } })) got.push(v);
    assert.deepEqual(
      got,
      xs.map((x) => x * x),
    );
    assert.match(chunks.join(''), /40\/40/);
    const pipe: string[] = [];
    await pool.map(square, xs, 7, {
      progress: { stream: { isTTY: false, write: (s: string) => pipe.push(s) > 0 } },
    });
    assert.deepEqual(pipe, []);
  });

  test('applyAsync calls callback or errorCallback in this process', async () => {
    const seen: unknown[] = [];
    const ok = pool.applyAsync(square, [9], null, { callback: (v) => seen.push(v) });
    const bad = pool.applyAsync(boom, [3], null, {
      errorCallback: (e) => seen.push((e as Error).message),
    });
    assert.equal(await ok.get(), 81);
    await bad.wait();
    assert.equal(bad.ready(), true);
    assert.equal(bad.successful(), false);
    await assert.rejects(bad.get(), TypeError);
    assert.deepEqual(seen.sort(), [81, 'no 3'].sort());
  });

  test('mapAsync and starmapAsync of no items are ready at once and never call back, as CPython', async () => {
    // CPython's MapResult of an empty iterable is ready in its constructor; its callback runs
    // only from the result handler, so it never runs. weft called it with [].
    const seen: unknown[] = [];
    const options = {
      callback: (v: unknown) => seen.push(['callback', v]),
      errorCallback: (e: unknown) => seen.push(['errorCallback', e]),
    };
    const rs = [
      pool.mapAsync(square, [], undefined, options),
      pool.starmapAsync(mul, [], 3, options),
    ];
    for (const r of rs) {
      assert.equal(r.ready(), true);
      assert.equal(r.successful(), true);
      assert.deepEqual(await r.get(), []);
    }
    // A call that does run calls back after them: nothing of the empty maps was merely late.
    await pool.mapAsync(square, [2], undefined, options).get();
    await until(() => seen.length > 0, 'the one-item map to call back');
    assert.deepEqual(seen, [['callback', [4]]]);
  });

  test('AsyncResult.get times out; successful() before ready throws', async () => {
    const r = pool.applyAsync(sleepMs, [200]);
    // Python's ValueError, which weft spells RangeError.
    assert.throws(() => r.successful(), RangeError);
    await assert.rejects(r.get({ timeout: 10 }), TimeoutError);
    await r.get();
  });

  test('map fails with the first error', async () => {
    await assert.rejects(pool.map(boom, [1, 2, 3, 4]), /no 3/);
  });

  test('imap keeps order; imapUnordered yields every result', async () => {
    const ordered: number[] = [];
    for await (const v of pool.imap(square, [3, 1, 2])) ordered.push(v);
    assert.deepEqual(ordered, [9, 1, 4]);
    const any: number[] = [];
    for await (const v of pool.imapUnordered(square, [1, 2, 3, 4], 2)) any.push(v);
    assert.deepEqual(
      any.sort((a, b) => a - b),
      [1, 4, 9, 16],
    );
  });

  test('a worker is not MainProcess: the guard the docs recommend is false there', async () => {
    // It was true, so a script guarded as the docs say started pools in its workers without end.
    const me = await pool.apply(workerIdentity, []);
    assert.equal(me.guard, false);
    assert.match(me.name, /^SpawnPoolWorker-\d+$/);
    assert.equal(me.daemon, true);
    assert.equal(me.parentPid, process.pid);
    assert.equal(me.parentName, 'MainProcess');
  });

  test('the same children serve many calls', async () => {
    const pids = new Set(await pool.map(pidAfter, [5, 5, 5, 5, 5, 5], 1));
    for (const pid of pids) assert.ok(pool.pids().includes(pid));
    assert.ok(pids.size <= 2);
  });

  test('bad input: a chunksize that is not a whole number >= 1 is a RangeError, at once', async () => {
    // 0 or a negative chunk size once looped for ever in the parent (out of memory); NaN
    // returned [] for any input.
    for (const bad of [0, -1, 1.5, Number.NaN, '2' as unknown as number]) {
      assert.throws(() => pool.mapAsync(square, [1, 2, 3], bad), RangeError, String(bad));
      await assert.rejects(pool.map(square, [1, 2, 3], bad), /chunksize must be an integer >= 1/);
      await assert.rejects(pool.starmap(mul, [[1, 2]], bad), RangeError);
      await assert.rejects(async () => {
        for await (const _ of pool.imapUnordered(square, [1, 2, 3], bad)) {
        }
      }, RangeError);
      await assert.rejects(async () => {
        for await (const _ of pool.imap(square, [1, 2, 3], bad)) {
        }
      }, RangeError);
    }
    // Still serving afterwards.
    assert.deepEqual(await pool.map(square, [1, 2, 3], 1), [1, 4, 9]);
  });
});

/**
 * A burst of `pidWhenGo` calls: which have started (call → pid of the child running it) and a
 * way to let each one finish.
 */
function burst(): {
  dir: string;
  started(): Map<number, number>;
  go(i: number): void;
  [Symbol.dispose](): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'weft-pool-burst-'));
  const go = (i: number) => writeFileSync(join(dir, `go-${i}`), '');
  return {
    dir,
    started: () =>
      new Map(
        readdirSync(dir)
          .filter((f) => f.startsWith('started-'))
          .map((f) => [Number(f.slice(8)), Number(readFileSync(join(dir, f), 'utf8'))]),
      ),
    go,
    // Disposed after the pool has joined: no child polls the directory any more.
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

describe('Pool dispatch', () => {
  for (const how of ['applyAsync', 'starmap with chunksize 1'] as const) {
    test(`${how}: a burst finding one idle child starts the second, one call on each`, async () => {
      // The one child up took all 8 calls in a batch; the second never started.
      const p = new Pool(2);
      using b = burst();
      try {
        const first = await p.apply(pidAfter, [0]);
        const all =
          how === 'applyAsync'
            ? Promise.all(
                Array.from({ length: 8 }, (_, i) => p.applyAsync(pidWhenGo, [b.dir, i]).get()),
              )
            : p.starmap(
                pidWhenGo,
                Array.from({ length: 8 }, (_, i) => [b.dir, i]),
                1,
              );
        await until(() => b.started().size >= 2, 'two calls started');
        const started = b.started();
        assert.deepEqual([...started.keys()].sort(), [0, 1]);
        assert.equal(started.get(0), first);
        assert.notEqual(started.get(1), first);
        for (let i = 0; i < 8; i++) b.go(i);
        const pids = await all;
        assert.deepEqual([...new Set(pids)].sort(), [...new Set(started.values())].sort());
      } finally {
        for (let i = 0; i < 8; i++) b.go(i);
        p.close();
        await p.join();
      }
    });
  }

  test('both children idle: a child that frees takes the next queued call, not the whole queue', async () => {
    // The child freed first was sent the 6 calls left (7 + 1): the other child, freed next,
    // had nothing to run while those waited behind a long call.
    const p = new Pool(2);
    using b = burst();
    try {
      await Promise.all([p.apply(pidAfter, [100]), p.apply(pidAfter, [100])]);
      const rs = Array.from({ length: 8 }, (_, i) => p.applyAsync(pidWhenGo, [b.dir, i]));
      await until(() => b.started().size >= 2, 'two calls started');
      assert.deepEqual([...b.started().keys()].sort(), [0, 1]);
      b.go(0);
      await rs[0]?.get();
      await until(() => b.started().size >= 3, 'the third call started');
      b.go(1);
      await rs[1]?.get();
      await until(() => b.started().size >= 4, 'the fourth call started');
      const started = b.started();
      assert.deepEqual([...started.keys()].sort(), [0, 1, 2, 3]);
      assert.equal(started.get(2), started.get(0));
      assert.equal(started.get(3), started.get(1));
      assert.notEqual(started.get(0), started.get(1));
      for (let i = 0; i < 8; i++) b.go(i);
      await Promise.all(rs.map((r) => r.get()));
    } finally {
      for (let i = 0; i < 8; i++) b.go(i);
      p.close();
      await p.join();
    }
  });
});

describe('Pool lifecycle', () => {
  test('join before close is an error; calls after close are refused', async () => {
    const p = new Pool(1);
    // Python's ValueError, which weft spells RangeError.
    await assert.rejects(p.join(), RangeError);
    p.close();
    assert.throws(() => p.applyAsync(square, [1]), RangeError);
    await p.join();
  });

  test('terminate ends running calls; await using terminates', async () => {
    let r: ReturnType<Pool['applyAsync']>;
    {
      await using p = new Pool(1);
      r = p.applyAsync(sleepMs, [5000]);
      await new Promise((res) => setTimeout(res, 50));
    }
    await assert.rejects(r.get(), CancelledError);
  });

  test('terminate with calls running and queued: every one fails, no process starts again', async () => {
    const p = new Pool(2);
    assert.equal(await p.apply(square, [3]), 9); // the workers are up: the calls below go out
    const rs = Array.from({ length: 6 }, () => p.applyAsync(sleepMs, [5000]));
    await new Promise((res) => setTimeout(res, 100));
    p.terminate();
    await p.join(); // would wait for ever on a worker started again for a call handed back
    for (const r of rs) await assert.rejects(r.get(), CancelledError);
  });

  test('bad input: zero processes', () => {
    assert.throws(() => new Pool(0), RangeError);
  });
});
