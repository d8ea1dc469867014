import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PACK_MIN, packNumbers, unpack } from '../../../src/internal/pool/pack.js';

test('int32 values pack into an Int32Array and come back as an ordinary array', () => {
  const xs = Array.from({ length: 40 }, (_, i) => (i % 2 ? -(2 ** 31) + i : 2 ** 31 - 1 - i));
  const p = packNumbers(xs);
  assert.ok(p instanceof Int32Array);
  const back = unpack(p as Int32Array);
  assert.ok(Array.isArray(back));
  assert.deepEqual(back, xs);
});

test('-0, fractions, NaN, infinities and values past int32 choose a Float64Array, exactly', () => {
  for (const odd of [-0, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, -(2 ** 31) - 1]) {
    const xs = Array.from({ length: 20 }, (_, i) => (i === 7 ? odd : i));
    const p = packNumbers(xs);
    assert.ok(p instanceof Float64Array, `for ${odd}`);
    const back = unpack(p as Float64Array);
    for (let i = 0; i < xs.length; i++) assert.ok(Object.is(back[i], xs[i]), `${odd} at ${i}`);
  }
});

test('anything but numbers, or too few values, is left alone', () => {
  const base = Array.from({ length: 30 }, (_, i) => i);
  for (const other of ['1', 1n, null, undefined, {}, true]) {
    const xs: unknown[] = [...base];
    xs[29] = other;
    assert.equal(packNumbers(xs), null, `for ${String(other)}`);
  }
  assert.equal(packNumbers(base.slice(0, PACK_MIN - 1)), null);
  // A hole reads as undefined: not packed.
  const holey = [...base];
  delete holey[3];
  assert.equal(packNumbers(holey), null);
});
