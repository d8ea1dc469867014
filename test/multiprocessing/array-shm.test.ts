/**
 * multiprocessing Arrays whose items live in shared memory (src/internal/process/array-store.ts):
 * each access is a load or store in the calling thread, each write and each slice atomic, and
 * `getObj()` a typed array over the items. Run again by scripts/run-tests.mjs with
 * WEFT_LOCK_SLAB=0, where the broker keeps the items: both must keep Python's semantics.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { ArrayStore, storeBytes } from '../../src/internal/process/array-store.js';
import {
  arrayPathOf,
  MAX_ARRAY_FILES,
  slabBrokerPath,
} from '../../src/internal/process/lock-slab.js';
import { coercer } from '../../src/internal/process/typecodes.js';
import {
  Event,
  IndexError,
  Process,
  Queue,
  RuntimeError,
  type SharedArray,
  Array as SharedArrayOf,
} from '../../src/multiprocessing/index.js';
import type { TypeCode } from '../../src/threading/typecodes.js';
import { checkLeaks } from '../support/leaks.js';
import { runRoot } from '../support/root.js';
import { slabExpected } from '../support/slab.js';
import {
  addEach,
  holdGuard,
  readRounds,
  seeAndWrite,
  writeRounds,
  writeUntilFlag,
} from './fixtures/array-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 30_000;

/** The Array's file, when this thread has the slab (null otherwise). */
function fileOf(a: SharedArray): string | null {
  const at = slabBrokerPath();
  return at === null ? null : arrayPathOf(at, a._id);
}

describe('where the items are', () => {
  test('in a file of their own in /dev/shm when the slab is there, else in the broker', async () => {
    const a = SharedArrayOf('d', [1.5, 2.5, 3.5]);
    const path = fileOf(a);
    assert.equal(path !== null && existsSync(path), slabExpected);
    // With a file, the items do not travel with the handle (its params go with every revival's
    // 'create': a million items made each a message of megabytes, and a child that revived one
    // and then looped on blocking calls held up the parent's Event wait for ever).
    assert.deepEqual(a._params.init, slabExpected ? [] : [1.5, 2.5, 3.5]);
    if (slabExpected) {
      const obj = a.getObj();
      assert.ok(obj instanceof Float64Array);
      assert.deepEqual([...obj], [1.5, 2.5, 3.5]);
      // The typed array is the items themselves: a store through it is what the methods read.
      obj[1] = 9;
      assert.equal(a.getSync(1), 9);
      a.setSync(2, 4);
      assert.equal(obj[2], 4);
    } else {
      assert.throws(
        () => a.getObj(),
        (e: unknown) => e instanceof RuntimeError && e.code === 'ERR_WEFT_NOT_SHARED',
      );
    }
    assert.deepEqual(await a.toArray(), slabExpected ? [1.5, 9, 4] : [1.5, 2.5, 3.5]);
  });

  test('getObj is typed by the type code, with 64-bit codes exact as bigints', () => {
    const q = SharedArrayOf('Q', [-1, 2 ** 53 + 1]);
    const l = SharedArrayOf('l', [-(2 ** 40)]);
    const b = SharedArrayOf('b', [127]);
    // Numbers are read as the nearest double, as a Value's are.
    assert.deepEqual(q.toArraySync(), [2 ** 64, 2 ** 53]);
    assert.equal(l.getSync(0), -(2 ** 40));
    assert.equal(b.getSync(0), 127);
    if (!slabExpected) return;
    const qs: BigUint64Array = q.getObj();
    assert.deepEqual([...qs], [2n ** 64n - 1n, 2n ** 53n]);
    const ls: BigInt64Array = l.getObj();
    assert.equal(ls[0], -(2n ** 40n));
    const bs: Int8Array = b.getObj();
    assert.equal(bs[0], 127);
  });

  test("the root removes its Arrays' files when it exits", (t) => {
    if (!slabExpected) {
      t.diagnostic('broker alone: no Array files');
      return;
    }
    const r = runRoot(
      `import('./src/multiprocessing/index.ts').then(async (m) => {
         const { arrayPathOf, slabBrokerPath } = await import('./src/internal/process/lock-slab.ts');
         const a = m.Array('i', 1000);
         a.setSync(0, 1);
         console.log(arrayPathOf(slabBrokerPath(), a._id));
       });`,
    );
    assert.equal(r.status, 0, r.stderr);
    const path = r.stdout.trim();
    assert.match(path, /^\/dev\/shm\/weft-\d+-[0-9a-z]+\.array-/);
    assert.equal(existsSync(path), false, 'removed at exit');
  });
});

