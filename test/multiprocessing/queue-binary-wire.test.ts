/**
 * A binary item of up to 64 KiB crosses the broker as a one-byte string (src/internal/process/
 * broker-item.ts), not as a typed array that Node's serializer handles with a JavaScript
 * callback at each step. What the form could break: the kind and bytes of each item, their order
 * among other items, empty and large buffers, views sharing one buffer, frames split across
 * reads, and batches lent to a getter and handed back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import v8 from 'node:v8';
import { Process, Queue } from '../../src/multiprocessing/index.js';
import { putAll, takeSomeAndClose } from './fixtures/binary-wire-targets.js';

/** Items of every binary kind and size class, with objects and look-alike strings between them. */
function mixed(): unknown[] {
  const ab = new ArrayBuffer(24);
  new Uint8Array(ab).forEach((_, i, a) => {
    a[i] = i;
  });
  return [
    new Uint8Array(1024).fill(7),
    { a: 1, b: [true, 'x'] },
    Buffer.from('a buffer'),
    'ÿ\x84 a string that starts as a binary item does',
    new Float64Array([0.5, -2, Number.MAX_VALUE]),
    new DataView(new Uint8Array([1, 2, 3]).buffer),
    ab,
    42,
    new Int16Array([-1, 2, -3]),
    new BigInt64Array([-(2n ** 60n), 5n]),
    new Uint8ClampedArray([0, 255]),
    new Uint8Array(0),
    Buffer.alloc(0),
    new ArrayBuffer(0),
    new Float32Array(0),
    new Uint8Array(64 * 1024).fill(3),
    new Uint8Array(64 * 1024 + 1).fill(4),
    new Uint8Array(1024 * 1024 + 3).fill(5),
    'ÿ\x80',
    null,
  ];
}

