/**
 * multiprocessing's ShareableList (Python's multiprocessing.shared_memory.ShareableList): a list
 * of fixed length in a SharedMemory block, laid out as Python 3.11's, so Python processes attach
 * to it and weft attaches to theirs.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  FileExistsError,
  FileNotFoundError,
  IndexError,
  Process,
  Queue,
  RuntimeError,
  type ShareableItem,
  ShareableList,
  SharedMemory,
} from '../../src/multiprocessing/index.js';
import { Thread } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { shmExpected } from '../support/slab.js';
import { editList, inspectItems } from './fixtures/raw-shared-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 30_000;
const PYTHON = '/usr/bin/python3';

/** A list made for one test, unlinked after it whatever happens. */
async function withList<T>(
  items: Iterable<T & ShareableItem>,
  fn: (sl: ShareableList<T>) => Promise<void> | void,
): Promise<void> {
  const sl = new ShareableList(items);
  try {
    await fn(sl);
  } finally {
    try {
      sl.shm.unlink();
    } catch {
      // unlinked by the test
    }
  }
}

/** Whether `f` throws a RangeError with code `code`, leaving item `i` of `sl` as it was. */
function refusedKeeping(sl: ShareableList, i: number, code: string, f: () => void): void {
  const before = sl.get(i);
  const format = sl.format;
  assert.throws(
    f,
    (e: unknown) => e instanceof RangeError && (e as { code?: string }).code === code,
  );
  assert.deepEqual(sl.get(i), before, 'the item is as it was');
  assert.equal(sl.format, format, 'and so is its format');
}

