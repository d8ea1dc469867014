/**
 * How items are laid out in the queue's bytes (src/queue/item-codec.ts), from the bug bash:
 * - q3_hugeitem: a FIFO item over 2^28 bytes lost its length's top bit in a 28-bit header field;
 *   the item was lost and every later get threw.
 * - q1_surrogate: a string with a lone surrogate came back with U+FFFD (UTF-8 fast path).
 * - q2_bytes: putNowait threw Full with room for a short string (sized at 3 bytes per unit).
 */
import assert from 'node:assert/strict';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { test } from 'node:test';
import { inspect } from 'node:util';
import fc from 'fast-check';
import {
  Empty,
  Full,
  ItemTooLargeError,
  LifoQueue,
  PriorityQueue,
  Queue,
  SimpleQueue,
} from '../../src/queue/index.js';
import {
  headerLen,
  headerTag,
  readHeader,
  T_FALSE,
  T_NUMBER,
  WRAP,
  writeHeader,
} from '../../src/queue/item-codec.js';
import { Lock, Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { relay } from './fixtures/tasks.js';

checkLeaks();

// The largest payload the largest queue takes: half a 2^30-byte ring, less its header.
const LARGEST_PAYLOAD = 2 ** 29 - 4;

test('record header keeps tag and length up to the largest payload (q3_hugeitem)', () => {
  const dv = new DataView(new ArrayBuffer(8));
  for (let tag = T_NUMBER; tag <= T_FALSE; tag++) {
    for (const len of [0, 1, 2 ** 28 - 1, 2 ** 28, 2 ** 28 + 1000, LARGEST_PAYLOAD]) {
      writeHeader(dv, 4, tag, len);
      const h = readHeader(dv, 4);
      assert.notEqual(h, WRAP, `tag ${tag} len ${len}`);
      assert.deepEqual([headerTag(h), headerLen(h)], [tag, len]);
    }
  }
});

test('strings with lone surrogates come back unchanged from every queue kind (q1_surrogate)', () => {
  const strings = [
    'a\uD800b',
    '\uDC00',
    'x\uDBFF',
    '\uDFFF\uD800',
    'pair 😀 then lone \uD83D',
    `${'ü'.repeat(5000)}\uDC01`,
    '😀',
    'ok ✓',
  ];
  for (const q of [new Queue<string>(), new SimpleQueue<string>(), new LifoQueue<string>()]) {
    for (const s of strings) q.putNowait(s);
    const got: string[] = [];
    while (q.qsize() > 0) got.push(q.getNowait());
    if (q instanceof LifoQueue) got.reverse();
    assert.deepEqual(got, strings, q.constructor.name);
  }
  const pq = new PriorityQueue<[number, string]>();
  pq.putNowait([1, 'a\uD800']);
  assert.deepEqual(pq.getNowait(), [1, 'a\uD800']);
});

test('property: any sequence of UTF-16 code units comes back as put', () => {
  const unit = fc
    .oneof(fc.integer({ min: 0xd800, max: 0xdfff }), fc.integer({ min: 0, max: 0xffff }))
    .map((c) => String.fromCharCode(c));
  fc.assert(
    fc.property(fc.array(fc.string({ unit, maxLength: 30 }), { maxLength: 20 }), (items) => {
      const q = new Queue<string>(0, { maxbytes: 8192 });
      const l = new LifoQueue<string>(0, { maxbytes: 8192 });
      for (const s of items) {
        q.putNowait(s);
        l.putNowait(s);
      }
      assert.deepEqual(
        items.map(() => q.getNowait()),
        items,
      );
      assert.deepEqual(
        items.map(() => l.getNowait()),
        [...items].reverse(),
      );
    }),
    { numRuns: 200 },
  );
});

test('putNowait takes a short string that fits exactly (q2_bytes)', () => {
  // A 64-byte ring; a 9-char string is a 16-byte record (4 header + 9 payload + 3 padding).
  const q = new Queue<string>(0, { maxbytes: 64 });
  for (let i = 0; i < 4; i++) q.putNowait('abcdefghi');
  assert.equal(q.qsize(), 4);
  assert.throws(() => q.putNowait(''), Full);
  // A 2-byte character is 2 bytes, not 3: 'é'.repeat(6) is 12 bytes, a 16-byte record.
  q.getNowait();
  q.putNowait('é'.repeat(6));
  assert.deepEqual(
    [1, 2, 3, 4].map(() => q.getNowait()),
    ['abcdefghi', 'abcdefghi', 'abcdefghi', 'é'.repeat(6)],
  );
});

test('LifoQueue takes a short string that fits exactly; each item costs its bytes and 24', () => {
  // 128 bytes: a 20-char string takes 20 + 24; a third one leaves 128 − 132 < 0.
  const l = new LifoQueue<string | null>(0, { maxbytes: 128 });
  l.putNowait('a'.repeat(20));
  l.putNowait('b'.repeat(20));
  assert.throws(() => l.putNowait('c'.repeat(20)), Full);
  // 128 − 88 = 40 left: 16 bytes of payload and an entry (the bound, 48, would not fit).
  l.putNowait('c'.repeat(16));
  assert.throws(() => l.putNowait(null), Full);
  assert.deepEqual(
    [1, 2, 3].map(() => l.getNowait()),
    ['c'.repeat(16), 'b'.repeat(20), 'a'.repeat(20)],
  );
});

/** Characters of 1, 2, 3 and 4 UTF-8 bytes (1, 1, 1 and 2 UTF-16 units). */
const char = fc.constantFrom('a', 'z', 'é', 'ü', '✓', '€', '😀');

/** UTF-8 record bytes of a string in a ring (header, payload, padding to 4). */
const recordBytes = (s: string): number => 4 + ((Buffer.byteLength(s) + 3) & ~3);

test('property: a ring refuses a string exactly when its real record does not fit', () => {
  // The model: the ring's byte accounting (core.ts), with real UTF-8 lengths.
  const op = fc.oneof(
    fc.record({ put: fc.string({ unit: char, maxLength: 12 }) }),
    fc.constant({ get: true as const }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200, size: 'max' }), (ops) => {
      const cap = 128;
      const q = new Queue<string>(0, { maxbytes: cap });
      let tail = 0;
      let head = 0;
      const model: { s: string; bytes: number }[] = [];
      for (const o of ops) {
        if ('put' in o) {
          const need = recordBytes(o.put);
          const pos = tail % cap;
          const pad = pos + need > cap ? cap - pos : 0;
          const fits = tail - head + pad + need <= cap;
          let stored = true;
          try {
            q.putNowait(o.put);
          } catch (e) {
            assert.ok(e instanceof Full);
            stored = false;
          }
          assert.equal(stored, fits, `put ${JSON.stringify(o.put)} at ${tail - head} used`);
          if (fits) {
            tail += pad + need;
            model.push({ s: o.put, bytes: pad + need });
          }
        } else if (model.length === 0) {
          assert.throws(() => q.getNowait(), Empty);
        } else {
          const next = model.shift()!;
          assert.equal(q.getNowait(), next.s);
          head += next.bytes;
        }
      }
    }),
    { numRuns: 200 },
  );
});

