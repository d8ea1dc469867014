/**
 * multiprocessing's RawValue and RawArray (Python's multiprocessing.RawValue/RawArray): Value
 * and Array with no lock, and no getLock()/getObj() at all, as Python's; they cross to a child
 * as themselves. Value's getObj() is the RawValue under its lock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AttributeError,
  IndexError,
  Lock,
  Process,
  Queue,
  RawArray,
  RawSharedArray,
  RawSharedValue,
  RawValue,
  SharedArray,
  Array as SharedArrayOf,
  SharedValue,
  Value,
} from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { slabExpected } from '../support/slab.js';
import type { Equal, Expect } from '../types/expect.js';
import { bumpRaw, lockedHere } from './fixtures/raw-shared-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 30_000;

/** Calls the method `name` of `x`, which its type does not have. */
function callMissing(x: object, name: string): unknown {
  return (x as Record<string, () => unknown>)[name]?.();
}

describe('RawValue', () => {
  test('reads, writes and adds as Value does, wrapped to its type code', async () => {
    const v = RawValue('i', 7);
    assert.equal(v.value, 7);
    assert.equal(v.typecode, 'i');
    v.value = 2 ** 31;
    assert.equal(v.value, -(2 ** 31), 'c_int wraps');
    await v.set(3);
    assert.equal(await v.get(), 3);
    assert.equal(await v.add(4), 7);
    assert.equal(RawValue('d').value, 0, 'init defaults to 0');
    assert.equal(RawValue('d', 0.5).value, 0.5);
    assert.throws(() => RawValue('i', '1' as never), TypeError);
    assert.throws(() => RawValue('z' as never, 0), TypeError);
    assert.throws(() => RawValue('i', 1.5), TypeError, 'an integer code takes integers');
  });

  test('has no getLock: not in its type, and an AttributeError when called anyway', () => {
    const v = RawValue('i', 0);
    // @ts-expect-error Python's RawValue has no get_lock()
    assert.equal(typeof v.getLock, 'function', 'present only to say why it cannot be used');
    assert.throws(
      () => callMissing(v, 'getLock'),
      (e: unknown) =>
        e instanceof AttributeError &&
        /'RawValue' object has no attribute 'getLock'.*Value\(\)/.test((e as Error).message),
    );
    assert.ok(v instanceof RawSharedValue);
    assert.ok(!(v instanceof SharedValue), 'a RawValue is not a Value');
  });

  test('Value is a RawValue with a lock: getLock still works', () => {
    const v = Value('i', 1);
    assert.ok(v instanceof RawSharedValue, "Python's Value wraps a RawValue");
    assert.ok(v instanceof SharedValue);
    assert.equal(
      v.getLock().runSync(() => ++v.value),
      2,
    );
    assert.throws(() => Value('i', 0, { lock: false }).getLock(), TypeError);
  });

  test('Value has getObj(), Python’s get_obj(): a RawValue on the same number, the same one each call', async () => {
    const v = Value('i', 5);
    const o = v.getObj();
    const _t: Expect<Equal<typeof o, RawSharedValue>> = true;
    assert.ok(o instanceof RawSharedValue && !(o instanceof SharedValue), 'the raw value, no lock');
    assert.equal(v.getObj(), o, 'Python’s get_obj() is the same ctypes object each time');
    assert.equal(o.typecode, 'i');
    assert.equal(o.value, 5);
    o.value = 2 ** 31;
    assert.equal(
      v.value,
      -(2 ** 31),
      'the same c_int: a write through either is seen through the other',
    );
    await v.set(7);
    assert.equal(await o.get(), 7);
    assert.equal(await o.add(1), 8);
    assert.equal(v.value, 8);
    // Its reads and writes do not take the lock, as Python's: held here, they still go through.
    v.getLock().acquireSync();
    try {
      o.value = 9;
    } finally {
      v.getLock().release();
    }
    assert.equal(v.value, 9);
    const w = Value('d', 0.5, { lock: new Lock() });
    assert.equal(w.getObj().value, 0.5);
    // A Value made with { lock: false } is the raw value itself (Python's has no get_obj()).
    const dynamic: boolean = v.value < 0;
    assert.throws(() => Value('i', 0, { lock: dynamic }).getObj(), /lock: false.*no getObj/);
    // A RawValue has none: not in its type, and Python's AttributeError when called anyway.
    const raw = RawValue('i', 0);
    // @ts-expect-error Python's RawValue (a c_int) has no get_obj()
    assert.equal(typeof raw.getObj, 'function', 'present only to say why it cannot be used');
    assert.throws(
      () => callMissing(raw, 'getObj'),
      (e: unknown) =>
        e instanceof AttributeError &&
        /'RawValue' object has no attribute 'getObj'/.test((e as Error).message),
    );
  });
});