describe('binary queue items through the broker', () => {
  test('a 1 KiB item is written and read without a host-object callback', async () => {
    const proto = Object.getPrototypeOf(new v8.DefaultSerializer()) as {
      _writeHostObject: (o: unknown) => void;
    };
    const dproto = Object.getPrototypeOf(new v8.DefaultDeserializer(Buffer.alloc(0))) as {
      _readHostObject: () => unknown;
    };
    const write = proto._writeHostObject;
    const read = dproto._readHostObject;
    let calls = 0;
    proto._writeHostObject = function (this: unknown, o: unknown) {
      calls++;
      return write.call(this, o);
    };
    dproto._readHostObject = function (this: unknown) {
      calls++;
      return read.call(this);
    };
    const q = new Queue<unknown>();
    try {
      const put = [new Uint8Array(1024).fill(1), Buffer.alloc(1024, 2), new Float64Array(128)];
      for (const v of put) q.putNowait(v);
      const got = [];
      for (let i = 0; i < put.length; i++) got.push(await q.get({ timeout: 60_000 }));
      assert.deepStrictEqual(got, put);
      assert.equal(calls, 0, 'host-object callbacks in this thread');
    } finally {
      proto._writeHostObject = write;
      dproto._readHostObject = read;
      q.close();
    }
  });

  test('mixed items in order: streamed, and through a bounded queue (putNowait, getSync)', async () => {
    const q = new Queue<unknown>();
    const b = new Queue<unknown>(100);
    try {
      const put = mixed();
      for (const v of put) q.putNowait(v);
      for (const v of put) assert.deepStrictEqual(await q.get({ timeout: 60_000 }), v);
      for (const v of put) b.putNowait(v);
      for (const v of put) {
        const got = b.getSync({ timeout: 60_000 });
        // Past 64 KiB an item is a typed array, which the sync client thread's postMessage hands
        // over as a Uint8Array (a Buffer's class is lost there).
        assert.deepStrictEqual(got, Buffer.isBuffer(v) && v.length > 65536 ? new Uint8Array(v) : v);
      }
    } finally {
      q.close();
      b.close();
    }
  });

  test('two views of one buffer: each item holds its own bytes, as they were at the put', async () => {
    const q = new Queue<ArrayBufferView>();
    try {
      const ab = new ArrayBuffer(64);
      const bytes = new Uint8Array(ab, 8, 16).fill(9);
      const doubles = new Float64Array(ab, 24, 4).fill(1.25);
      q.putNowait(bytes);
      q.putNowait(doubles);
      new Uint8Array(ab).fill(0);
      const a = (await q.get({ timeout: 60_000 })) as Uint8Array;
      const d = (await q.get({ timeout: 60_000 })) as Float64Array;
      assert.ok(a instanceof Uint8Array && !(a instanceof Buffer));
      assert.deepStrictEqual([...a], new Array(16).fill(9));
      assert.ok(d instanceof Float64Array);
      assert.deepStrictEqual([...d], [1.25, 1.25, 1.25, 1.25]);
      a.fill(1);
      assert.deepStrictEqual([...d], [1.25, 1.25, 1.25, 1.25], 'the items share no memory');
    } finally {
      q.close();
    }
  });

  test("a view's class is its own, not what its Symbol.toStringTag says; a Float16Array stays one", async () => {
    class Tagged extends Uint8Array {}
    Object.defineProperty(Tagged.prototype, Symbol.toStringTag, { get: () => 'Float64Array' });
    const F16 = (globalThis as { Float16Array?: new (a: number[]) => ArrayBufferView })
      .Float16Array;
    const big = new Uint8Array(64 * 1024 + 3).fill(6);
    const put: Array<[ArrayBufferView, ArrayBufferView]> = [
      [new Tagged([1, 2, 3]), new Uint8Array([1, 2, 3])],
      [new Tagged(big), big],
    ];
    if (F16 !== undefined) {
      // Node 24 on: small, and past 64 KiB.
      put.push([new F16([1.5, -2]), new F16([1.5, -2])]);
      const f = new F16(new Array(40_000).fill(0.25));
      put.push([f, f]);
    }
    const q = new Queue<unknown>();
    const b = new Queue<unknown>(100);
    try {
      for (const [v] of put) q.putNowait(v);
      for (const [, want] of put) assert.deepStrictEqual(await q.get({ timeout: 60_000 }), want);
      for (const [v] of put) b.putNowait(v);
      for (const [, want] of put) assert.deepStrictEqual(b.getSync({ timeout: 60_000 }), want);
    } finally {
      q.close();
      b.close();
    }
  });

  test('a Buffer subclass whose Symbol.toStringTag lies, put blocking, arrives as a Buffer of its bytes does', async () => {
    class TaggedBuffer extends Buffer {}
    Object.defineProperty(TaggedBuffer.prototype, Symbol.toStringTag, { get: () => 'Int32Array' });
    // Past 64 KiB (a small item travels as a string) and not a whole number of Int32s.
    const bytes = Buffer.alloc(64 * 1024 + 3);
    bytes.forEach((_, i) => {
      bytes[i] = i % 251;
    });
    const tagged = Buffer.from(bytes);
    Object.setPrototypeOf(tagged, TaggedBuffer.prototype);
    const b = new Queue<unknown>(100);
    try {
      // Bounded: putNowait and putSync are blocking calls.
      b.putNowait(tagged);
      b.putSync(tagged, { timeout: 60_000 });
      b.putNowait(Buffer.from(bytes));
      const got = [0, 1, 2].map(() => b.getSync({ timeout: 60_000 }) as Uint8Array);
      // On a thread's own socket a Buffer arrives as a Buffer; through a sync client thread,
      // whose MessagePort copies it, as a Uint8Array: the tagged one as the plain one, each way.
      assert.deepStrictEqual(got[0], got[2]);
      assert.deepStrictEqual(got[1], got[2]);
      assert.ok(got[2] instanceof Uint8Array);
      assert.ok(bytes.equals(got[2] as Uint8Array));
    } finally {
      b.close();
    }
  });

  test('frames longer than a read: 60 KiB items put in one turn come back whole, in order', async () => {
    const q = new Queue<Uint8Array>();
    try {
      const n = 40;
      for (let i = 0; i < n; i++) q.putNowait(new Uint8Array(60 * 1024).fill(i));
      for (let i = 0; i < n; i++) {
        const got = await q.get({ timeout: 60_000 });
        assert.equal(got.length, 60 * 1024);
        assert.ok(
          got.every((x) => x === i),
          `item ${i}`,
        );
      }
    } finally {
      q.close();
    }
  });

  test('across processes: a batch lent to a getter, part of it handed back, keeps its order', async () => {
    const q = new Queue<unknown>();
    const out = new Queue<unknown>();
    try {
      const put = mixed();
      const producer = new Process({ target: putAll, args: [q, put] });
      producer.start();
      await producer.join();
      assert.equal(producer.exitcode, 0);
      const taker = new Process({ target: takeSomeAndClose, args: [q, out, 3] });
      taker.start();
      await taker.join();
      assert.equal(taker.exitcode, 0);
      for (let i = 0; i < 3; i++)
        assert.deepStrictEqual(await out.get({ timeout: 60_000 }), put[i]);
      for (let i = 3; i < put.length; i++)
        assert.deepStrictEqual(await q.get({ timeout: 60_000 }), put[i], `item ${i}`);
      assert.equal(q.qsize(), 0);
    } finally {
      q.close();
      out.close();
    }
  });
});
