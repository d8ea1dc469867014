/**
 * Pool against CPython's semantics, from the third bug-bash of the pool engine
 * (/tmp/bugbash3/pools, t12-t35): closing a broken pool, imap and close(), lazy imapUnordered,
 * starmap's argument lists, imap's errors, misuse errors, kwds, AsyncResult.get's options.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BrokenProcessPool, CancelledError } from '../../src/futures/index.js';
import { Pool, TimeoutError } from '../../src/multiprocessing/index.js';
import { collected } from '../support/gc.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';
import { failOrGate } from './fixtures/bb-pool-tasks.js';
import {
  add,
  addDefault,
  argCount,
  double,
  exitNow,
  failOn3,
  initFails,
} from './fixtures/pool-tasks.js';
import { pidAfter, sleepMs, workerIdentity } from './fixtures/targets.js';

checkLeaks({ graceMs: 3000 });

/** Reads `it` to the end with explicit next() calls, recording errors and going on after them. */
async function readAll(it: AsyncIterator<unknown>, max: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < max; i++) {
    try {
      const r = await it.next();
      out.push(r.done ? 'DONE' : r.value);
      if (r.done) break;
    } catch (e) {
      out.push(`ERR:${(e as Error).message}`);
    }
  }
  return out;
}

describe('Pool semantics (shared pool)', () => {
  let pool: Pool;
  before(async () => {
    pool = new Pool(2);
    await Promise.all([pool.apply(pidAfter, [100]), pool.apply(pidAfter, [100])]);
  });
  after(async () => {
    pool.close();
    await pool.join();
  });

  test('starmap spreads any iterable of arguments, as func(*args)', async () => {
    // Strings and typed arrays were taken by their length but not flattened: 'abundefined'.
    assert.deepEqual(await pool.starmap(add, ['ab', 'cd']), ['ab', 'cd']);
    assert.deepEqual(
      await pool.starmap(add, [new Int32Array([1, 2]), new Int32Array([3, 4])]),
      [3, 7],
    );
    assert.deepEqual(await pool.starmap(add, [new Set([1, 2]), new Set([3, 4])]), [3, 7]);
    function* pairs(): Generator<Iterable<number>> {
      yield [1, 2].values();
      yield [3, 4];
    }
    assert.deepEqual(await pool.starmap(add, pairs()), [3, 7]);
    // A hole is an argument (undefined), not skipped: flat() dropped it and shifted the rest.
    const holey = new Array<number>(3);
    holey[0] = 1;
    holey[2] = 3;
    assert.deepEqual(await pool.starmap(argCount, [holey, [4, 5, 6]], 2), [3, 3]);
    await assert.rejects(pool.starmap(add, [1 as unknown as number[]]), TypeError);
  });

  test('imap with chunksize 1 throws a failed call for its item and goes on, as IMapIterator', async () => {
    // The iteration ended at the error: [1, 2, 'ERR:bad 3', 'DONE'].
    assert.deepEqual(await readAll(pool.imap(failOn3, [1, 2, 3, 4, 5]), 7), [
      1,
      2,
      'ERR:bad 3',
      4,
      5,
      'DONE',
    ]);
    const unordered = await readAll(pool.imapUnordered(failOn3, [1, 2, 3, 4, 5]), 7);
    assert.equal(unordered.at(-1), 'DONE');
    assert.deepEqual(unordered.slice(0, -1).map(String).sort(), ['1', '2', '4', '5', 'ERR:bad 3']);
    // With chunks, a chunk fails whole and ends the iteration (Python's generator over chunks).
    const chunked = await readAll(pool.imap(failOn3, [1, 2, 3, 4, 5, 6], 2), 7);
    assert.deepEqual(chunked, [1, 2, 'ERR:bad 3', 'DONE']);
  });

  test('imapUnordered over an endless iterable yields at once, pulling a bounded window', async () => {
    // It pulled the whole iterable before yielding anything: this one throws past 50,000.
    let pulled = 0;
    function* endless(): Generator<number> {
      for (let i = 1; ; i++) {
        if (++pulled > 50_000) throw new Error('imapUnordered read past its window');
        yield i;
      }
    }
    const got: number[] = [];
    for await (const v of pool.imapUnordered(double, endless())) {
      got.push(v);
      if (got.length === 3) break;
    }
    assert.equal(got.length, 3);
    assert.ok(got.every((v) => v % 2 === 0));
    assert.ok(pulled < 50_000, `pulled ${pulled}`);
    // Chunks: lazy the same way.
    pulled = 0;
    const some: number[] = [];
    for await (const v of pool.imapUnordered(double, endless(), 7)) {
      some.push(v);
      if (some.length === 10) break;
    }
    assert.equal(some.length, 10);
  });

  test('imap and imapUnordered next({ timeout }) throw TimeoutError and the iteration goes on, as IMapIterator.next(timeout)', async () => {
    // Python's IMapIterator.next(timeout) raises multiprocessing.TimeoutError and stays usable;
    // weft's next() had no timeout at all.
    const root = mkdtempSync(join(tmpdir(), 'weft-imap-next-'));
    try {
      for (const kind of ['imap', 'imapUnordered'] as const) {
        const a = mkdtempSync(join(root, 'a-'));
        const b = mkdtempSync(join(root, 'b-'));
        const it = pool[kind](failOrGate, [a, b]);
        // Both calls wait for their gates: no result can arrive in time.
        await assert.rejects(it.next({ timeout: 50 }), (e: Error) => {
          assert.ok(e instanceof TimeoutError);
          assert.match(e.message, /IMapIterator\.next: no result within 50 ms/);
          return true;
        });
        await assert.rejects(it.next({ timeout: 0 }), TimeoutError);
        const ac = new AbortController();
        const aborted = it.next({ signal: ac.signal });
        ac.abort(new Error('stop waiting'));
        await assert.rejects(aborted, /stop waiting/);
        assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
        await assert.rejects(it.next({ signal: ac.signal }), /stop waiting/);
        await assert.rejects(it.next({ timeout: 'soon' as never }), TypeError);
        // The waits that ended took no result: every one comes, in its turn.
        writeFileSync(join(b, 'gate'), '');
        if (kind === 'imap') {
          await assert.rejects(it.next({ timeout: 50 }), TimeoutError);
          writeFileSync(join(a, 'gate'), '');
          assert.deepEqual(await it.next({ timeout: 30_000 }), { done: false, value: a });
          assert.deepEqual(await it.next(), { done: false, value: b });
        } else {
          assert.deepEqual(await it.next({ timeout: 30_000 }), { done: false, value: b });
          writeFileSync(join(a, 'gate'), '');
          assert.deepEqual(await it.next(), { done: false, value: a });
        }
        assert.equal((await it.next({ timeout: 30_000 })).done, true);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('imapUnordered answers overlapping next() calls in turn', async () => {
    const it = pool.imapUnordered(double, [1, 2, 3], 2);
    const rs = await settles(
      Promise.all([it.next(), it.next(), it.next(), it.next()]),
      'four overlapping next() calls',
    );
    assert.deepEqual(
      rs
        .slice(0, 3)
        .map((r) => r.value)
        .sort(),
      [2, 4, 6],
    );
    assert.equal(rs[3]?.done, true);
  });

  test('kwds reach the call as one trailing object; an empty one is no kwds', async () => {
    // {} arrived as an extra argument: addDefault(1, {}) gave '1[object Object]'.
    assert.equal(await pool.apply(addDefault, [1], {}), 11);
    assert.equal(await pool.applyAsync(argCount, [1, 2], {}).get(), 2);
    assert.equal(await pool.apply(argCount, [1, 2], { k: 1 }), 3);
    assert.equal(await pool.apply(argCount, [1, 2], null), 2);
    await assert.rejects(
      pool.apply(argCount, [], 7 as unknown as Record<string, unknown>),
      TypeError,
    );
  });

  test('AsyncResult: get takes { signal } and names itself on timeout; successful() before ready is a RangeError', async () => {
    const r = pool.applyAsync(sleepMs, [300]);
    assert.throws(
      () => r.successful(),
      (e: Error & { code?: string }) =>
        e instanceof RangeError && e.code === 'ERR_WEFT_NOT_READY' && /not ready/.test(e.message),
    );
    await assert.rejects(r.get({ timeout: 10 }), (e: Error) => {
      assert.ok(e instanceof TimeoutError);
      assert.match(e.message, /^AsyncResult\.get: /);
      return true;
    });
    const ac = new AbortController();
    const reason = new Error('stop waiting');
    const aborted = r.get({ signal: ac.signal });
    ac.abort(reason);
    await assert.rejects(aborted, (e) => e === reason);
    await assert.rejects(
      r.get({ signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
      'an aborted signal rejects even a wait that could answer',
    );
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
    // A wait that ends by the result leaves no listener on its signal either.
    const kept = new AbortController();
    assert.equal(await r.get({ signal: kept.signal }), undefined);
    assert.equal(getEventListeners(kept.signal, 'abort').length, 0);
    assert.equal(r.successful(), true);
    await assert.rejects(r.get({ signal: 'no' as unknown as AbortSignal }), TypeError);
  });
});

describe('Pool lifecycle (bug-bash 3)', () => {
  test('imap and imapUnordered dropped unread or after a read still run every call; join waits (as IMapIterator)', async () => {
    // Python's task handler submits the whole iterable whoever reads the IMapIterator. The
    // executor held its maps weakly: a dropped one ran its first window (8,200 calls) and
    // join ended without the rest.
    const pool = new Pool(2);
    const n = 9_000;
    const pulled = [0, 0, 0, 0];
    function* xs(k: number): Generator<number> {
      for (let i = 0; i < n; i++) {
        pulled[k] = (pulled[k] ?? 0) + 1;
        yield i;
      }
    }
    try {
      const gone = await (async () => {
        const refs: WeakRef<object>[] = [];
        for (const [k, reads] of [0, 1, 0, 1].entries()) {
          const it = k < 2 ? pool.imap(double, xs(k)) : pool.imapUnordered(double, xs(k));
          for (let r = 0; r < reads; r++) assert.equal((await it.next()).done, false);
          refs.push(new WeakRef(it));
        }
        return refs;
      })();
      for (const ref of gone) await collected(ref, 'the dropped iterator');
      pool.close();
      await pool.join();
      assert.deepEqual(pulled, [n, n, n, n]);
    } finally {
      pool.terminate();
      await pool.join();
    }
  });

  test('imap and imapUnordered made before close() give every result', async () => {
    const pool = new Pool(2);
    try {
      // Async generators: the state check and the first submission waited for the first next(),
      // which found the pool closed ("Pool not running").
      const ordered = pool.imap(double, [1, 2, 3, 4]);
      const unordered = pool.imapUnordered(double, [1, 2, 3, 4]);
      pool.close();
      const a: number[] = [];
      for await (const v of ordered) a.push(v);
      assert.deepEqual(a, [2, 4, 6, 8]);
      const b: number[] = [];
      for await (const v of unordered) b.push(v);
      assert.deepEqual(
        b.sort((x, y) => x - y),
        [2, 4, 6, 8],
      );
      // After close(), at the call (Python's ValueError), not at the first next().
      assert.throws(
        () => pool.imap(double, [1]),
        (e: Error & { code?: string }) =>
          e instanceof RangeError && e.code === 'ERR_WEFT_POOL_NOT_RUNNING',
      );
      assert.throws(() => pool.imapUnordered(double, [1]), RangeError);
    } finally {
      pool.close();
      await pool.join();
    }
  });

  test('close() part-way through a long imap: the imap goes on to the end and join waits for it', async () => {
    // 100 chunks: past the window of chunks in flight, so some are submitted after close().
    // It failed after the first window: "cannot schedule new futures after shutdown".
    const pool = new Pool(2);
    const xs = Array.from({ length: 10_000 }, (_, i) => i);
    let n = 0;
    let sum = 0;
    for await (const v of pool.imap(double, xs, 100)) {
      if (n++ === 0) pool.close();
      sum += v;
    }
    assert.equal(n, 10_000);
    assert.equal(sum, 10_000 * 9_999);
    await pool.join();
    assert.deepEqual(pool.pids(), []);
  });

  test('terminate() ends an imap that close() let run on; join still resolves', async () => {
    const pool = new Pool(1);
    function* many(): Generator<number> {
      for (let i = 0; i < 1_000_000; i++) yield i;
    }
    const it = pool.imap(sleepMs, many());
    pool.close();
    pool.terminate();
    await assert.rejects(it.next(), CancelledError);
    await settles(pool.join(), 'join after terminate');
  });

  test('misuse: join before close, apply after close reject; named after Pool options', async () => {
    assert.throws(
      () => new Pool(1, { maxtasksperchild: 0 }),
      (e: Error) => e instanceof RangeError && /^Pool: maxtasksperchild/.test(e.message),
    );
    // Uncloneable initargs crashed the parent from the child's hello handler.
    for (const bad of [() => 1, Symbol('s')]) {
      assert.throws(
        () => new Pool(1, { initargs: [bad] }),
        (e: Error) => e instanceof TypeError && /^Pool: initargs cannot be sent/.test(e.message),
      );
    }
    const pool = new Pool(1);
    await assert.rejects(
      pool.join(),
      (e: Error & { code?: string }) =>
        e instanceof RangeError && e.code === 'ERR_WEFT_POOL_RUNNING',
    );
    // A worker is named as Python's, SpawnPoolWorker-N (numbered with the Processes).
    assert.match((await pool.apply(workerIdentity)).name, /^SpawnPoolWorker-\d+$/);
    pool.close();
    // A Promise-returning call rejects; it threw synchronously.
    const p = pool.apply(double, [1]);
    assert.ok(p instanceof Promise);
    await assert.rejects(
      p,
      (e: Error & { code?: string }) =>
        e instanceof RangeError && e.code === 'ERR_WEFT_POOL_NOT_RUNNING',
    );
    await assert.rejects(pool.map(double, [1]), RangeError);
    assert.throws(() => pool.applyAsync(double, [1]), RangeError);
    await pool.join();
  });

  test('a pool broken by a dying worker closes: terminate + join resolve (await using)', async () => {
    // The surviving worker's forced exit took a branch that returned early on a broken engine,
    // so join() never resolved.
    const pool = new Pool(2);
    await pool.map(double, [1, 2, 3, 4]);
    await assert.rejects(pool.apply(exitNow, [3]), BrokenProcessPool);
    await settles(pool[Symbol.asyncDispose](), 'dispose after a worker died');
  });

  test('a pool whose initializer failed closes: terminate + join resolve', async () => {
    const pool = new Pool(2, { initializer: initFails });
    await assert.rejects(pool.map(double, [1, 2, 3, 4]), BrokenProcessPool);
    await settles(pool[Symbol.asyncDispose](), 'dispose after the initializer failed');
  });
});