describe('RawArray', () => {
  test('reads and writes items, slices and adds as Array does', async () => {
    const a = RawArray('i', [1, 2, 3]);
    assert.equal(a.length, 3);
    assert.equal(a.typecode, 'i');
    assert.equal(a.getSync(-1), 3);
    a.setSync(0, 10);
    await a.set(1, 2 ** 32 + 5);
    assert.equal(await a.get(1), 5, 'c_int wraps');
    assert.deepEqual(await a.toArray(), [10, 5, 3]);
    assert.equal(await a.add(2, 4), 7);
    assert.deepEqual(a.sliceSync(1), [5, 7]);
    a.setSliceSync(0, 2, [8, 9]);
    assert.deepEqual(a.toArraySync(), [8, 9, 7]);
    assert.deepEqual(RawArray('d', 2).toArraySync(), [0, 0], 'a size is zeros');
    assert.throws(() => a.getSync(3), IndexError);
    assert.throws(() => RawArray('i', [1, 'x' as never]), TypeError);
    assert.throws(() => RawArray('i', -1), RangeError);
  });

  test('has no getLock and no getObj: not in its type, and an AttributeError when called anyway', () => {
    const a = RawArray('d', 2);
    // @ts-expect-error Python's RawArray has no get_lock()
    assert.equal(typeof a.getLock, 'function');
    // @ts-expect-error Python's RawArray has no get_obj()
    assert.equal(typeof a.getObj, 'function');
    for (const name of ['getLock', 'getObj'])
      assert.throws(
        () => callMissing(a, name),
        (e: unknown) =>
          e instanceof AttributeError &&
          new RegExp(`'RawArray' object has no attribute '${name}'.*Array\\(\\)`).test(
            (e as Error).message,
          ),
      );
    assert.ok(a instanceof RawSharedArray);
    assert.ok(!(a instanceof SharedArray));
  });

  test('Array is a RawArray with a lock and getObj', () => {
    const a = SharedArrayOf('i', [1, 2]);
    assert.ok(a instanceof RawSharedArray);
    assert.equal(
      a.getLock().runSync(() => a.getSync(0) + a.getSync(1)),
      3,
    );
    assert.throws(() => SharedArrayOf('i', 1, { lock: false }).getLock(), TypeError);
  });
});

test('a RawValue and a RawArray cross to a child as themselves, and its writes are seen here', async () => {
  const v = RawValue('i', 3);
  const a = RawArray('d', [0.5, 1.5]);
  const out = new Queue<string>();
  const p = new Process({ target: bumpRaw, args: [v, a, out] });
  p.start();
  try {
    assert.equal(
      await out.get({ timeout: PATIENCE }),
      'true false true false AttributeError AttributeError AttributeError AttributeError | 3 0.5,1.5',
    );
  } finally {
    await p.join({ timeout: PATIENCE });
  }
  assert.equal(p.exitcode, 0);
  assert.equal(v.value, 8);
  assert.deepEqual(a.toArraySync(), [1, 3]);
});

test('a Value and an Array cross to a child still locked: their lock is the very one (held here), and getObj works there', async () => {
  // Value and Array now revive through RawValue's and RawArray's constructors: a revived
  // handle must keep its kind and its lock, not be a RawArray or an Array with no lock.
  const lock = new Lock();
  const v = Value('i', 1, { lock });
  const a = SharedArrayOf('i', [1, 2], { lock: new Lock() });
  assert.equal(await v.getLock().acquire(), true);
  assert.equal(await a.getLock().acquire(), true);
  const out = new Queue<string>();
  const p = new Process({ target: lockedHere, args: [v, a, out] });
  p.start();
  try {
    assert.equal(
      await out.get({ timeout: PATIENCE }),
      `true true false false ${slabExpected ? '1,2' : 'RuntimeError'} true true 1`,
    );
  } finally {
    await p.join({ timeout: PATIENCE });
    v.getLock().release();
    a.getLock().release();
  }
  assert.equal(p.exitcode, 0);
  assert.equal(a.getSync(0), 42);
  assert.equal(v.value, 77, 'the child’s getObj() is over this number');
});