describe('between processes', () => {
  test('a child sees the items and writes through every method; this process sees its writes', async () => {
    const a = SharedArrayOf('i', [1, 2, 3, 4, 5]);
    const out = new Queue<string>();
    const p = new Process({ target: seeAndWrite, args: [a, out] });
    p.start();
    try {
      assert.equal(await out.get({ timeout: PATIENCE }), '[1,2,3,4,5]');
      assert.equal(await out.get({ timeout: PATIENCE }), '10');
      assert.equal(await out.get({ timeout: PATIENCE }), '[7,8,9,10,10]');
      assert.deepEqual(a.toArraySync(), [7, 8, 9, 10, 10]);
      if (slabExpected) assert.deepEqual([...a.getObj()], [7, 8, 9, 10, 10]);
    } finally {
      await p.join({ timeout: PATIENCE });
    }
    assert.equal(p.exitcode, 0);
  });

  test('slices are atomic: readers in two processes never see one half written', async () => {
    // Large enough that a write takes a while, so readers do meet writes under way. In the slab
    // a reader that took a copy without its seq check met 2 to 7 torn slices in 300 rounds (1 in
    // 60); through the broker (WEFT_LOCK_SLAB=0), where each round is a message of 20,000 items
    // to and from the broker, a write sent in two halves was met 12 to 17 times in 50 rounds.
    const rounds = slabExpected ? 300 : 50;
    const size = 20_000;
    const a = SharedArrayOf('i', size);
    const out = new Queue<string>();
    const w = new Process({ target: writeRounds, args: [a, rounds, out] });
    const r = new Process({ target: readRounds, args: [a, rounds, 100_000, out] });
    r.start();
    w.start();
    let torn = 0;
    let backwards = 0;
    try {
      // This process reads too, while the children run.
      for (let i = 0; i < 2_000; i++) {
        const s = i % 2 === 0 ? a.sliceSync() : await a.slice();
        if (s.some((v) => v !== s[0])) torn++;
        const first = a.getSync(0);
        if (a.getSync(-1) < first) backwards++;
        if (s[0] === rounds) break;
      }
      const got = [await out.get({ timeout: PATIENCE }), await out.get({ timeout: PATIENCE })];
      assert.deepEqual(got.sort(), ['torn 0 backwards 0', 'written']);
    } finally {
      await w.join({ timeout: PATIENCE });
      await r.join({ timeout: PATIENCE });
    }
    assert.equal(torn, 0, 'torn slices read here');
    assert.equal(backwards, 0, 'a later read older than an earlier one');
    assert.deepEqual(a.toArraySync(), new Array(size).fill(rounds));
  });

  test('a long read is not starved by another process writing in a loop', async () => {
    // A million items take milliseconds to copy; the child writes an item every few dozen ns,
    // with no pause, until it reads this process's stop flag (the last item). Read
    // optimistically only, every copy met a write: the read waited for the writer to end, and
    // the writer, for the flag set after the read, until its own deadline.
    const a = SharedArrayOf('i', 1_000_000);
    const started = new Event();
    const out = new Queue<string>();
    const p = new Process({ target: writeUntilFlag, args: [a, started, 20_000, out] });
    p.start();
    try {
      assert.equal(await started.wait({ timeout: PATIENCE }), true);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(a.toArraySync().length, 1_000_000);
      assert.equal((await a.slice(0, 500_000)).length, 500_000);
      a.setSync(-1, 1);
      assert.equal(await out.get({ timeout: PATIENCE }), 'stopped by flag');
    } finally {
      await p.join({ timeout: PATIENCE });
    }
    assert.equal(p.exitcode, 0);
  });

  test('adds from two processes and this one are all counted', async () => {
    // Through the broker (WEFT_LOCK_SLAB=0) each add is a round trip: 300 each are plenty there
    // (adds made of a get and a set lost a quarter of them), where the slab's take microseconds.
    const n = slabExpected ? 3_000 : 300;
    const a = SharedArrayOf('h', 3);
    const out = new Queue<string>();
    const ps = [0, 1].map(() => new Process({ target: addEach, args: [a, n, out] }));
    for (const p of ps) p.start();
    try {
      for (let i = 0; i < n; i++) await a.add(i % 3, 1);
      for (const _ of ps) assert.equal(await out.get({ timeout: PATIENCE }), 'added');
    } finally {
      for (const p of ps) await p.join({ timeout: PATIENCE });
    }
    assert.deepEqual(a.toArraySync(), [n, n, n]);
  });

  test('a child that cannot map the file (WEFT_LOCK_SLAB=0) is served by the broker from it', async () => {
    const a = SharedArrayOf('Q', [1, 2, 3, 4, 5]);
    const out = new Queue<string>();
    const before = process.env.WEFT_LOCK_SLAB;
    process.env.WEFT_LOCK_SLAB = '0';
    const p = new Process({ target: seeAndWrite, args: [a, out] });
    try {
      p.start();
    } finally {
      if (before === undefined) delete process.env.WEFT_LOCK_SLAB;
      else process.env.WEFT_LOCK_SLAB = before;
    }
    try {
      assert.equal(await out.get({ timeout: PATIENCE }), '[1,2,3,4,5]');
      assert.equal(await out.get({ timeout: PATIENCE }), '10');
      assert.equal(await out.get({ timeout: PATIENCE }), '[7,8,9,10,10]');
      assert.deepEqual(a.toArraySync(), [7, 8, 9, 10, 10]);
      if (slabExpected) assert.deepEqual([...a.getObj()], [7n, 8n, 9n, 10n, 10n]);
    } finally {
      await p.join({ timeout: PATIENCE });
    }
    assert.equal(p.exitcode, 0);
  });

  test('a writer that dies holding the guard, its write half done, holds up nobody', async (t) => {
    if (!slabExpected) {
      t.diagnostic('broker alone: no guard to hold');
      return;
    }
    const a = SharedArrayOf('i', [0, 0, 0]);
    const holding = new Event();
    const p = new Process({ target: holdGuard, args: [a, holding] });
    p.start();
    try {
      assert.equal(await holding.wait({ timeout: PATIENCE }), true);
      p.kill();
    } finally {
      await p.join({ timeout: PATIENCE });
    }
    assert.equal(p.exitcode, -9);
    // The broker frees the guard, and ends the write, when it reads that the session ended.
    const head = new Int32Array(a.getObj().buffer, 0, 2);
    const until = Date.now() + PATIENCE;
    while (Atomics.load(head, 0) !== 0 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 5));
    assert.equal(Atomics.load(head, 0), 0, 'the guard was freed');
    assert.equal(Atomics.load(head, 1) % 2, 0, 'no write is under way');
    a.setSync(1, 5);
    assert.deepEqual(a.sliceSync(), [1, 5, 0]);
  });
});

