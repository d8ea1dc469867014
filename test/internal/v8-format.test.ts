/**
 * The JavaScript writer and reader of V8's format for small values (src/internal/v8-format.ts):
 * whatever they accept must come back exactly as `v8.serialize`/`v8.deserialize` bring it back
 * (checked on arbitrary values, shared and cyclic ones included), and whatever they do not
 * know they must leave to V8.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import v8 from 'node:v8';
import fc from 'fast-check';
import { decode, encode, fromBytes, toBytes } from '../../src/internal/serialize.js';
import {
  _unchecked,
  NOT_SMALL,
  readMarked,
  readSmall,
  writeSmall,
} from '../../src/internal/v8-format.js';

const ESCAPE = Symbol('escape');
const MARKS = ['__weft$', '$sab'] as const;

/**
 * `a` and `b` are the same value: primitives by `Object.is`; objects one to one (an object met
 * twice in `a` is one object met twice in `b`, cycles included), with the same prototype, the
 * same own keys in the same order, the same attributes and, recursively, the same values — so
 * a hole is not an undefined element, -0 is not 0, and an own `__proto__` is not a prototype.
 */
function sameValue(
  a: unknown,
  b: unknown,
  ab = new Map<object, object>(),
  ba = new Map(),
): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null)
    return Object.is(a, b);
  const paired = ab.get(a);
  if (paired !== undefined || ba.has(b)) return paired === b && ba.get(b) === a;
  ab.set(a, b);
  ba.set(b, a);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const plain = Array.isArray(a) || [Object.prototype, null].includes(Object.getPrototypeOf(a));
  // Node's isDeepStrictEqual finds two Invalid Dates unequal (it compares getTime() with ===),
  // also as a Map's keys: Dates, and Maps and Sets (whose order V8 keeps), are compared here.
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof Map || a instanceof Set)
    return sameValue([...a], [...(b as Map<unknown, unknown> | Set<unknown>)], ab, ba);
  // What only V8 carries (a typed array, a boxed value…) came through V8 on both sides.
  if (!plain) return isDeepStrictEqual(a, b);
  const ka = Reflect.ownKeys(a);
  const kb = Reflect.ownKeys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  for (const k of ka) {
    const da = Object.getOwnPropertyDescriptor(a, k) as PropertyDescriptor;
    const db = Object.getOwnPropertyDescriptor(b, k) as PropertyDescriptor;
    if (da.enumerable !== db.enumerable || da.writable !== db.writable) return false;
    if (!sameValue(da.value, db.value, ab, ba)) return false;
  }
  return true;
}

/** What V8 alone brings back from `v`, or the error it throws. */
function throughV8(v: unknown): { value: unknown } | { error: unknown } {
  try {
    return { value: v8.deserialize(v8.serialize(v)) };
  } catch (error) {
    return { error };
  }
}

/** Every UTF-16 code unit, lone surrogates included (fast-check's units leave them out). */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const strings = fc.oneof(
  fc.string({ unit: 'binary-ascii' }),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: codeUnit }),
  fc.string({ unit: 'binary-ascii', minLength: 20, maxLength: 300 }),
);
/** Keys V8 treats apart: array indices (written as numbers), near misses, `__proto__`. */
const keys = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '0',
    '1',
    '7',
    '2147483647',
    '2147483648',
    '4294967294',
    '4294967295',
    '01',
    '-1',
    '1.5',
    '__proto__',
    'length',
    '€',
  ),
  strings,
);
const withExtras = {
  key: keys,
  values: [
    strings,
    fc.double(),
    fc.integer(),
    fc.constantFrom(-0, Number.NaN, 2 ** 31, -(2 ** 31)),
  ],
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withTypedArray: true,
  withSparseArray: true,
  maxDepth: 4,
};
const plainOnly = { key: keys, values: withExtras.values, withNullPrototype: true, maxDepth: 4 };

/** Objects and arrays of `v`, in the order a walk meets them. */
function containers(v: unknown, out: object[] = [], seen = new Set<object>()): object[] {
  if (typeof v !== 'object' || v === null || seen.has(v)) return out;
  const p = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && p !== Object.prototype && p !== null) return out;
  seen.add(v);
  out.push(v);
  for (const k of Object.keys(v)) containers((v as Record<string, unknown>)[k], out, seen);
  return out;
}

/**
 * `v` with references added between its objects: `links` pairs [from, to] of indices into its
 * containers, so an object may end up held twice, or inside itself.
 */
function entangle(v: unknown, links: [number, number][]): unknown {
  const cs = containers(v);
  if (cs.length === 0) return v;
  links.forEach(([from, to], i) => {
    const a = cs[from % cs.length] as Record<string, unknown> | unknown[];
    const b = cs[to % cs.length] as object;
    if (Array.isArray(a)) a.push(b);
    else a[`link${i}`] = b;
  });
  return v;
}

