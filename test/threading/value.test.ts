/**
 * Value and Array of an integer type code given a number that is not an integer. The typed array
 * under them stored 1.5 as 1, and NaN or Infinity as 0, without a word; Python's ctypes raises
 * TypeError ("'float' object cannot be interpreted as an integer"), and so does
 * weft/multiprocessing's Value. An integer out of range still wraps to the code's width, as in
 * Python.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Array as SharedArrayOf, Value } from '../../src/threading/index.js';

const NOT_INTEGERS = [1.5, -0.25, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

describe('integer type codes hold integers', () => {
  for (const code of ['b', 'B', 'h', 'H', 'i', 'I'] as const) {
    test(`Value('${code}') and Array('${code}') refuse a number that is not an integer, keeping what they held`, () => {
      for (const x of NOT_INTEGERS) {
        assert.throws(() => Value(code, x), TypeError);
        const v = Value(code, 7);
        assert.throws(
          () => {
            v.value = x;
          },
          { name: 'TypeError', message: `Value of type '${code}' holds integers: received ${x}` },
        );
        assert.equal(v.value, 7);
        assert.throws(() => SharedArrayOf(code, [1, x]), TypeError);
        const a = SharedArrayOf(code, [7, 8]);
        assert.throws(() => a.set(1, x), {
          name: 'TypeError',
          message: `Array of type '${code}' holds integers: received ${x}`,
        });
        assert.deepEqual(a.toArray(), [7, 8]);
      }
    });
  }

  test('an integer out of range wraps to the width, as in Python; float codes take any number', () => {
    const v = Value('i', 2 ** 31);
    assert.equal(v.value, -(2 ** 31));
    const b = SharedArrayOf('B', [300]);
    assert.equal(b.get(0), 44);
    const d = Value('d', 1.5);
    d.value = Number.NaN;
    assert.ok(Number.isNaN(d.value));
    const f = SharedArrayOf('f', [0.5, Number.POSITIVE_INFINITY]);
    assert.deepEqual(f.toArray(), [0.5, Number.POSITIVE_INFINITY]);
  });
});