/** Python's answer for one Array operation, on a model of the items (numbers, or bigints). */
const CODES: TypeCode[] = ['b', 'B', 'h', 'H', 'i', 'I', 'q', 'Q', 'f', 'd'];
type Op =
  | { k: 'set'; i: number; v: number }
  | { k: 'add'; i: number; v: number }
  | { k: 'get'; i: number }
  | { k: 'slice'; s: number | null; e: number | null }
  | { k: 'setSlice'; s: number | null; e: number | null; v: number };

describe('semantics', () => {
  test("every operation answers as a model of Python's Array does (fast-check)", async () => {
    const index = fc.integer({ min: -10, max: 10 });
    const bound = fc.option(fc.integer({ min: -10, max: 10 }), { nil: null });
    const value = fc.integer({ min: -(2 ** 40), max: 2 ** 40 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ k: fc.constant('set' as const), i: index, v: value }),
      fc.record({ k: fc.constant('add' as const), i: index, v: value }),
      fc.record({ k: fc.constant('get' as const), i: index }),
      fc.record({ k: fc.constant('slice' as const), s: bound, e: bound }),
      fc.record({ k: fc.constant('setSlice' as const), s: bound, e: bound, v: value }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CODES),
        fc.integer({ min: 0, max: 6 }),
        fc.array(op, { maxLength: 30 }),
        fc.boolean(),
        async (code, length, ops, sync) => {
          // The broker keeps numbers as doubles, exact to 2^53 (docs): there a 'Q' item of a
          // negative number (2^64 − n) is not exact, so the model gets none.
          if (!slabExpected && code === 'Q')
            ops = ops.map((o) => ('v' in o ? { ...o, v: Math.abs(o.v) } : o));
          const a = SharedArrayOf(code, length);
          const big = code === 'q' || code === 'Q';
          const c = coercer(code);
          // The model: what Python's ctypes array holds, exactly (64-bit codes as bigints).
          const wrap = (v: bigint): bigint =>
            code === 'q' ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v);
          const model: (number | bigint)[] = new Array(length).fill(big ? 0n : 0);
          const show = (x: number | bigint): number => Number(x);
          const at = (i: number): number | null => {
            const k = i < 0 ? i + length : i;
            return k < 0 || k >= length ? null : k;
          };
          const span = (s: number | null, e: number | null): [number, number] => {
            const f = (x: number | null, d: number) =>
              x === null ? d : x < 0 ? Math.max(x + length, 0) : Math.min(x, length);
            const first = f(s, 0);
            return [first, Math.max(f(e, length), first)];
          };
          for (const o of ops) {
            if (o.k === 'set' || o.k === 'add' || o.k === 'get') {
              const k = at(o.i);
              const call =
                o.k === 'set'
                  ? sync
                    ? async () => a.setSync(o.i, o.v)
                    : () => a.set(o.i, o.v)
                  : o.k === 'add'
                    ? () => a.add(o.i, o.v)
                    : sync
                      ? async () => a.getSync(o.i)
                      : () => a.get(o.i);
              if (k === null) {
                await assert.rejects(call(), IndexError);
                continue;
              }
              const got = await call();
              if (o.k === 'get') {
                assert.equal(got, show(model[k] as number | bigint));
                continue;
              }
              if (big) {
                const prev = o.k === 'add' ? (model[k] as bigint) : 0n;
                model[k] = wrap(prev + BigInt(o.v));
              } else if (code === 'f' || code === 'd') {
                model[k] = c((o.k === 'add' ? (model[k] as number) : 0) + o.v);
              } else {
                model[k] = c((o.k === 'add' ? (model[k] as number) : 0) + c(o.v));
              }
              if (o.k === 'add') assert.equal(got, show(model[k] as number | bigint));
              continue;
            }
            const [first, end] = span(o.s, o.e);
            if (o.k === 'slice') {
              const got = sync ? a.sliceSync(o.s, o.e) : await a.slice(o.s, o.e);
              assert.deepEqual(got, model.slice(first, end).map(show));
              continue;
            }
            // A slice takes as many items as it holds, the same value each here.
            const items = new Array<number>(end - first).fill(o.v);
            if (sync) a.setSliceSync(o.s, o.e, items);
            else await a.setSlice(o.s, o.e, items);
            for (let k = first; k < end; k++) model[k] = big ? wrap(BigInt(o.v)) : c(o.v);
            assert.throws(() => a.setSliceSync(o.s, o.e, [...items, 1]), RangeError);
          }
          assert.deepEqual(a.toArraySync(), model.map(show));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('the store itself (array-store.ts)', () => {
  test('a read whose every optimistic copy meets a write reads under the guard, after 3 tries', () => {
    const buffer = new SharedArrayBuffer(storeBytes('i', 4));
    const st = new ArrayStore(buffer, 'i', 4);
    st.set(2, 5, 9);
    const head = new Int32Array(buffer, 0, 3);
    let copies = 0;
    ArrayStore._afterCopy = () => {
      copies++;
      // A whole write lands during every optimistic copy (seq moves by two).
      if (Atomics.load(head, 0) === 0) Atomics.add(head, 1, 2);
      if (copies > 10) throw new Error('starved: the read never stopped retrying');
    };
    try {
      assert.deepEqual(
        st.slice(0, 4, () => 7),
        [0, 0, 5, 0],
      );
      assert.equal(copies, 3, 'three optimistic copies, then one under the guard');
      copies = 0;
      assert.equal(
        st.get(2, () => 7),
        5,
      );
      assert.equal(copies, 3);
    } finally {
      ArrayStore._afterCopy = null;
    }
    assert.deepEqual([...head], [0, Atomics.load(head, 1), 0], 'guard and want given back');
    assert.equal(Atomics.load(head, 1) % 2, 0);
  });

  test("the broker waits out a live holder's guard for brokerPatience, and frees an ended holder's at once", () => {
    const buffer = new SharedArrayBuffer(storeBytes('i', 4));
    const st = new ArrayStore(buffer, 'i', 4);
    assert.equal(st.brokerPatience, 100 + 16 / 2 ** 20, '100 ms, and 1 ms a MiB of items');
    const big = 1 << 18; // 2 MiB of doubles
    assert.equal(
      new ArrayStore(new SharedArrayBuffer(storeBytes('d', big)), 'd', big).brokerPatience,
      102,
    );
    const head = new Int32Array(buffer, 0, 3);
    Atomics.store(head, 0, 5); // session 5 holds the guard and is alive
    const t = performance.now();
    st.brokerWrite(
      () => st.put(1, 42),
      () => false,
    );
    const waited = performance.now() - t;
    assert.ok(waited >= 99, `wrote after ${waited.toFixed(1)} ms, before its patience ran out`);
    assert.equal(Atomics.load(head, 0), 5, 'the live holder keeps its guard');
    assert.equal(
      st.brokerGet(1, () => false),
      42,
    );
    const asked: number[] = [];
    st.brokerWrite(
      () => st.put(2, 7),
      (n) => {
        asked.push(n);
        return n === 5;
      },
    );
    assert.ok(asked.includes(5), 'the holder was asked about');
    assert.deepEqual([Atomics.load(head, 0), Atomics.load(head, 2)], [0, 0], 'guard given back');
    assert.deepEqual(
      st.brokerSlice(0, 4, () => false),
      [0, 42, 7, 0],
    );
  });

  test('a writer waits while a reader is announced in want', async () => {
    const buffer = new SharedArrayBuffer(storeBytes('d', 2));
    const st = new ArrayStore(buffer, 'd', 2);
    const head = new Int32Array(buffer, 0, 3);
    // Session 4 is waiting to read; session 9's write must not take the guard meanwhile. A
    // worker frees `want` after a moment, as the reader does once it has read.
    Atomics.store(head, 2, 4);
    const w = new Worker(
      `const { workerData } = require('node:worker_threads');
       const head = new Int32Array(workerData, 0, 3);
       Atomics.wait(head, 0, 0, 200); // the guard stays 0 all along: this is a pause
       Atomics.store(head, 2, 0);`,
      { eval: true, workerData: buffer },
    );
    st.set(1, 0.5, 9);
    assert.equal(Atomics.load(head, 2), 0, 'the write came after want was freed');
    assert.deepEqual(
      st.slice(0, 2, () => 1),
      [0, 0.5],
    );
    await w.terminate();
  });
});

describe('freeing the guard of a session that ended (array-store.ts freeHeldBy)', () => {
  test('a writer waiting for the guard never sees the cut-short write still under way', async () => {
    // A session holds the guard with its write half done (seq odd) and ends; a writer of another
    // thread spins for the guard meanwhile. Freed before the write was ended, the guard went to
    // that writer, whose +1 the broker's +1 then undid: seq stayed odd with the guard free (every
    // reader spinning for good), or a write ran with seq even (a reviewer's 27 of 20,000 trials).
    const trials = 20_000;
    const sab = new SharedArrayBuffer(storeBytes('i', 4));
    const ctl = new Int32Array(new SharedArrayBuffer(8)); // [trial to run, trial done]
    const head = new Int32Array(sab, 0, 2);
    const st = new ArrayStore(sab, 'i', 4);
    // The writer follows array-store.ts's protocol: CAS the guard 0 → its number, seq + 1,
    // store, seq + 1, guard 0.
    const w = new Worker(
      `const { workerData: { sab, ctl } } = require('node:worker_threads');
       const head = new Int32Array(sab, 0, 2);
       const items = new Int32Array(sab, 64, 4);
       for (let t = 1; ; t++) {
         while (Atomics.load(ctl, 0) < t) Atomics.wait(ctl, 0, t - 1);
         if (Atomics.load(ctl, 0) < 0) break;
         while (Atomics.compareExchange(head, 0, 0, 9) !== 0) {}
         Atomics.add(head, 1, 1);
         items[0] = t;
         Atomics.add(head, 1, 1);
         Atomics.store(head, 0, 0);
         Atomics.store(ctl, 1, t);
         Atomics.notify(ctl, 1);
       }`,
      { eval: true, workerData: { sab, ctl } },
    );
    let bad = 0;
    try {
      for (let t = 1; t <= trials; t++) {
        Atomics.store(head, 0, 5);
        Atomics.store(head, 1, 2 * t + 1);
        Atomics.store(ctl, 0, t);
        Atomics.notify(ctl, 0);
        const spin = (t * 7919) % 3000;
        for (let i = 0; i < spin; i++) Atomics.load(head, 0);
        st.freeHeldBy(5);
        while (Atomics.load(ctl, 1) !== t) Atomics.wait(ctl, 1, t - 1, 50);
        if (Atomics.load(head, 1) % 2 !== 0 || Atomics.load(head, 0) !== 0) bad++;
      }
    } finally {
      Atomics.store(ctl, 0, -1);
      Atomics.notify(ctl, 0);
      await w.terminate();
    }
    assert.equal(bad, 0, `${bad} of ${trials} trials ended with seq odd or the guard held`);
  });
});

describe('limits', () => {
  test('an Array made from a size builds no JavaScript array of its zeros when it has a file', (t) => {
    if (!slabExpected) {
      // The broker keeps such an Array as a JavaScript array: 30 million items take seconds.
      t.diagnostic('broker alone: the items are a JavaScript array in the broker');
      return;
    }
    // 30 million items took 410 MB of this process, and 120 million exhausted its heap.
    const a = SharedArrayOf('b', 30_000_000);
    assert.equal(a.length, 30_000_000);
    assert.equal(a.getSync(-1), 0);
    assert.equal(a._params.file, true);
    assert.deepEqual(a._params.init, []);
    assert.equal(a.getObj().length, 30_000_000);
  });

  test('past MAX_ARRAY_FILES a tree’s Arrays live in the broker, and work', (t) => {
    if (!slabExpected) {
      t.diagnostic('broker alone: no files to count');
      return;
    }
    // Each file is a mapping in every process using it and in the root's broker; some 65,530
    // mappings crashed V8 (a reviewer's 70,000 small Arrays).
    let made = 0;
    let a = SharedArrayOf('b', 1);
    while (fileOf(a) !== null && existsSync(fileOf(a) as string)) {
      assert.ok(++made <= MAX_ARRAY_FILES, `more than ${MAX_ARRAY_FILES} files`);
      a = SharedArrayOf('b', 1);
    }
    // The earlier tests of this file made a few dozen files of the tree's allowance.
    assert.ok(made > MAX_ARRAY_FILES - 100, `the files ran out after ${made}`);
    assert.throws(
      () => a.getObj(),
      (e: unknown) => e instanceof RuntimeError && e.code === 'ERR_WEFT_NOT_SHARED',
    );
    a.setSync(0, 7);
    assert.deepEqual(a.toArraySync(), [7]);
  });
});