test('property: a LIFO arena refuses a string exactly when its bytes and entry do not fit', () => {
  const op = fc.oneof(fc.string({ unit: char, maxLength: 12 }), fc.constant(null));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200, size: 'max' }), (ops) => {
      const cap = 256;
      const l = new LifoQueue<string>(0, { maxbytes: cap });
      const stack: string[] = [];
      let used = 0;
      const cost = (s: string) => 24 + ((Buffer.byteLength(s) + 3) & ~3);
      for (const o of ops) {
        if (o === null) {
          const s = stack.pop();
          if (s === undefined) continue;
          assert.equal(l.getNowait(), s);
          used -= cost(s);
          continue;
        }
        const fits = used + cost(o) <= cap;
        let stored = true;
        try {
          l.putNowait(o);
        } catch (e) {
          assert.ok(e instanceof Full);
          stored = false;
        }
        assert.equal(stored, fits);
        if (fits) {
          stack.push(o);
          used += cost(o);
        }
      }
      assert.equal(l.qsize(), stack.length);
    }),
    { numRuns: 200 },
  );
});

test('the largest item is half the ring less 4 bytes, or the arena less 24 (docs/queue.md)', () => {
  const q = new Queue<string>(0, { maxbytes: 1024 });
  q.putNowait('x'.repeat(508));
  assert.throws(() => q.putNowait('x'.repeat(509)), ItemTooLargeError);
  assert.equal(q.getNowait().length, 508);
  const l = new LifoQueue<string>(0, { maxbytes: 1024 });
  l.putNowait('x'.repeat(1000));
  assert.throws(() => l.putNowait('x'.repeat(1001)), ItemTooLargeError);
  const p = new PriorityQueue<[number, Uint8Array]>(0, { maxbytes: 1024 });
  assert.throws(() => p.putNowait([1, new Uint8Array(1000)]), ItemTooLargeError);
  p.putNowait([1, new Uint8Array(900)]);
  assert.equal(p.getNowait()[1].length, 900);
});

