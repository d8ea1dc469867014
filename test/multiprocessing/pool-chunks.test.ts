/**
 * How a map's chunks travel (src/internal/pool/pack.ts, engine.ts): numbers as one typed array
 * each way, written as they are made, anything else as it is; a chunk of many calls one to a
 * message, so that the chunks a worker has not been sent yet can go to another.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BrokenProcessPool } from '../../src/futures/index.js';
import { packNumbers, ResultSink } from '../../src/internal/pool/pack.js';
import { Pool } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { until } from '../support/until.js';
import {
  failAt37,
  killAt150,
  kindsFrom,
  markChunk,
  same,
  touch,
} from './fixtures/pool-chunk-targets.js';
import { pidAfter } from './fixtures/targets.js';

checkLeaks({ graceMs: 3000 });

/** Values of every kind a chunk can hold, numbers that a typed array could garble among them. */
const MIXED: unknown[] = [
  ...Array.from({ length: 20 }, (_, i) => i),
  -0,
  2 ** 31,
  -(2 ** 31),
  0.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  'text',
  null,
  undefined,
  { a: [1, 2] },
  [3, 4],
  new Map([[1, 'one']]),
  7n,
  true,
];

describe('packNumbers and ResultSink (the encoding)', () => {
  test('packNumbers: int32s as an Int32Array, a double midway turns it into a Float64Array', () => {
    const ints = Array.from({ length: 40 }, (_, i) => i - 20);
    assert.deepEqual(packNumbers(ints), Int32Array.from(ints));
    const doubles = [...ints.slice(0, 30), 2.5, 2 ** 31, -0, ...ints.slice(0, 7)];
    const p = packNumbers(doubles) as Float64Array;
    assert.ok(p instanceof Float64Array);
    assert.equal(p.length, doubles.length);
    for (let i = 0; i < doubles.length; i++) assert.ok(Object.is(p[i], doubles[i]), `at ${i}`);
  });

  test('packNumbers: anything not a number, first or last, and short lists are left as they are', () => {
    const ints = Array.from({ length: 40 }, (_, i) => i);
    assert.equal(packNumbers(['a', ...ints]), null);
    assert.equal(packNumbers([...ints, 'a']), null);
    assert.equal(packNumbers([...ints.slice(0, 30), 0.5, null]), null);
    assert.equal(packNumbers(ints.slice(0, 3)), null);
  });

  test('ResultSink: int32s, then doubles, then other values keep their order and kinds', () => {
    const values: unknown[] = [
      ...Array.from({ length: 20 }, (_, i) => i),
      -0,
      0.25,
      ...Array.from({ length: 5 }, (_, i) => i),
      'x',
      Number.NaN,
      { k: 1 },
    ];
    for (let n = 1; n <= values.length; n++) {
      const sink = new ResultSink(n);
      for (const v of values.slice(0, n)) sink.put(v);
      const r = sink.take();
      assert.equal(r.length, n);
      for (let i = 0; i < n; i++) assert.ok(Object.is(r[i], values[i]), `n=${n}, at ${i}`);
      // Typed only when every value is a number and there are enough to be worth it.
      const numbers = values.slice(0, n).every((v) => typeof v === 'number');
      assert.equal(ArrayBuffer.isView(r), numbers && n >= 16, `n=${n}`);
    }
  });
});

