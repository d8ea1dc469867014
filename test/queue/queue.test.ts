import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  Empty,
  Full,
  ItemTooLargeError,
  JoinableQueue,
  LifoQueue,
  NotCloneableError,
  PriorityQueue,
  Queue,
  ShutDown,
  SimpleQueue,
} from '../../src/queue/index.js';
import { Event, Lock, Value } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { piece, pieceThreads } from '../support/piece-threads.js';
import { collect, echo, produceRange, worker } from './fixtures/tasks.js';

checkLeaks();

describe('Queue on one thread', () => {
  test('FIFO order for every kind of item', async () => {
    const q = new Queue<unknown>();
    const items = [
      1,
      -0.5,
      2 ** 40,
      'x',
      'ünïcødé ✓',
      '',
      true,
      false,
      null,
      undefined,
      { a: [1, 2] },
      [3, 'y'],
      new Map([[1, 2]]),
      10n,
      new Uint8Array([1, 2]),
    ];
    for (const x of items) await q.put(x);
    assert.equal(q.qsize(), items.length);
    const got: unknown[] = [];
    while (!q.empty()) got.push(await q.get());
    assert.deepEqual(got, items);
  });

  test('nowait variants throw Empty and Full; timeouts reject with them', async () => {
    const q = new Queue<number>(2);
    assert.throws(() => q.getNowait(), Empty);
    q.putNowait(1);
    q.putNowait(2);
    assert.equal(q.full(), true);
    assert.throws(
      () => q.putNowait(3),
      (e: unknown) => e instanceof Full && (e as Full).code === 'ERR_WEFT_QUEUE_FULL',
    );
    await assert.rejects(q.put(3, { timeout: 20 }), Full);
    await assert.rejects(q.put(3, { block: false }), Full);
    assert.throws(() => q.putSync(3, { timeout: 10 }), Full);
    assert.equal(q.getSync(), 1);
    assert.equal(await q.get(), 2);
    await assert.rejects(q.get({ timeout: 20 }), Empty);
    assert.throws(() => q.getSync({ block: false }), Empty);
  });

  test('bad input is a typed error: negative sizes, wrong types, uncloneable and oversized items', async () => {
    assert.throws(() => new Queue(-1), {
      name: 'RangeError',
      message: 'Queue maxsize must be >= 0 (0: unbounded): received -1',
    });
    assert.throws(() => new Queue('3' as never), TypeError);
    assert.throws(() => new Queue(0, { maxbytes: 10 }), RangeError);
    const q = new Queue<unknown>(0, { maxbytes: 1024 });
    await assert.rejects(
      q.put(() => 1),
      NotCloneableError,
    );
    await assert.rejects(q.put({ f: Symbol('x') }), NotCloneableError);
    // structuredClone takes a Blob, but its bytes can only be read asynchronously (docs).
    await assert.rejects(q.put(new Blob(['x'])), NotCloneableError);
    await assert.rejects(q.put({ file: new File(['x'], 'x.txt') }), NotCloneableError);
    await assert.rejects(
      q.put('x'.repeat(600)),
      (e: unknown) => e instanceof ItemTooLargeError && /maxbytes/.test((e as Error).message),
    );
    assert.equal(q.qsize(), 0);
    await assert.rejects(q.get({ timeout: 'x' as never }), TypeError);
    await assert.rejects(new PriorityQueue<unknown>().put('no priority'), TypeError);
  });

  test('full by bytes: put waits until a get frees room', async () => {
    const q = new Queue<string>(0, { maxbytes: 1024 });
    const big = 'b'.repeat(300);
    let stored = 0;
    for (;;) {
      try {
        q.putNowait(big);
        stored++;
      } catch (e) {
        assert.ok(e instanceof Full);
        break;
      }
    }
    assert.ok(stored >= 2 && stored <= 3, `stored ${stored}`);
    const p = q.put(big);
    assert.equal(await q.get(), big);
    await p;
    assert.equal(q.qsize(), stored);
  });

  test('an aborted get or put rejects with the reason and leaves no waiter', async () => {
    const q = new Queue<number>(1);
    const ac = new AbortController();
    const g = q.get({ signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(g, /stop/);
    q.putNowait(1);
    await assert.rejects(q.put(2, { signal: AbortSignal.timeout(10) }), { name: 'TimeoutError' });
    // An aborted signal wins even when the answer is there at once.
    const gone = AbortSignal.abort(new Error('gone'));
    await assert.rejects(q.get({ signal: gone }), /gone/);
    assert.throws(() => q.getSync({ signal: gone }), /gone/);
    assert.equal(q.getNowait(), 1);
    await assert.rejects(q.put(5, { signal: gone }), /gone/);
    assert.equal(q.qsize(), 0);
    assert.equal(Atomics.load(q._core.a, 32), 0);
    assert.equal(Atomics.load(q._core.a, 33), 0);
  });

  test('LifoQueue is last-in first-out; PriorityQueue lowest first, ties in arrival order', () => {
    const l = new LifoQueue<number>();
    for (const x of [1, 2, 3]) l.putNowait(x);
    assert.deepEqual([l.getNowait(), l.getNowait(), l.getNowait()], [3, 2, 1]);
    const p = new PriorityQueue<[number, string] | number>();
    for (const x of [[5, 'e'], [1, 'a'], 3, [1, 'b'], [0, 'z']] as const) p.putNowait(x as never);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => p.getNowait()),
      [[0, 'z'], [1, 'a'], [1, 'b'], 3, [5, 'e']],
    );
  });

  test('property: FIFO, LIFO and priority orders match a model for any sequence of operations', () => {
    const op = fc.oneof(
      fc.record({
        put: fc.oneof(
          fc.integer(),
          fc.string({ maxLength: 40 }),
          // Any UTF-16 units, lone surrogates included (they used to come back as U+FFFD).
          fc.string({
            unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
            maxLength: 40,
          }),
          fc.array(fc.integer(), { maxLength: 5 }),
        ),
      }),
      fc.constant({ get: true }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const q = new Queue<unknown>(0, { maxbytes: 512 });
        const model: unknown[] = [];
        for (const o of ops) {
          if ('put' in o) {
            try {
              q.putNowait(o.put);
              model.push(o.put);
            } catch (e) {
              if (!(e instanceof Full)) throw e;
            }
          } else if (model.length === 0) {
            assert.throws(() => q.getNowait(), Empty);
          } else {
            assert.deepEqual(q.getNowait(), model.shift());
          }
        }
        assert.equal(q.qsize(), model.length);
      }),
      { numRuns: 150 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -50, max: 50 }), fc.constant(null)), {
          maxLength: 150,
        }),
        (ops) => {
          // Room for 150 puts: an item also takes a 24-byte index entry.
          const lifo = new LifoQueue<number>(0, { maxbytes: 8192 });
          const pq = new PriorityQueue<[number, number]>(0, { maxbytes: 8192 });
          const stack: number[] = [];
          const heap: Array<[number, number]> = [];
          let seq = 0;
          for (const o of ops) {
            if (o === null) {
              if (stack.length) assert.equal(lifo.getNowait(), stack.pop());
              if (heap.length) {
                heap.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
                assert.deepEqual(pq.getNowait(), heap.shift());
              }
            } else {
              lifo.putNowait(o);
              stack.push(o);
              pq.putNowait([o, seq]);
              heap.push([o, seq++]);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  test('property: the priority arena keeps every item intact through compaction and Full', () => {
    const op = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 9 }), fc.string({ maxLength: 120 })),
      fc.constant(null),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const pq = new PriorityQueue<[number, number, string]>(0, { maxbytes: 512 });
        const lifo = new LifoQueue<string>(0, { maxbytes: 512 });
        const heap: Array<[number, number, string]> = [];
        const stack: string[] = [];
        let seq = 0;
        for (const o of ops) {
          if (o === null) {
            heap.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
            if (heap.length) assert.deepEqual(pq.getNowait(), heap.shift());
            else assert.throws(() => pq.getNowait(), Empty);
            if (stack.length) assert.equal(lifo.getNowait(), stack.pop());
            continue;
          }
          const item: [number, number, string] = [o[0], seq++, o[1]];
          try {
            pq.putNowait(item);
            heap.push(item);
          } catch (e) {
            assert.ok(e instanceof Full);
          }
          try {
            lifo.putNowait(o[1]);
            stack.push(o[1]);
          } catch (e) {
            assert.ok(e instanceof Full);
          }
        }
        assert.equal(pq.qsize(), heap.length);
        assert.equal(lifo.qsize(), stack.length);
      }),
      { numRuns: 200 },
    );
  });

  test('taskDone and join; taskDone too often is a RangeError', async () => {
    const q = new JoinableQueue<number>();
    assert.throws(() => q.taskDone(), RangeError);
    await q.put(1);
    await q.put(2);
    let joined = false;
    const j = q.join().then(() => (joined = true));
    await q.get();
    q.taskDone();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(joined, false);
    await q.get();
    q.taskDone();
    await j;
    assert.equal(joined, true);
  });

  test('shutdown: put throws ShutDown, get drains then throws; immediate drops items and releases join', async () => {
    const q = new Queue<number>();
    q.putNowait(1);
    const waiting = new Queue<number>();
    const pending = waiting.get();
    waiting.shutdown();
    await assert.rejects(pending, ShutDown);
    q.shutdown();
    assert.throws(() => q.putNowait(2), ShutDown);
    assert.equal(q.getNowait(), 1);
    await assert.rejects(q.get(), ShutDown);
    const r = new Queue<number>();
    r.putNowait(1);
    r.putNowait(2);
    r.shutdown(true);
    assert.equal(r.qsize(), 0);
    await r.join();
    await assert.rejects(r.get(), ShutDown);
  });

  test('SimpleQueue is an unbounded FIFO', () => {
    const s = new SimpleQueue<number>();
    for (let i = 0; i < 1000; i++) s.putNowait(i);
    for (let i = 0; i < 1000; i++) assert.equal(s.getNowait(), i);
  });
});