test('strings of every size and kind cross threads intact through small rings', async () => {
  // Small rings: records wrap, puts wait for room, and sizes near the room left take the exact
  // path (bound refused, real length fits) on both hops.
  const inbox = new Queue<string>(0, { maxbytes: 512 });
  const outbox = new Queue<string>(0, { maxbytes: 512 });
  const parts = ['a', 'é', '✓', '😀', '\uD800', '\uDFFF'];
  const items = Array.from({ length: 600 }, (_, i) =>
    parts[i % parts.length]!.repeat((i * 37) % 50),
  );
  const t = new Thread({ target: relay, args: [inbox, outbox, items.length] });
  t.start();
  const got: string[] = [];
  await Promise.all([
    (async () => {
      // Timeouts: a relay that died reports here instead of hanging the test.
      for (const s of items) await inbox.put(s, { timeout: 60_000 });
    })(),
    (async () => {
      for (let i = 0; i < items.length; i++) got.push(await outbox.get({ timeout: 60_000 }));
    })(),
  ]);
  await t.join();
  assert.deepEqual(got, items);
});

test('every kind of queue can be made with the largest maxbytes', () => {
  // Allocated but not touched: zero pages.
  const maxbytes = 2 ** 30;
  for (const q of [
    new Queue<number>(0, { maxbytes }),
    new SimpleQueue<number>({ maxbytes }),
    new LifoQueue<number>(0, { maxbytes }),
    new PriorityQueue<number>(0, { maxbytes }),
  ]) {
    q.putNowait(1);
    assert.equal(q.getNowait(), 1);
  }
});

test('a FIFO string over 2^28 bytes round-trips and the queue goes on (q3_hugeitem)', () => {
  // About 0.8 GiB at the peak: the ring's 1 GiB is mostly untouched (zero pages).
  const q = new Queue<string>(0, { maxbytes: 2 ** 30 });
  const big = `${'y'.repeat(2 ** 28 + 5)}end`;
  q.putNowait(big);
  q.putNowait('after');
  assert.equal(q.qsize(), 2);
  const back = q.getNowait();
  // Not assert.equal: a failure would print both strings.
  assert.ok(back === big, `got ${back.length} chars`);
  assert.equal(q.getNowait(), 'after');
  assert.throws(() => q.getNowait(), Empty);
});

/**
 * Runs `body` with node:v8's `deserialize` counted (`calls()`: how many so far): the queue's
 * reader imports it by name, so the module's export is swapped and synced for the call.
 */
function countingDeserialize(body: (calls: () => number) => void): void {
  const v8 = createRequire(import.meta.url)('node:v8') as typeof import('node:v8');
  const real = v8.deserialize;
  let n = 0;
  v8.deserialize = (b: NodeJS.ArrayBufferView) => {
    n++;
    return real(b);
  };
  syncBuiltinESMExports();
  try {
    body(() => n);
  } finally {
    v8.deserialize = real;
    syncBuiltinESMExports();
  }
}