const entangled = (constraints: object) =>
  fc
    .tuple(fc.anything(constraints), fc.array(fc.tuple(fc.nat(50), fc.nat(50)), { maxLength: 4 }))
    .map(([v, links]) => entangle(v, links));

// No shrinking: a counterexample with cycles can take minutes to shrink, and is printed as found.
const runs = { numRuns: 400, endOnFailure: true };

describe('v8-format', () => {
  test("its first use's check passes on this Node: the fast path is on", () => {
    assert.equal(_unchecked.selfTest(), true);
    assert.ok(writeSmall({ id: 1, op: 'echo', args: [1, 2, 3] }, 0, ESCAPE) !== null);
  });

  test('what it writes, V8 reads back as V8 would have written it (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(withExtras), entangled(withExtras)), (v) => {
        const mine = writeSmall(v, 0, ESCAPE);
        if (mine === null) return true;
        const theirs = throughV8(v);
        assert.ok('value' in theirs, 'written here, but V8 refuses it');
        assert.ok(sameValue(v8.deserialize(mine), theirs.value));
        return true;
      }),
      runs,
    );
  });

  test('what V8 writes, it reads back as V8 does (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(withExtras), entangled(withExtras)), (v) => {
        const theirs = throughV8(v);
        if (!('value' in theirs)) return true;
        const bytes = v8.serialize(v);
        const mine = readSmall(bytes, MARKS);
        if (mine !== NOT_SMALL) assert.ok(sameValue(mine, theirs.value));
        return true;
      }),
      runs,
    );
  });

  test('plain values take the fast path both ways and come back the same (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(plainOnly), entangled(plainOnly)), (v) => {
        const mine = writeSmall(v, 0, ESCAPE);
        assert.ok(mine !== null, 'a plain value was left to V8');
        const back = readSmall(mine, MARKS);
        assert.ok(back !== NOT_SMALL, 'its own bytes were left to V8');
        assert.ok(sameValue(back, v8.deserialize(mine)));
        assert.ok(sameValue(back, (throughV8(v) as { value: unknown }).value));
        return true;
      }),
      runs,
    );
  });

  test('toBytes and fromBytes give what encode, v8 and decode gave (property)', () => {
    const old = (v: unknown) => {
      try {
        return { value: decode(v8.deserialize(v8.serialize(encode(v, 'bytes')))) };
      } catch (error) {
        return { error };
      }
    };
    const now = (v: unknown) => {
      try {
        return { value: fromBytes(toBytes(v, 'test')) };
      } catch (error) {
        return { error };
      }
    };
    fc.assert(
      fc.property(fc.oneof(fc.anything(withExtras), entangled(withExtras)), (v) => {
        const a = old(v);
        const b = now(v);
        assert.equal('value' in b, 'value' in a);
        if ('value' in a && 'value' in b) assert.ok(sameValue(b.value, a.value));
        return true;
      }),
      runs,
    );
  });

  test('the values V8 sets apart come back exact', () => {
    const shared = { s: 1 };
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    const ownProto = JSON.parse('{"__proto__": {"x": 1}, "y": 2}');
    const cases: unknown[] = [
      [-0, 0, Number.NaN, Number.POSITIVE_INFINITY, -(2 ** 31), 2 ** 31, 2 ** 53, 5e-324],
      [undefined, null, { u: undefined, n: null }],
      { 0: 'a', 1: 'b', 4294967294: 'last index', 4294967295: 'a name', '01': 'a name too' },
      ownProto,
      Object.assign(Object.create(null), { a: 1 }),
      ['é', 'ÿ', '€', 'a€', '\ud800', '\u{1F600}', 'x'.repeat(100), '€'.repeat(100)],
      { '€': 1, é: 2, [`${'k'.repeat(30)}`]: 3 },
      [shared, { again: shared }, [shared]],
      cyclic,
      [[[[[]]]]],
      {
        get computed() {
          return 42;
        },
      },
    ];
    for (const [i, v] of cases.entries()) {
      const mine = writeSmall(v, 0, ESCAPE);
      assert.ok(mine !== null, `case ${i} was left to V8`);
      const expected = (throughV8(v) as { value: unknown }).value;
      assert.ok(sameValue(v8.deserialize(mine), expected), 'V8 reads ours');
      assert.ok(sameValue(readSmall(mine, MARKS), expected), 'we read ours');
      assert.ok(sameValue(readSmall(v8.serialize(v), MARKS), expected), "we read V8's");
    }
    // The own "__proto__" stays an own property, not the prototype.
    const back = readSmall(v8.serialize(ownProto), MARKS) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, { x: 1 });
  });

  test('what it does not know it leaves to V8 (writing) and gives up on (reading)', () => {
    class Point {
      x = 1;
    }
    // biome-ignore lint/suspicious/noSparseArray: a hole is the case under test
    const holey = [1, , 3];
    const named = Object.assign([1, 2], { extra: true });
    // As many keys as elements, one a hole and one a name: only the hole check sees it.
    // biome-ignore lint/suspicious/noSparseArray: a hole is the case under test
    const both = Object.assign([1, , 3], { extra: true });
    let deep: unknown = 'bottom';
    for (let i = 0; i < 150; i++) deep = [deep];
    const leftToV8: unknown[] = [
      10n,
      new Date(0),
      new Map([[1, 2]]),
      new Set([1]),
      new Uint8Array([1, 2]),
      new ArrayBuffer(4),
      new RangeError('r'),
      new Point(),
      /re/g,
      Object(1),
      holey,
      named,
      both,
      'abc'.match(/b/),
      deep,
      'x'.repeat(70_000),
      new Array(300).fill(0),
      { [ESCAPE]: true, plain: 1 },
      [{ [ESCAPE]: true }],
      new Proxy({}, {}),
      new Proxy([], {}),
      (function (..._: unknown[]) {
        // biome-ignore lint/complexity/noArguments: an arguments object is the case under test
        return arguments;
      })(1, 2),
      Object.setPrototypeOf(new Date(0), Object.prototype),
      () => 1,
      Symbol('s'),
    ];
    for (const [i, v] of leftToV8.entries()) {
      assert.equal(writeSmall(v, 0, ESCAPE), null, `case ${i} was written here`);
      const theirs = throughV8(v);
      if ('value' in theirs) {
        const r = readSmall(v8.serialize(v), MARKS);
        if (r !== NOT_SMALL) assert.ok(sameValue(r, theirs.value), 'read here, and differently');
      }
    }
    // Bytes of another version are V8's to read; broken ones V8's to refuse (it does).
    assert.equal(readSmall(Buffer.from([0xff, 0x0e, 0x49, 0x02]), MARKS), NOT_SMALL);
    for (const bytes of [
      [0xff, 0x0f, 0x6f, 0x22, 0x01], // a key cut short
      [0xff, 0x0f, 0x41, 0x05, 0x49, 0x02], // five elements announced, one there
      [0xff, 0x0f, 0x6f, 0x7b, 0x03], // three properties counted, none there
      [0xff, 0x0f, 0x61, 0x02, 0x49, 0x02, 0x49, 0x02, 0x40, 0x05, 0x02], // a sparse count wrong
      [0xff, 0x0f, 0x41, 0x01, 0x49, 0x02, 0x24, 0x00, 0x03], // a dense length wrong
      [0xff, 0x0f, 0x5e, 0x00], // a reference to nothing
      [0xff, 0x0f, 0x63, 0x03, 0x61, 0x00, 0x62], // two-byte data of odd length
    ]) {
      assert.equal(
        readSmall(Buffer.from(bytes), MARKS),
        NOT_SMALL,
        Buffer.from(bytes).toString('hex'),
      );
      assert.throws(() => v8.deserialize(Buffer.from(bytes)));
    }
    assert.equal(readSmall(Buffer.alloc(0), MARKS), NOT_SMALL);
  });

  test('a key twice in one object or sparse array is refused, as V8 refuses it', () => {
    for (const hex of [
      'ff0f6f220161490222016149047b02', // { a: 1, a: 2 }
      'ff0f6f4900490222013049047b02', // { 0: 1, '0': 2 }
      'ff0f6f2201614902006302610049047b02', // 'a' in one byte, then in two
      'ff0f6f22095f5f70726f746f5f5f490222095f5f70726f746f5f5f49047b02', // __proto__ twice
      'ff0f61034900490249004904400203', // [1 at 0, 2 at 0] (sparse)
    ]) {
      const bytes = Buffer.from(hex, 'hex');
      assert.throws(() => v8.deserialize(bytes), Error, hex);
      assert.equal(readSmall(bytes, MARKS), NOT_SMALL, hex);
      assert.throws(() => fromBytes(bytes), Error, hex);
    }
  });

  test('a property deleted by a getter met before it is left out, as V8 leaves it out', () => {
    const make = () => {
      const o: Record<string, unknown> = {
        get a() {
          delete o.b;
          return 1;
        },
        b: 2,
        c: 3,
      };
      return o;
    };
    const theirs = v8.deserialize(v8.serialize(make()));
    assert.deepEqual(theirs, { a: 1, c: 3 });
    const mine = writeSmall(make(), 0, ESCAPE);
    assert.ok(mine !== null);
    const back = v8.deserialize(mine);
    assert.deepEqual(back, theirs);
    assert.ok(!('b' in back));
    assert.deepEqual(readSmall(mine, MARKS), theirs);
  });

  test('a getter that sends a value itself, in the middle of a write, spoils neither', () => {
    const inner = { x: [1, 'two'] };
    let innerBytes: Buffer = Buffer.alloc(0);
    const v = {
      a: 1,
      get b() {
        innerBytes = toBytes(inner, 'test');
        return 'b';
      },
      c: [3],
    };
    const mine = writeSmall(v, 0, ESCAPE);
    assert.ok(mine !== null);
    assert.deepEqual(v8.deserialize(mine), { a: 1, b: 'b', c: [3] });
    assert.deepEqual(v8.deserialize(innerBytes), inner);
  });

  test('headroom: the bytes start after it; a mark key met while reading is told', () => {
    const b = writeSmall({ a: [1] }, 12, ESCAPE) as Buffer;
    assert.equal(b.length, 12 + v8.serialize({ a: [1] }).length);
    assert.ok(b.subarray(12).equals(v8.serialize({ a: [1] })));
    assert.deepEqual(readSmall(v8.serialize({ plain: 1 }), MARKS), { plain: 1 });
    assert.equal(readMarked(), false);
    readSmall(v8.serialize([{ deep: { $sab: 3 } }]), MARKS);
    assert.equal(readMarked(), true);
    readSmall(v8.serialize({ __weft$: 'Error' }), MARKS);
    assert.equal(readMarked(), true);
  });

  describe('bulk reads (the broker frames of queue items)', () => {
    /** A queue item of `n` bytes as broker-item.ts sends it: U+00FF, a kind, the bytes. */
    const item = (n: number, fill = 0x78): string =>
      `\u00ff\u0084${String.fromCharCode(fill).repeat(n)}`;
    const bulk = (v: unknown): unknown => readSmall(v8.serialize(v), MARKS, true);

    test('a batch of long strings is read here, past 64 KiB, as V8 reads it', () => {
      const frames: unknown[] = [
        [{ r: -1, o: 'putMany', id: 'q', a: Array.from({ length: 1024 }, () => item(1024)) }],
        [{ r: 7, v: Array.from({ length: 300 }, (_, i) => item(1024, 0x41 + (i % 26))) }],
        // The batch begun, what follows it is read here too, whatever it is.
        [
          { r: 7, v: Array.from({ length: 300 }, () => item(300)) },
          { r: 8, v: new Array(250).fill(new Array(250).fill(1)) },
        ],
      ];
      for (const f of frames) {
        const bytes = v8.serialize(f);
        assert.ok(bytes.length > 64 * 1024);
        const r = readSmall(bytes, MARKS, true);
        assert.notEqual(r, NOT_SMALL);
        assert.ok(sameValue(r, v8.deserialize(bytes)));
      }
    });

    test('other plain data past 64 KiB reads as V8 reads it; past 2 MiB V8 reads it', () => {
      const rows = new Array(250).fill(0).map((_, i) => new Array(250).fill(i));
      const cases: unknown[] = [
        [{ r: 3, v: rows }],
        [{ r: 3, v: { rows } }],
        [
          { r: 3, v: rows },
          { r: -1, o: 'putMany', a: new Array(300).fill(item(1024)) },
        ],
        ['x'.repeat(70_000), 1],
      ];
      for (const [i, c] of cases.entries()) {
        const bytes = v8.serialize(c);
        assert.ok(bytes.length > 64 * 1024, `case ${i} is small`);
        const r = readSmall(bytes, MARKS, true);
        if (r !== NOT_SMALL) assert.ok(sameValue(r, v8.deserialize(bytes)), `case ${i}`);
      }
      assert.equal(bulk([{ r: 1, v: new Array(2100).fill(item(1024)) }]), NOT_SMALL);
    });

    test('whatever it reads, it reads as V8 does (property)', () => {
      const value = fc.oneof(
        fc.integer(),
        fc.string(),
        fc.constant(item(1024)),
        fc.array(fc.integer(), { maxLength: 300 }),
      );
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              r: fc.integer(),
              v: fc.oneof(
                fc.array(value, { maxLength: 400 }),
                fc.integer({ min: 257, max: 1500 }).map((n) => new Array(n).fill(item(300))),
              ),
            }),
            { maxLength: 6 },
          ),
          (frame) => {
            const bytes = v8.serialize(frame);
            const r = readSmall(bytes, MARKS, true);
            if (r !== NOT_SMALL) assert.ok(sameValue(r, v8.deserialize(bytes)));
          },
        ),
        { numRuns: 60 },
      );
    });
  });
});
