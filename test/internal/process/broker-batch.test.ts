/**
 * A batch of queue items taken as bytes (src/internal/process/broker-batch.ts): its frame must
 * read, with V8's reader and the broker's, as `[{ r, v: items }]`, whether the items came from the store's
 * heap front or its off-heap log, across chunk boundaries, for items of 0 bytes up to 64 KiB,
 * numbers of every kind among them; it stops before an item it does not write, and past its
 * byte bound; and no item is lost, repeated or reordered by batches, shifts and hand-backs.
 * And on the way in: a putMany's items read as their bytes (RawItems) only where the broker
 * expects them, and stored as the same items as one by one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import v8 from 'node:v8';
import fc from 'fast-check';
import { takeBatch } from '../../../src/internal/process/broker-batch.js';
import { ItemStore } from '../../../src/internal/process/broker-store.js';
import { splitFrames, unframe } from '../../../src/internal/process/broker-wire.js';
import {
  RawItems,
  readSmall,
  setRawItems,
  settleRawItems,
} from '../../../src/internal/v8-format.js';

/** A queue item as broker-item.ts sends `n` bytes: U+00FF, a kind, one character per byte. */
function bytesItem(n: number, fill = 0x41): string {
  return `\u00ff\u0084${String.fromCharCode(fill & 0xff).repeat(n)}`;
}

/** Checks that V8's reader and the broker's read `frame` as `[{ r, v: items }]`. */
function checkFrame(frame: Buffer, r: number, items: unknown[]): void {
  assert.equal(frame.readUInt32LE(0), frame.length - 4);
  const body = frame.subarray(4);
  assert.deepStrictEqual(v8.deserialize(body), [{ r, v: items }]);
  assert.deepStrictEqual(unframe(body), [{ r, v: items }]);
}

function drain(s: ItemStore): unknown[] {
  const out: unknown[] = [];
  while (s.length > 0) out.push(s.shift());
  return out;
}