test('plain items are read back without v8.deserialize; every kind comes back as it was put', () => {
  // The cyclic and the shared: V8 writes a back-reference for an object met again.
  const shared = { s: 1 };
  const cyclic: Record<string, unknown> = { name: 'c' };
  cyclic.self = cyclic;
  const holey: unknown[] = [1];
  holey[2] = 3; // a hole at 1, which must stay one
  const named = Object.assign([1, 2], { extra: 'named' });
  const plain: unknown[] = [
    { id: 7, op: 'echo', args: [1, 2, 3] },
    [0, -0, 1.5, -(2 ** 31), 2 ** 31, 2 ** 53, Number.NaN, Infinity, -Infinity],
    ['', 'latin1 é', 'two-byte €', 'emoji 😀', 'x'.repeat(60_000)],
    { u: undefined, n: null, t: true, f: false, nested: { a: { b: { c: [[], {}] } } } },
    Object.assign(Object.create(null), { noProto: 1 }),
    JSON.parse('{"__proto__": {"own": true}, "0": "index", "4294967295": "not an index"}'),
    [shared, shared, { again: shared }],
    cyclic,
    holey,
  ];
  const others: unknown[] = [
    new Map<unknown, unknown>([
      [1, { a: 1 }],
      ['k', [2]],
    ]),
    new Set([1, 'two', { three: 3 }]),
    new Date(86_400_000),
    /ab+c/gi,
    new Uint8Array([1, 2, 3]),
    new Float64Array([0.5, -0]),
    new ArrayBuffer(8),
    10n ** 30n,
    named,
    { deep: [{ fine: 1 }, { later: new Map([[1, 2]]) }] },
    'lone \uD800 surrogate',
    // Past the JavaScript reader's bounds (64 KiB, 256 elements): V8 reads them.
    ['x'.repeat(70_000)],
    Array.from({ length: 257 }, (_, i) => i),
  ];
  countingDeserialize((calls) => {
    const queues = [new Queue(), new SimpleQueue(), new LifoQueue()];
    for (const q of queues) {
      for (const x of [...plain, ...others]) {
        q.putNowait(x);
        const before = calls();
        const got = q.getNowait();
        const what = `${q.constructor.name}: ${inspect(x, { depth: 1 }).slice(0, 60)}`;
        // What structured clone gives (V8's writer and reader): strict, so holes, -0, key order
        // and prototypes count.
        assert.deepStrictEqual(got, structuredClone(x), what);
        if (plain.includes(x)) assert.equal(calls(), before, `${what}: read without V8`);
        if (x === plain[6]) {
          const [a, b, c] = got as [object, object, { again: object }];
          assert.ok(a === b && b === c.again, `${what}: one object, met three times`);
        }
        if (x === cyclic) assert.equal((got as typeof cyclic).self, got, `${what}: cyclic`);
      }
    }
    const pq = new PriorityQueue<[number, unknown]>();
    pq.putNowait([1, plain[0]]);
    const before = calls();
    assert.deepEqual(pq.getNowait(), [1, plain[0]]);
    assert.equal(calls(), before);
    // Errors, SharedArrayBuffers and weft's shared objects are descriptors: revived as before.
    const sab = new SharedArrayBuffer(8);
    const e = Object.assign(new RangeError('bad'), { code: 'E_X' });
    const lock = new Lock();
    const q = new Queue();
    q.putNowait({ e, sab, lock, plain: 'text' });
    const got = q.getNowait() as { e: Error; sab: SharedArrayBuffer; lock: Lock; plain: string };
    assert.ok(got.e instanceof RangeError);
    assert.equal(got.e.message, 'bad');
    assert.equal((got.e as Error & { code: string }).code, 'E_X');
    assert.ok(got.sab instanceof SharedArrayBuffer);
    new Uint8Array(got.sab)[0] = 42;
    assert.equal(new Uint8Array(sab)[0], 42);
    assert.ok(got.lock instanceof Lock);
    lock.acquireSync();
    assert.equal(got.lock.locked(), true);
    lock.release();
    assert.equal(got.plain, 'text');
  });
});

test('large plain items (over 64 KiB, or an array over 256 elements) are read by V8, not walked in JavaScript first', () => {
  const big: unknown[] = [
    Array.from({ length: 1000 }, (_, i) => i * 1.5),
    {
      rows: Array.from({ length: 200 }, (_, i) => ({
        id: i,
        name: `row ${i}`,
        pad: 'p'.repeat(400),
      })),
    },
    [[1, 2], Array.from({ length: 300 }, () => 'x')],
  ];
  countingDeserialize((calls) => {
    for (const q of [new Queue(), new SimpleQueue(), new LifoQueue()]) {
      for (const x of big) {
        q.putNowait(x);
        const before = calls();
        assert.deepStrictEqual(q.getNowait(), structuredClone(x));
        assert.equal(calls(), before + 1, `${q.constructor.name}: ${inspect(x).slice(0, 40)}`);
      }
    }
  });
});