/** Runs a Python 3 program; its stdout. */
function python(code: string): string {
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', timeout: PATIENCE });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('ShareableList', { skip: !shmExpected && 'no shm addon or /dev/shm' }, () => {
  test('a list of every kind of item reads back, with Python’s formats and block size', async () => {
    const bytes = new Uint8Array([1, 2, 0, 3]);
    await withList(['howdy', bytes, 1, 2.5, true, false, null, 2n ** 62n, -5, ''], (sl) => {
      assert.equal(sl.length, 10);
      assert.deepEqual(
        [...sl],
        ['howdy', Buffer.from(bytes), 1, 2.5, true, false, null, 2n ** 62n, -5, ''],
      );
      assert.equal(sl.format, '8s8sqdxxxxxxx?xxxxxxx?xxxxxx?xqq8s');
      // Python's: 8 (N) + 8 (N + 1) offsets + 80 of slots + 8 N formats + N codes.
      assert.equal(sl.shm.size, 8 + 88 + 80 + 80 + 10);
      assert.match(sl.shm.name, /^wnsm_[0-9a-f]{8}$/);
      assert.equal(
        String(sl),
        `ShareableList([ 'howdy', <Buffer 01 02 00 03>, 1, 2.5, true, false, null, 4611686018427387904n, -5, '' ], name='${sl.shm.name}')`,
      );
      assert.equal(sl.get(-1), '');
      assert.equal(sl.get(-10), 'howdy');
    });
    const empty = new ShareableList();
    try {
      assert.equal(empty.length, 0);
      assert.equal(empty.format, '');
      assert.equal(empty.shm.size, 16);
      assert.deepEqual([...empty], []);
    } finally {
      empty.shm.unlink();
    }
  });

  test('attached by name, it is the same items: writes through either handle are seen by the other', async () => {
    await withList<ShareableItem>([1, 'two', null], (sl) => {
      const other = new ShareableList(null, { name: sl.shm.name });
      assert.deepEqual([...other], [1, 'two', null]);
      other.set(0, 'one');
      sl.set(2, 3.5);
      assert.deepEqual([...sl], ['one', 'two', 3.5]);
      assert.deepEqual([...other], ['one', 'two', 3.5]);
      assert.equal(other.format, sl.format);
      other.shm.close();
    });
  });

  test('an item changes type within its slot, as Python’s: a string longer than the slot is a ValueError', async () => {
    await withList<ShareableItem>([7, 'abc', 'ééééééé', null, true], (sl) => {
      sl.set(0, 'abcdefgh');
      assert.equal(sl.get(0), 'abcdefgh', 'a number’s slot holds 8 bytes');
      assert.equal(sl.format.slice(0, 2), '8s');
      refusedKeeping(sl, 0, 'ERR_WEFT_ITEM_TOO_LONG', () => sl.set(0, 'abcdefghi'));
      sl.set(0, 2.5);
      assert.equal(sl.get(0), 2.5);
      sl.set(1, 12345678);
      assert.equal(sl.get(1), 12345678, 'a string’s slot holds a number');
      sl.set(1, 'abcdefgh');
      refusedKeeping(sl, 1, 'ERR_WEFT_ITEM_TOO_LONG', () => sl.set(1, new Uint8Array(9)));
      // Seven two-byte characters: 14 bytes, a slot of 16 (Python counts characters: its slot
      // of 8 cut the string to 4 of them).
      assert.equal(sl.get(2), 'ééééééé');
      sl.set(2, 'x'.repeat(16));
      refusedKeeping(sl, 2, 'ERR_WEFT_ITEM_TOO_LONG', () => sl.set(2, 'é'.repeat(9)));
      sl.set(3, 'null was');
      sl.set(4, null);
      assert.deepEqual([...sl], [2.5, 'abcdefgh', 'x'.repeat(16), 'null was', null]);
      assert.equal(sl.format, 'd8s16s8sxxxxxx?x');
    });
    // A slot's format ('9999992s') must fit in its 8 bytes: a longer item is refused at once.
    assert.throws(() => new ShareableList(['x'.repeat(9_999_992)]), {
      code: 'ERR_WEFT_ITEM_TOO_LONG',
    });
  });

  test('an index out of range is an IndexError, a non-integer one a TypeError', async () => {
    await withList([1, 2, 3], (sl) => {
      for (const i of [3, -4, 100])
        assert.throws(
          () => sl.get(i),
          (e: unknown) =>
            e instanceof IndexError && e instanceof RangeError && /index out of range/.test(`${e}`),
        );
      assert.throws(
        () => sl.set(3, 1),
        (e: unknown) => e instanceof IndexError && /assignment index out of range/.test(`${e}`),
      );
      assert.throws(() => sl.get(1.5), TypeError);
      assert.throws(() => sl.get('0' as never), TypeError);
      sl.set(-1, 9);
      assert.equal(sl.get(2), 9);
    });
    const empty = new ShareableList([]);
    try {
      assert.throws(() => empty.get(0), IndexError);
    } finally {
      empty.shm.unlink();
    }
  });

  test('numbers: safe integers are Python’s int, other numbers float; bigints past 2^53 read back as bigints', async () => {
    const big = 2n ** 63n - 1n;
    await withList<ShareableItem>(
      [
        2 ** 53 - 1,
        -(2 ** 53) + 1,
        2 ** 60,
        -0,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        0.1,
        big,
        -big - 1n,
        5n,
      ],
      (sl) => {
        assert.equal(sl.format, 'qqdddddqqq');
        assert.deepEqual(
          [...sl],
          [
            2 ** 53 - 1,
            -(2 ** 53) + 1,
            2 ** 60,
            -0,
            Number.NaN,
            Number.POSITIVE_INFINITY,
            0.1,
            big,
            -big - 1n,
            5,
          ],
        );
        assert.ok(Object.is(sl.get(3), -0), '-0 keeps its sign: a float');
        refusedKeeping(sl, 7, 'ERR_WEFT_OUT_OF_RANGE', () => sl.set(7, 2n ** 63n));
        refusedKeeping(sl, 7, 'ERR_WEFT_OUT_OF_RANGE', () => sl.set(7, -(2n ** 63n) - 1n));
        sl.set(9, -(2 ** 40) - 3);
        assert.equal(sl.get(9), -(2 ** 40) - 3);
        sl.set(9, -(2n ** 53n));
        assert.equal(sl.get(9), -(2n ** 53n), 'just past the safe range: a bigint');
      },
    );
  });

  test('a string or bytes item loses its trailing NULs, as Python’s', async () => {
    await withList<ShareableItem>(['a\0b\0\0', new Uint8Array([0, 1, 0])], (sl) => {
      assert.equal(sl.get(0), 'a\0b');
      assert.deepEqual(sl.get(1), Buffer.from([0, 1]));
      sl.set(0, 'x');
      assert.equal(sl.get(0), 'x', 'a shorter value clears the rest of the slot');
    });
  });

  test('items of another type are a TypeError, and make no block', () => {
    for (const bad of [[1, [2]], [{}], [undefined], [() => 1], [Symbol('s')]]) {
      assert.throws(() => new ShareableList(bad as never), TypeError);
    }
    // @ts-expect-error an object is not an item: the types refuse it too
    assert.throws(() => new ShareableList([{ a: 1 }]), TypeError);
    assert.throws(() => new ShareableList(5 as never), TypeError, 'not iterable');
    assert.throws(() => new ShareableList([], null as never), TypeError);
    assert.throws(() => new ShareableList([], { name: 5 as never }), TypeError);
    const sl = new ShareableList<ShareableItem>([1]);
    try {
      assert.throws(() => sl.set(0, [1] as never), TypeError);
      assert.throws(() => sl.set(0, undefined as never), TypeError);
      assert.equal(sl.get(0), 1);
    } finally {
      sl.shm.unlink();
    }
  });

  test('count and index compare as Python’s ==: true is 1, 2n is 2, bytes by content', async () => {
    await withList<ShareableItem>(
      [1, true, 1.0, 'a', new Uint8Array([1]), null, 2n ** 60n, Number.NaN, 0],
      (sl) => {
        assert.equal(sl.count(1), 3);
        assert.equal(sl.count(true), 3);
        assert.equal(sl.count(1n), 3);
        assert.equal(sl.count(false), 1);
        assert.equal(sl.count(null), 1, 'null is not 0');
        assert.equal(sl.count('a'), 1);
        assert.equal(sl.count(new Uint8Array([1])), 1);
        assert.equal(sl.count(2 ** 60), 1);
        assert.equal(sl.count(Number.NaN), 0, 'NaN == NaN is false');
        assert.equal(sl.index(null), 5);
        assert.equal(sl.index(2 ** 60), 6);
        assert.equal(sl.index(false), 8);
        assert.throws(
          () => sl.index('b'),
          (e: unknown) =>
            e instanceof RangeError && (e as { code?: string }).code === 'ERR_WEFT_NOT_IN_LIST',
        );
      },
    );
  });

  test('names: a new list’s block by name, FileExistsError and FileNotFoundError as SharedMemory, and a block that is no list', () => {
    const name = `weft-test-sl-${process.pid}`;
    const sl = new ShareableList(['x'], { name });
    try {
      assert.equal(sl.shm.name, name);
      assert.throws(() => new ShareableList(['y'], { name }), FileExistsError);
      assert.equal(new ShareableList(null, { name }).get(0), 'x');
    } finally {
      sl.shm.unlink();
    }
    assert.throws(() => new ShareableList(null, { name }), FileNotFoundError);
    const shm = new SharedMemory({ create: true, size: 64 });
    try {
      new DataView(shm.buf.buffer).setBigInt64(0, 1000n, true);
      assert.throws(
        () => new ShareableList(null, { name: shm.name }),
        (e: unknown) =>
          e instanceof RangeError && (e as { code?: string }).code === 'ERR_WEFT_NOT_A_LIST',
      );
    } finally {
      shm.unlink();
    }
  });

  test('after shm.close(), reads and writes are a RuntimeError', async () => {
    await withList([1], (sl) => {
      sl.shm.close();
      assert.throws(() => sl.get(0), RuntimeError);
      assert.throws(() => sl.set(0, 2), RuntimeError);
    });
  });

  test('a shorter string over a long one leaves none of it behind; bytes read back are a copy', async () => {
    const long = 'x'.repeat(60);
    await withList<ShareableItem>([long, new Uint8Array(40).fill(7)], (sl) => {
      sl.set(0, 'a');
      assert.equal(sl.get(0), 'a', 'the 59 bytes after it are cleared, as Python pads with NULs');
      sl.set(1, new Uint8Array([1]));
      assert.deepEqual(sl.get(1), Buffer.from([1]));
      const got = sl.get(1) as Uint8Array;
      got[0] = 9;
      assert.deepEqual(
        sl.get(1),
        Buffer.from([1]),
        'writing the Buffer got does not write the list',
      );
    });
  });

  test('a string format left with a number’s code (a set under way, or its writer died) reads as Python’s: no error', async () => {
    // A set of a string into a number's slot writes the format, then the code: a reader in
    // between, in another thread or process, sees '8s' with code 0 (a race run by hand, one
    // thread flipping an item between 12345 and 'abc' while another read it, threw a
    // RuntimeError on one read in some 3,000), and a writer killed there leaves it so for good.
    await withList<ShareableItem>([7, 1], (sl) => {
      const buf = sl.shm.buf;
      const data = 8 * (2 + 2);
      const codes = data + 16 + 8 * 2;
      sl.set(0, 'abc');
      buf[codes] = 0;
      assert.deepEqual(sl.get(0), Buffer.from('abc\0\0\0\0\0'), "the slot's bytes, NULs and all");
      // null's format 'xxxxxx?x' with code 0 (a set of null under way): its byte 6, not 7.
      sl.set(1, null);
      buf[codes + 1] = 0;
      buf[data + 8 + 6] = 1;
      assert.equal(sl.get(1), true);
      if (existsSync(PYTHON))
        assert.equal(
          python(`
from multiprocessing import shared_memory as sm, resource_tracker as rt
sl = sm.ShareableList(name=${JSON.stringify(sl.shm.name)})
rt.unregister(sl.shm._name, 'shared_memory')
print(repr(sl[0]), sl[1])
sl.shm.close()
`),
          "b'abc\\x00\\x00\\x00\\x00\\x00' True\n",
          'what Python reads there',
        );
    });
  });

  test('reads while a Python process changes items’ types never throw: each is an item or, mid-set, what Python reads', {
    skip: !existsSync(PYTHON) && `no ${PYTHON}`,
  }, async () => {
    // Python's struct zeroes a format's bytes before it copies the new one in, and a set writes
    // the format, then the code, then the bytes: a reader sees no format, a string's with a
    // number's code, or a new code over old bytes.
    // Before, some 450 reads in 2.5 s of this threw a RuntimeError ("which no ShareableList
    // writes").
    await withList<ShareableItem>([0, 'zz'], async (sl) => {
      const py = spawn(
        PYTHON,
        [
          '-c',
          `
import sys, time
from multiprocessing import shared_memory as sm, resource_tracker as rt
sl = sm.ShareableList(name=${JSON.stringify(sl.shm.name)})
rt.unregister(sl.shm._name, 'shared_memory')
print('go', flush=True)
end = time.time() + 2; i = 0
while time.time() < end:
    sl[0] = 'abc' if i & 1 else 12345; sl[1] = None if i & 1 else 'héllo'; i += 1
sl.shm.close()
`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const exited = new Promise((resolve) => py.on('exit', resolve));
      await new Promise((resolve) => py.stdout.once('data', resolve));
      const bad: string[] = [];
      let reads = 0;
      const end = Date.now() + 1500;
      while (Date.now() < end)
        for (const i of [0, 1]) {
          reads++;
          try {
            const v = sl.get(i);
            // Mid-set, old bytes under a new format or code read as Python's do: '90' for
            // 12345's, 6513249 for 'abc''s, 0 for bytes Python's struct zeroed first.
            const fine =
              typeof v === 'string' ||
              v instanceof Uint8Array ||
              (i === 0 ? typeof v === 'number' : v === null || typeof v === 'boolean');
            if (!fine) bad.push(String(v));
          } catch (e) {
            bad.push(String(e));
          }
        }
      assert.equal(await exited, 0);
      assert.deepEqual(bad.slice(0, 3), [], `${bad.length} bad reads of ${reads}`);
    });
  });

  test('property: any sequence of sets and gets, through either of two handles, agrees with a plain array', () => {
    const item = fc.oneof(
      fc.integer(),
      fc.maxSafeInteger(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
      fc.string({ maxLength: 20, unit: 'binary' }).map((s) => s.toWellFormed()),
      fc.uint8Array({ maxLength: 20 }),
    );
    const op = fc.record({
      set: fc.boolean(),
      at: fc.integer({ min: -10, max: 10 }),
      value: item,
      viaOther: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 8 }).filter((xs) => xs.every(fitsInt64)),
        fc.array(op, { maxLength: 30 }),
        (initial, ops) => {
          const sl = new ShareableList<ShareableItem>(initial);
          try {
            const other = new ShareableList<ShareableItem>(null, { name: sl.shm.name });
            const model = initial.map(readBack);
            const slots = initial.map(slotOf);
            for (const { set, at, value, viaOther } of ops) {
              const h = viaOther ? other : sl;
              const k = at < 0 ? at + model.length : at;
              const inRange = k >= 0 && k < model.length;
              if (!set) {
                if (inRange) assert.deepStrictEqual(h.get(at), model[k]);
                else assert.throws(() => h.get(at), IndexError);
                continue;
              }
              if (!inRange) assert.throws(() => h.set(at, value), IndexError);
              else if (!fitsInt64(value))
                assert.throws(() => h.set(at, value), { code: 'ERR_WEFT_OUT_OF_RANGE' });
              else if (lengthOf(value) > (slots[k] as number))
                assert.throws(() => h.set(at, value), { code: 'ERR_WEFT_ITEM_TOO_LONG' });
              else {
                h.set(at, value);
                model[k] = readBack(value);
              }
            }
            assert.deepStrictEqual([...sl], model);
            assert.deepStrictEqual([...other], model);
            other.shm.close();
          } finally {
            sl.shm.unlink();
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  test('a child gets a list handed over, or attaches by name, and its writes are seen here', async () => {
    await withList<ShareableItem>(['parent', 1, 'é', null], async (sl) => {
      const out = new Queue<string>();
      const p = new Process({ target: editList, args: [sl, sl.shm.name, out] });
      p.start();
      try {
        assert.equal(
          await out.get({ timeout: PATIENCE }),
          'true true 4 8sq8sxxxxxx?x | "parent" 1 "é" null',
        );
      } finally {
        await p.join({ timeout: PATIENCE });
      }
      assert.equal(p.exitcode, 0);
      assert.equal(inspectItems([...sl]), '"child" -7 "é" 1152921504606846976n');
    });
  });

  test('a thread gets a list handed over too', async () => {
    await withList<ShareableItem>(['main', 2, 'x', 0.5], async (sl) => {
      const out = new Queue<string>();
      const t = new Thread({ target: editList, args: [sl, sl.shm.name, out] });
      t.start();
      assert.equal(await out.get({ timeout: PATIENCE }), 'true true 4 8sq8sd | "main" 2 "x" 0.5');
      await t.join();
      assert.equal(inspectItems([...sl]), '"child" -7 "x" 1152921504606846976n');
    });
  });

  test('Python attaches to a weft list by name, and weft to a Python one', {
    skip: !existsSync(PYTHON) && `no ${PYTHON}`,
  }, async () => {
    // Python 3.11 registers a block it attaches to with its resource tracker, which would unlink
    // it when that process ends (CPython issue 82300): the programs unregister it.
    const dump = `
import json
from multiprocessing import shared_memory as sm, resource_tracker as rt
def dump(sl):
    return json.dumps([list(v) if isinstance(v, bytes) else v for v in sl])
`;
    await withList<ShareableItem>(
      ['howdy', new Uint8Array([1, 2]), 7, 2.5, true, null, -(2n ** 62n), 'ééééééé'],
      (sl) => {
        const seen = python(`${dump}
sl = sm.ShareableList(name=${JSON.stringify(sl.shm.name)})
rt.unregister(sl.shm._name, 'shared_memory')
print(dump(sl)); print(sl.format)
sl[0] = 'py'; sl[2] = 'abcdefgh'; sl[3] = 2**62; sl[4] = False; sl[5] = b'\\x00z'; sl[6] = None
sl.shm.close()
`);
        assert.equal(
          seen,
          `["howdy", [1, 2], 7, 2.5, true, null, -4611686018427387904, "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"]\n8s8sqdxxxxxxx?xxxxxx?xq16s\n`,
        );
        assert.equal(
          inspectItems([...sl]),
          '"py" bytes[1,2] "abcdefgh" 4611686018427387904n false bytes[0,122] null "ééééééé"',
        );
      },
    );
    const made = python(`${dump}
sl = sm.ShareableList(['a', 1, 2.5, True, None, b'xy', 2**63 - 1, 'abcdefghij'])
rt.unregister(sl.shm._name, 'shared_memory')
print(sl.shm.name); print(sl.format); print(sl.shm.size)
`).split('\n');
    const theirs = new ShareableList(null, { name: made[0] });
    try {
      assert.equal(theirs.format, made[1]);
      assert.equal(
        inspectItems([...theirs]),
        '"a" 1 2.5 true null bytes[120,121] 9223372036854775807n "abcdefghij"',
      );
      theirs.set(0, 'weft');
      // The same items made here: the same bytes as Python's, block for block.
      const mine = new ShareableList<ShareableItem>([
        'weft',
        1,
        2.5,
        true,
        null,
        Buffer.from('xy'),
        2n ** 63n - 1n,
        'abcdefghij',
      ]);
      try {
        assert.equal(mine.shm.size, Number(made[2]));
        assert.deepEqual(Buffer.from(mine.shm.buf), Buffer.from(theirs.shm.buf));
      } finally {
        mine.shm.unlink();
      }
    } finally {
      theirs.shm.unlink();
    }
  });
});

/** The int64 range holds a bigint `v` (a value of any other type is not one). */
function fitsInt64(v: unknown): boolean {
  return typeof v !== 'bigint' || (v >= -(2n ** 63n) && v < 2n ** 63n);
}

/** The bytes a string or bytes item takes (0 for any other). */
function lengthOf(v: ShareableItem): number {
  return typeof v === 'string' ? Buffer.byteLength(v) : v instanceof Uint8Array ? v.length : 0;
}

/** Item `v`'s slot when the list is made with it. */
function slotOf(v: ShareableItem): number {
  return typeof v === 'string' || v instanceof Uint8Array
    ? 8 * (Math.floor(lengthOf(v) / 8) + 1)
    : 8;
}

/** What a get gives back for an item stored as `v`. */
function readBack(v: ShareableItem): ShareableItem {
  if (typeof v === 'bigint') return v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n ? Number(v) : v;
  if (typeof v === 'string') return v.replace(/\0+$/, '');
  if (v instanceof Uint8Array) {
    let end = v.length;
    while (end > 0 && v[end - 1] === 0) end--;
    return Buffer.from(v.subarray(0, end));
  }
  return v;
}
