/**
 * A caller's item shaped like weft's own encoding — `{ $sab: 3 }` (a SharedArrayBuffer's id in
 * bytes), `{ __weft$: 'x', … }` (a shared object's descriptor, an error), nested anywhere — was
 * read back as weft's marker by the getter: a 5 s wait for a buffer nobody registered then an
 * error, a TypeError for a kind nobody registered, an Error for a plain object. The item was
 * lost. Every value must come back as structured clone would give it, on every queue class, in
 * the same thread and across threads, in a Thread's arguments, and in a ThreadPoolExecutor's
 * initargs, arguments and results.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ThreadPoolExecutor } from '../../src/futures/index.js';
import {
  JoinableQueue,
  LifoQueue,
  PriorityQueue,
  Queue,
  SimpleQueue,
} from '../../src/queue/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { markerSample, markerValue } from '../support/marker-values.js';
import {
  identity,
  initArgs,
  putArgs,
  recordInit,
  relayReported,
} from './fixtures/user-markers-tasks.js';

checkLeaks();

const sample = markerSample(150);

describe('items shaped like weft markers come back as they were put', () => {
  test('property: any JSON-like value with markers at any depth, through a Queue', async () => {
    const q = new Queue<unknown>();
    await fc.assert(
      fc.asyncProperty(markerValue, async (v) => {
        await q.put(v);
        assert.deepStrictEqual(await q.get({ timeout: 30_000 }), structuredClone(v));
      }),
      // A misread `$sab` waits 5 s for its buffer: no shrinking on the old source's failure.
      { numRuns: 300, endOnFailure: true },
    );
  });

  for (const Q of [Queue, SimpleQueue, LifoQueue, JoinableQueue]) {
    test(`${Q.name}: every value of the sample`, () => {
      const q = new Q<unknown>();
      for (const v of sample) {
        q.putNowait(v);
        assert.deepStrictEqual(q.getNowait(), structuredClone(v));
      }
    });
  }

  test('PriorityQueue: [priority, value] items', () => {
    const q = new PriorityQueue<[number, unknown]>();
    for (const [i, v] of sample.entries()) q.putNowait([i, v]);
    for (const [i, v] of sample.entries())
      assert.deepStrictEqual(q.getNowait(), [i, structuredClone(v)]);
  });

  test('shared and cyclic references keep their shape', () => {
    const inner: Record<string, unknown> = { $sab: 1 };
    const outer: Record<string, unknown> = { __weft$: 'x', a: inner, b: inner };
    inner.back = outer;
    inner.self = inner;
    const q = new Queue<Record<string, unknown>>();
    q.putNowait(outer);
    const got = q.getNowait();
    const a = got.a as Record<string, unknown>;
    assert.equal(got.__weft$, 'x');
    assert.equal(a.$sab, 1);
    assert.equal(got.b, a);
    assert.equal(a.back, got);
    assert.equal(a.self, a);
    assert.deepEqual(Object.keys(got), ['__weft$', 'a', 'b']);
    assert.deepEqual(Object.keys(a), ['$sab', 'back', 'self']);
  });

  test('a marker-shaped object beside a real shared object: both arrive, the shared one live', () => {
    const lockq = new Queue<number>();
    const q = new Queue<unknown>();
    q.putNowait({ $sab: 2, q: lockq, list: [{ __weft$: 'queue.Queue', s: {} }, lockq] });
    const got = q.getNowait() as { $sab: number; q: Queue<number>; list: unknown[] };
    assert.equal(got.$sab, 2);
    assert.ok(got.q instanceof Queue);
    got.q.putNowait(7);
    assert.equal(lockq.getNowait(), 7);
    assert.deepEqual(got.list[0], { __weft$: 'queue.Queue', s: {} });
    assert.equal(got.list[1], got.q);
  });

  test('a class instance with a marker key, or holding marker-shaped objects, arrives as structured clone gives it', () => {
    class Box {
      __weft$ = 'threading.Lock';
      inner = { $sab: 2 };
    }
    class Holder {
      data = [{ $sab: 0 }, { __weft$: 'x', s: 1 }];
    }
    const q = new Queue<unknown>();
    for (const v of [new Box(), new Holder(), { h: new Holder() }]) {
      q.putNowait(v);
      assert.deepStrictEqual(q.getNowait(), structuredClone(v));
    }
  });

  test('across threads: the sample through a relay thread, and as a Thread argument', async () => {
    const inbox = new Queue<unknown>();
    const outbox = new Queue<unknown>();
    const t = new Thread({ target: relayReported, args: [inbox, outbox, sample.length] });
    t.start();
    for (const v of sample) await inbox.put(v);
    for (const v of sample)
      assert.deepStrictEqual(await outbox.get({ timeout: 60_000 }), ['ok', structuredClone(v)]);
    await t.join();

    const args = new Thread({ target: putArgs, args: [outbox, sample] });
    args.start();
    assert.deepStrictEqual(await outbox.get({ timeout: 60_000 }), structuredClone(sample));
    await args.join();
  });

  test('a ThreadPoolExecutor: initargs, arguments and results', async () => {
    // The worker's boot payload was decoded twice (its thread and its runner): an escaped
    // initarg came out of the first decode as the caller's object, and the second read it as a
    // marker (a 5 s wait for buffer 3 nobody registered, then the pool broke).
    await using ex = new ThreadPoolExecutor({
      maxWorkers: 1,
      initializer: recordInit,
      initargs: [sample[0], sample],
    });
    assert.deepStrictEqual(await ex.submit(initArgs), [
      structuredClone(sample[0]),
      structuredClone(sample),
    ]);
    for (const v of sample)
      assert.deepStrictEqual(await ex.submit(identity, v), structuredClone(v));
  });
});
