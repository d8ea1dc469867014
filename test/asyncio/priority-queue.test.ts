/**
 * asyncio PriorityQueue: smallest first (CPython's PriorityQueueTests), Python's ordering of
 * numbers, strings and [priority, item] arrays, FIFO among equals, a custom compare, and bad
 * input. Waiting, join and shutdown run in queue.test.ts's shared suites.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { createTask, gather, PriorityQueue, Queue, run, sleep } from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

function drain<T>(q: PriorityQueue<T>): T[] {
  const out: T[] = [];
  while (!q.empty()) out.push(q.getNowait());
  return out;
}

describe('PriorityQueue', () => {
  test('items come out smallest first', async () => {
    // CPython PriorityQueueTests.test_order.
    await run(async () => {
      const q = new PriorityQueue<number>();
      for (const i of [1, 3, 2]) await q.put(i);
      assert.deepEqual([await q.get(), await q.get(), await q.get()], [1, 2, 3]);
      assert.ok(q instanceof Queue);
    });
  });

  test('[priority, item] arrays compare element by element, as Python tuples', () => {
    const q = new PriorityQueue<[number, string]>();
    for (const e of [
      [2, 'b'],
      [1, 'z'],
      [2, 'a'],
      [0, 'x'],
    ] as [number, string][])
      q.putNowait(e);
    assert.deepEqual(drain(q), [
      [0, 'x'],
      [1, 'z'],
      [2, 'a'],
      [2, 'b'],
    ]);
  });

  test('strings order by code point and a shorter prefix array comes first', () => {
    const s = new PriorityQueue<string>();
    for (const x of ['pear', 'apple', 'Banana', 'app']) s.putNowait(x);
    assert.deepEqual(drain(s), ['Banana', 'app', 'apple', 'pear']);
    const a = new PriorityQueue<number[]>();
    for (const x of [[1, 2], [1], [0, 9, 9]]) a.putNowait(x);
    assert.deepEqual(drain(a), [[0, 9, 9], [1], [1, 2]]);
  });

  test('strings past U+FFFF order by code point, as Python str, also inside arrays', () => {
    const s = new PriorityQueue<string>();
    for (const x of ['\u{1F600}', '\uFFFD', '\uE000', 'z']) s.putNowait(x);
    assert.deepEqual(drain(s), ['z', '\uE000', '\uFFFD', '\u{1F600}']);
    const a = new PriorityQueue<[string, number]>();
    a.putNowait(['\u{1F600}', 1]);
    a.putNowait(['\uFFFD', 2]);
    assert.deepEqual(drain(a), [
      ['\uFFFD', 2],
      ['\u{1F600}', 1],
    ]);
  });

  test('property: random strings come out in code-point order', () => {
    const byCodePoints = (x: string, y: string): number => {
      const p = Array.from(x, (c) => c.codePointAt(0) as number);
      const q = Array.from(y, (c) => c.codePointAt(0) as number);
      for (let i = 0; i < Math.min(p.length, q.length); i++)
        if (p[i] !== q[i]) return (p[i] as number) - (q[i] as number);
      return p.length - q.length;
    };
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 4 }), { maxLength: 30 }),
        (xs) => {
          const q = new PriorityQueue<string>();
          for (const x of xs) q.putNowait(x);
          assert.deepEqual(drain(q), [...xs].sort(byCodePoints));
        },
      ),
    );
  });

  test('equal priorities come out first in, first out', () => {
    const q = new PriorityQueue<{ p: number; id: string }>(0, { compare: (a, b) => a.p - b.p });
    for (const [p, id] of [
      [1, 'a'],
      [0, 'b'],
      [1, 'c'],
      [0, 'd'],
      [1, 'e'],
    ] as [number, string][])
      q.putNowait({ p, id });
    assert.deepEqual(
      drain(q).map((x) => x.id),
      ['b', 'd', 'a', 'c', 'e'],
    );
  });

  test('a custom compare reverses the order', () => {
    const q = new PriorityQueue<number>(0, { compare: (a, b) => b - a });
    for (const x of [3, 1, 4, 1, 5]) q.putNowait(x);
    assert.deepEqual(drain(q), [5, 4, 3, 1, 1]);
  });

  test('getters waiting when several items arrive get them smallest first, in getter order', async () => {
    await run(async () => {
      const q = new PriorityQueue<number>();
      const log: string[] = [];
      const getters = ['g1', 'g2', 'g3'].map((name) =>
        createTask(async () => log.push(`${name}:${await q.get()}`)),
      );
      await sleep(0);
      q.putNowait(30);
      q.putNowait(10);
      q.putNowait(20);
      await gather(...getters);
      assert.deepEqual(log, ['g1:10', 'g2:20', 'g3:30']);
    });
  });

  test('random items come out as a stable sort by the comparator', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.nat()), { maxLength: 50 }),
        (pairs) => {
          const q = new PriorityQueue<[number, number]>(0, { compare: (a, b) => a[0] - b[0] });
          for (const p of pairs) q.putNowait(p);
          const expected = pairs
            .map((p, i) => ({ p, i }))
            .sort((a, b) => a.p[0] - b.p[0] || a.i - b.i)
            .map((x) => x.p);
          assert.deepEqual(drain(q), expected);
        },
      ),
    );
  });

  test('put of an item that cannot be ordered rejects its Promise and leaves the queue as it was', async () => {
    await run(async () => {
      const q = new PriorityQueue<unknown>();
      q.putNowait(1);
      let p: Promise<void> | undefined;
      assert.doesNotThrow(() => {
        p = q.put('one');
      }, 'put returns a Promise, as every waiting call does');
      await assert.rejects(
        p as Promise<void>,
        (e: unknown) =>
          e instanceof TypeError && /cannot order string against number/.test(e.message),
      );
      await assert.rejects(q.put('one', { timeout: 10 }), TypeError);
      assert.equal(q.qsize(), 1);
      assert.equal(await q.get(), 1);
      q.taskDone();
      await q.join({ timeout: 1000 }); // the refused items were never counted unfinished
    });
  });

  test('bad input throws TypeError naming what was received', () => {
    assert.throws(
      () => new PriorityQueue(0, { compare: 'asc' as never }),
      (e: unknown) =>
        e instanceof TypeError && /compare must be a function: received/.test(e.message),
    );
    assert.throws(() => new PriorityQueue(-1), RangeError);
    assert.throws(
      () => new PriorityQueue(0, null as never),
      (e: unknown) =>
        e instanceof TypeError &&
        /PriorityQueue options must be an object: received null/.test(e.message),
    );
    const q = new PriorityQueue<unknown>();
    q.putNowait(1);
    assert.throws(
      () => q.putNowait('one'),
      (e: unknown) =>
        e instanceof TypeError && /cannot order string against number/.test(e.message),
    );
    const objects = new PriorityQueue<unknown>();
    objects.putNowait({ a: 1 });
    assert.throws(
      () => objects.putNowait({ b: 2 }),
      (e: unknown) => e instanceof TypeError && /pass \{ compare \}/.test(e.message),
    );
  });

  test('[priority, item] arrays holding the same object are equal there, as Python tuples', async () => {
    // CPython 3.11: (1, o) put twice orders fine (tuple comparison skips equal elements, o == o),
    // two different dicts behind equal priorities, or one dict as a whole item, are a TypeError.
    const q = new PriorityQueue<unknown>();
    const job = { job: 1 };
    q.putNowait([1, job]);
    q.putNowait([1, job]);
    q.putNowait([0, 'a']);
    assert.deepEqual(
      [q.getNowait(), q.getNowait(), q.getNowait()],
      [
        [0, 'a'],
        [1, job],
        [1, job],
      ],
    );
    const distinct = new PriorityQueue<unknown>();
    distinct.putNowait([1, { a: 1 }]);
    assert.throws(() => distinct.putNowait([1, { a: 2 }]), TypeError);
    const whole = new PriorityQueue<unknown>();
    whole.putNowait(job);
    assert.throws(() => whole.putNowait(job), TypeError);
  });
});