describe('broker batches taken as bytes', () => {
  test('from the front, the log and both, across chunks: the bytes V8 writes for them', () => {
    const sizes = [0, 1, 2, 127, 128, 1022, 1024, 4094, 4096, 4097, 16_383, 16_384, 65_535, 65_536];
    const items = sizes.map((n, i) => bytesItem(n, 0x30 + i));
    for (const [heap, chunk] of [
      [1 << 30, 256 * 1024], // all in the front
      [0, 4096], // all but the first in the log, records larger than a chunk among them
      [10_000, 5000], // some of each
    ] as const) {
      const s = new ItemStore(heap, chunk);
      for (const x of items) s.push(x);
      assert.equal(s.firstIsBytes(), true);
      const b = takeBatch(s, 100, 7);
      assert.equal(b.length, items.length);
      checkFrame(b.frame, 7, items);
      // Strings made one byte per character are the very bytes V8 writes. (V8 writes a string
      // by how it holds it, a number by whether it holds it as an int: the same values.)
      assert.ok(b.frame.subarray(4).equals(v8.serialize([{ r: 7, v: items }])));
      assert.deepEqual(b.items(), items);
      assert.equal(s.length, 0);
      assert.equal(s.firstIsBytes(), false);
    }
  });

  test('numbers go with the items; it stops before anything else, and at `max`', () => {
    const nums = [0, -0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 0.5, Number.NaN, -Infinity];
    const others = [{ a: 1 }, 'plain', 'two-byte \u0100', ['\u00ff\u0010x', ['t']], null, true];
    for (const heap of [1 << 30, 0]) {
      for (const other of others) {
        const s = new ItemStore(heap, 512);
        const head = [bytesItem(3), ...nums, bytesItem(5, 0x61)];
        for (const x of [...head, other, bytesItem(9)]) s.push(x);
        const b = takeBatch(s, 1000, 3);
        assert.deepEqual(b.items(), head);
        checkFrame(b.frame, 3, head);
        // The rest is the store's, in order, the item that stopped the batch first.
        assert.deepEqual(drain(s), [other, bytesItem(9)]);
      }
      const s = new ItemStore(heap, 512);
      for (let i = 0; i < 10; i++) s.push(bytesItem(i));
      const b = takeBatch(s, 4, 2 ** 31);
      assert.deepEqual(
        b.items(),
        [0, 1, 2, 3].map((i) => bytesItem(i)),
      );
      checkFrame(b.frame, 2 ** 31, b.items());
      assert.equal(s.length, 6);
      assert.equal(s.shift(), bytesItem(4));
    }
  });

  test('a batch stops past its byte bound; the next batches take the rest in order', () => {
    const s = new ItemStore(1 << 20, 256 * 1024);
    const n = 100;
    for (let i = 0; i < n; i++) s.push(bytesItem(64 * 1024, i));
    const got: unknown[] = [];
    let batches = 0;
    while (s.length > 0) {
      const b = takeBatch(s, 1000, batches);
      assert.ok(b.length >= 1);
      assert.ok(b.frame.length < 2 * 1024 * 1024 + 128 * 1024, `frame of ${b.frame.length} bytes`);
      checkFrame(b.frame, batches, b.items());
      got.push(...b.items());
      batches++;
    }
    assert.ok(batches > 1);
    assert.deepEqual(
      got,
      Array.from({ length: n }, (_, i) => bytesItem(64 * 1024, i)),
    );
  });

  test('batches, shifts, hand-backs and pushes lose, repeat and reorder nothing (property)', () => {
    const itemArb = fc.oneof(
      fc.nat({ max: 5000 }).map((n) => bytesItem(n, n)),
      fc.integer(),
      fc.double(),
      fc.string({ maxLength: 20 }),
      fc.constant({ o: 1 }),
    );
    const op = fc.oneof(
      fc.record({ push: fc.array(itemArb, { maxLength: 40 }) }),
      fc.record({ batch: fc.integer({ min: 2, max: 50 }) }),
      fc.record({ shift: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ back: fc.integer({ min: 1, max: 5 }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 64, max: 8192 }),
        fc.array(op, { maxLength: 40 }),
        (heap, chunk, ops) => {
          const s = new ItemStore(heap, chunk);
          // The model: what the queue holds, oldest first; and what was taken, for hand-backs.
          const model: unknown[] = [];
          let lastTaken: unknown[] = [];
          for (const o of ops) {
            if ('push' in o) {
              for (const x of o.push) s.push(x);
              model.push(...o.push);
            } else if ('batch' in o) {
              if (!s.firstIsBytes()) {
                const x = model[0];
                assert.ok(!(typeof x === 'string' && x.charCodeAt(0) === 0xff));
                continue;
              }
              const b = takeBatch(s, o.batch, 1);
              const want = model.splice(0, b.length);
              assert.deepEqual(b.items(), want);
              checkFrame(b.frame, 1, want);
              lastTaken = want;
            } else if ('shift' in o) {
              const k = Math.min(o.shift, model.length);
              const got = Array.from({ length: k }, () => s.shift());
              const want = model.splice(0, k);
              assert.deepEqual(got, want);
              lastTaken = want;
            } else {
              // A getter hands back what it had not used: the last items it took, in front.
              const back = lastTaken.slice(-o.back);
              for (let i = back.length - 1; i >= 0; i--) s.unshift(back[i]);
              model.unshift(...back);
              lastTaken = [];
            }
            assert.equal(s.length, model.length);
          }
          assert.deepEqual(drain(s), model);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("a putMany's items read as bytes (v8-format.ts's RawItems)", () => {
  /** The frame body of `ms`, read as the broker reads it; RawItems settled after. */
  function brokerRead(ms: unknown[]): unknown[] {
    setRawItems(true);
    try {
      const body = v8.serialize(ms);
      const got = unframe(body) as unknown[];
      // The frame's bytes are reused after the frame: what is not taken gets its own copy.
      settleRawItems();
      body.fill(0);
      return got;
    } finally {
      setRawItems(false);
    }
  }

  /** The items `r` holds, stored the way the broker stores them. */
  function rawValues(r: RawItems): unknown[] {
    const s = new ItemStore(1 << 30);
    s.pushRaw(r);
    return drain(s);
  }

  test('only the items of a putMany message of the frame, first one sent as bytes', () => {
    const items = [bytesItem(0), 7, -0, 0.25, bytesItem(1024, 0x33), 2 ** 31];
    const shared = { s: 1 };
    const [put, other, nested, ship, ints, user, ref1, ref2] = brokerRead([
      { r: -1, o: 'putMany', id: 'q', a: items },
      { r: -1, o: 'put', id: 'q', a: [...items] },
      { r: 2, o: 'call', a: [{ o: 'putMany', a: [...items] }] },
      { r: 3, o: 'get', ship: [{ r: -1, o: 'putMany', id: 'q', a: [...items] }] },
      { r: -1, o: 'putMany', id: 'q', a: [1, bytesItem(3)] },
      { r: -1, o: 'putMany', id: 'q', a: [bytesItem(3), 'plain string', bytesItem(4)] },
      shared,
      shared,
    ]) as Array<Record<string, unknown>>;
    assert.ok(put?.a instanceof RawItems);
    assert.equal(put.a.length, items.length);
    assert.deepStrictEqual(rawValues(put.a), items);
    assert.deepStrictEqual(other?.a, items);
    assert.deepStrictEqual(nested, { r: 2, o: 'call', a: [{ o: 'putMany', a: items }] });
    assert.deepStrictEqual(ship, {
      r: 3,
      o: 'get',
      ship: [{ r: -1, o: 'putMany', id: 'q', a: items }],
    });
    assert.deepStrictEqual(ints?.a, [1, bytesItem(3)]);
    assert.deepStrictEqual(user?.a, [bytesItem(3), 'plain string', bytesItem(4)]);
    // References after the items still find their objects (the items hold a number's place).
    assert.deepStrictEqual(ref1, { s: 1 });
    assert.equal(ref1, ref2);
    // The same items referred to again in the frame: all of it read as arrays (by V8).
    const [again, ref] = brokerRead([
      { r: -1, o: 'putMany', id: 'q', a: items },
      { r: -1, o: 'put', id: 'q', a: items },
    ]) as Array<Record<string, unknown>>;
    assert.deepStrictEqual(again?.a, items);
    assert.equal(ref?.a, again?.a);
    // Values read outside the broker's frames (serialize.ts's) are never read so.
    setRawItems(true);
    try {
      const v = readSmall(v8.serialize([{ r: -1, o: 'putMany', a: items }]), ['', '']);
      assert.deepStrictEqual(v, [{ r: -1, o: 'putMany', a: items }]);
    } finally {
      setRawItems(false);
    }
    // Without the broker's setting nothing is read so.
    const plain = unframe(v8.serialize([{ r: -1, o: 'putMany', id: 'q', a: items }])) as Array<
      Record<string, unknown>
    >;
    assert.deepStrictEqual(plain[0]?.a, items);
  });

  test('a putMany not stored by the end of its frame keeps its items when the buffer is reused', () => {
    // splitFrames settles the frame's RawItems after its messages: one a handler keeps for later
    // (a sync request waiting for its thread's async messages) must not view the read buffer.
    const framed = (ms: unknown[]): Buffer => {
      const body = v8.serialize(ms);
      const head = Buffer.alloc(4);
      head.writeUInt32LE(body.length);
      return Buffer.concat([head, body]);
    };
    const kept = [bytesItem(10, 0x61), 5, bytesItem(20, 0x62)];
    const buf = Buffer.concat([
      framed([
        { r: -1, o: 'putMany', id: 'q', a: kept },
        { r: -1, o: 'putMany', id: 'q', a: [bytesItem(3, 0x63)] },
      ]),
      framed([{ r: -1, o: 'putMany', id: 'q', a: [bytesItem(4, 0x64), bytesItem(5, 0x65)] }]),
    ]);
    const s = new ItemStore(0, 64);
    let later: RawItems | null = null;
    setRawItems(true);
    try {
      splitFrames(buf, 0, buf.length, false, {
        messages(ms) {
          for (const m of ms as Array<{ a: RawItems }>) {
            assert.ok(m.a instanceof RawItems);
            if (later === null) later = m.a;
            else s.pushRaw(m.a);
          }
          return true;
        },
        unreadable: () => false,
      });
    } finally {
      setRawItems(false);
    }
    buf.fill(0);
    s.pushRaw(later as unknown as RawItems);
    assert.deepStrictEqual(drain(s), [
      bytesItem(3, 0x63),
      bytesItem(4, 0x64),
      bytesItem(5, 0x65),
      ...kept,
    ]);
  });

  test('stored from bytes or one by one, a store holds the same, front and log alike', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 64, max: 4096 }),
        fc.array(
          fc.array(
            fc.oneof(
              fc.nat({ max: 3000 }).map((n) => bytesItem(n, n)),
              fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
              fc.double(),
            ),
            { maxLength: 30 },
          ),
          { maxLength: 8 },
        ),
        (heap, chunk, batches) => {
          const one = new ItemStore(heap, chunk);
          const raw = new ItemStore(heap, chunk);
          for (const b of batches) {
            const items = [bytesItem(b.length, 0x7a), ...b];
            for (const x of items) one.push(x);
            const [m] = brokerRead([{ r: -1, o: 'putMany', id: 'q', a: items }]) as Array<{
              a: unknown;
            }>;
            assert.ok(m?.a instanceof RawItems);
            raw.pushRaw(m.a);
            assert.equal(raw.length, one.length);
            assert.equal(raw.logged, one.logged);
          }
          assert.deepStrictEqual(drain(raw), drain(one));
        },
      ),
      { numRuns: 150 },
    );
  });
});