describe('Pool map chunks', () => {
  let pool: Pool;
  before(async () => {
    pool = new Pool(2);
    // Both children up before the tests (the dispatch test needs two idle workers).
    await Promise.all([pool.apply(pidAfter, [100]), pool.apply(pidAfter, [100])]);
  });
  after(async () => {
    pool.close();
    await pool.join();
  });

  test('a chunk of mixed values gives each back as it was, in order', async () => {
    const xs = [...MIXED, ...MIXED.slice().reverse(), ...MIXED];
    for (const chunksize of [null, 1, 5, xs.length]) {
      const r = await pool.map(same, xs, chunksize);
      assert.equal(r.length, xs.length);
      for (let i = 0; i < xs.length; i++) {
        if (typeof xs[i] === 'object' && xs[i] !== null) assert.deepEqual(r[i], xs[i]);
        else assert.ok(Object.is(r[i], xs[i]), `chunksize ${chunksize}, at ${i}: ${String(r[i])}`);
      }
      // Always an ordinary array, whatever the chunks travelled as.
      assert.ok(Array.isArray(r));
    }
  });

  test('results that change kind within a chunk (int32, double, string) come back in order', async () => {
    const xs = Array.from({ length: 60 }, (_, i) => i);
    const want = xs.map((x) => (x < 20 ? x : x < 40 ? x + 0.5 : `s${x}`));
    assert.deepEqual(await pool.map(kindsFrom, xs, 60), want);
    assert.deepEqual(await pool.map(kindsFrom, xs, 30), want);
    assert.deepEqual(await pool.map(kindsFrom, xs), want);
  });

  test('a sparse array maps its holes as undefined, as an iterable of it does', async () => {
    // biome-ignore lint/suspicious/noSparseArray: the holes are the point
    const xs = [1, , 3, , ...Array.from({ length: 30 }, (_, i) => i)];
    const want = [...xs];
    assert.deepEqual(await pool.map(same, xs, 20), want);
    assert.deepEqual(await pool.map(same, xs), want);
  });

  test('an Array subclass or an array with its own slice is read as its iterator reads it', async () => {
    // The chunks are the array's items, whatever its `slice` or its species' constructor does.
    class Sliced<T> extends Array<T> {
      override slice(): T[] {
        return [];
      }
    }
    class Frozen<T> extends Array<T> {
      constructor(...a: T[]) {
        super(...a);
        Object.freeze(this);
      }
    }
    const own: unknown[] = Array.from({ length: 40 }, (_, i) => i);
    Object.defineProperty(own, 'slice', { value: () => ['not an item'] });
    const want = Array.from({ length: 40 }, (_, i) => i);
    for (const xs of [Sliced.from(want), new Frozen(...want), own]) {
      assert.deepEqual(await pool.map(same, xs), want);
      assert.deepEqual(await pool.map(same, xs, 7), want);
    }
  });

  test('an array that throws as it is read fails the call with nothing run, as a generator does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-pool-chunks-'));
    try {
      const xs = Array.from({ length: 50 }, (_, i) => join(dir, `ran-${i}`));
      Object.defineProperty(xs, 30, {
        get() {
          throw new Error('item 30 cannot be read');
        },
      });
      assert.throws(() => pool.mapAsync(touch, xs, 10), /item 30 cannot be read/);
      // A map after it runs (and so do calls already queued before it, in order).
      assert.deepEqual(await pool.map(same, [1, 2]), [1, 2]);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an exception in the middle of a chunk of numbers fails the map with it, the pool goes on', async () => {
    const xs = Array.from({ length: 100 }, (_, i) => i);
    let called: unknown = null;
    const r = pool.mapAsync(failAt37, xs, 50, { errorCallback: (e) => (called = e) });
    await assert.rejects(r.get(), (e: unknown) => e instanceof RangeError && e.message === 'no 37');
    assert.ok(called instanceof RangeError);
    assert.equal(r.successful(), false);
    assert.deepEqual(await pool.map(failAt37, [1, 2, 3]), [2, 4, 6]);
  });

  test('a huge chunk of numbers, and one of strings, come back whole and in order', async () => {
    const n = 300_000;
    const ints = Array.from({ length: n }, (_, i) => i * 7 - n);
    assert.deepEqual(await pool.map(same, ints, n), ints);
    const doubles = ints.map((x) => x / 4);
    assert.deepEqual(await pool.map(same, doubles, n), doubles);
    const words = Array.from({ length: 50_000 }, (_, i) => `w${i}`);
    assert.deepEqual(await pool.map(same, words, words.length), words);
  });

  test('chunks of many calls go one to a message: an idle worker takes those not yet sent', async () => {
    // Chunk 0 holds its worker. That worker holds two chunks (its two slots); every other one
    // runs on the second worker while chunk 0 waits. When a batch carried four chunks, the
    // first worker held chunks 0-3 and only 4-7 ran.
    const dir = mkdtempSync(join(tmpdir(), 'weft-pool-chunks-'));
    try {
      const size = 600;
      const chunks = 8;
      const args = Array.from({ length: size * chunks }, (_, i) => [dir, i, size] as const);
      const started = (): number[] =>
        readdirSync(dir)
          .filter((f) => f.startsWith('started-'))
          .map((f) => Number(f.slice(8)))
          .sort((a, b) => a - b);
      const r = pool.starmap(markChunk, args, size);
      try {
        await until(() => started().length >= chunks - 1, 'every chunk but one started');
        assert.equal(started().length, chunks - 1);
        assert.ok(started().includes(0));
      } finally {
        writeFileSync(join(dir, 'go'), '');
      }
      assert.deepEqual(
        await r,
        args.map(([, i]) => i),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Pool map chunks and a dying worker', () => {
  test('a worker killed midway through a chunk fails the map with BrokenProcessPool', async () => {
    const p = new Pool(2);
    try {
      const xs = Array.from({ length: 400 }, (_, i) => i);
      await assert.rejects(
        p.map(killAt150, xs, 100),
        (e: unknown) => e instanceof BrokenProcessPool,
      );
      // The pool is broken from then on, as when any worker dies.
      await assert.rejects(p.map(same, [1, 2]), (e: unknown) => e instanceof BrokenProcessPool);
    } finally {
      p.terminate();
      await p.join();
    }
  });
});