describe('Queue across threads', () => {
  // Six threads started once for these tests and sent their work: a thread is slow to start.
  const pool = pieceThreads(['T1', 'T2', 'T3', 'T4', 'T5', 'T6']);
  before(() => pool.start());
  after(() => pool.close());
  const threads = pool.threads;

  for (const mode of ['sync', 'async']) {
    test(`3 producers and 3 consumers (${mode}): no item lost or delivered twice`, async () => {
      const q = new Queue<number>(64);
      const out = new Queue<number[]>();
      const per = 4000;
      const consumers = [0, 1, 2].map((i) => piece(threads[i]!, collect, [q, out, mode]));
      const producers = [0, 1, 2].map((k) =>
        piece(threads[3 + k]!, produceRange, [q, k * per, per, mode]),
      );
      for (const t of [...consumers, ...producers]) t.start();
      for (const t of producers) await t.join();
      for (let i = 0; i < 3; i++) await q.put(-1);
      const all: number[] = [];
      for (let i = 0; i < 3; i++) all.push(...(await out.get()));
      for (const t of consumers) await t.join();
      all.sort((a, b) => a - b);
      assert.equal(all.length, 3 * per);
      for (let i = 0; i < all.length; i++) assert.equal(all[i], i);
    });
  }

  test('producer/consumer JoinableQueue: join resolves when the workers marked every item', async () => {
    const q = new JoinableQueue<unknown>();
    const results = new Queue<unknown>();
    const ts = [0, 1].map((i) => piece(threads[i]!, worker, [q, results]));
    for (const t of ts) t.start();
    for (let i = 0; i < 50; i++) await q.put({ job: i });
    await q.put(null);
    await q.put(null);
    await q.join();
    assert.equal(results.qsize(), 50);
    for (const t of ts) await t.join();
  });

  test('shared objects inside queue items arrive connected, not copied', async () => {
    const inbox = new Queue<unknown>();
    const outbox = new Queue<unknown>();
    const lock = new Lock();
    const v = Value('i', 5);
    const e = new Event();
    const t = piece(threads[0]!, echo, [inbox, outbox]);
    t.start();
    const lifo = new LifoQueue<number>();
    const prio = new PriorityQueue<number>();
    await inbox.put({ lock, v, e, q: inbox, lifo, prio });
    const back = (await outbox.get()) as {
      lock: Lock;
      v: typeof v;
      e: Event;
      q: Queue<unknown>;
      lifo: LifoQueue<number>;
      prio: PriorityQueue<number>;
    };
    assert.ok(back.lifo instanceof LifoQueue && back.prio instanceof PriorityQueue);
    back.prio.putNowait(3);
    back.prio.putNowait(1);
    assert.equal(prio.getNowait(), 1);
    await t.join();
    back.v.value = 9;
    assert.equal(v.value, 9);
    back.e.set();
    assert.equal(e.isSet(), true);
    await back.lock.acquire();
    assert.equal(lock.locked(), true);
    lock.release();
    await back.q.put(1);
    assert.equal(inbox.getNowait(), 1);
  });
});
