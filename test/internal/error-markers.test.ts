/**
 * An error's own fields, a group's items and a thrown non-error value that happen to be keyed
 * like the markers of an encoded error (`__weft$`) arrive as they were, as items do: the sender
 * escapes them. Before, `{ __weft$: 'URL', v }` in a field came back as a URL, and a plain
 * `{ __weft$: 'Error', … }` among an AggregateError's errors as an Error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode, fromBytes, toBytes } from '../../src/internal/serialize.js';

/** Through each carrier an error takes: a thread's message, a queue's bytes, a connection's wire. */
function roundTrips(value: unknown): unknown[] {
  return [
    decode(structuredClone(encode(value, 'message'))),
    fromBytes(toBytes(value, 'test', 'bytes')),
    fromBytes(toBytes(value, 'test', 'wire'), 'wire'),
  ];
}

test("an error's own field keyed like a field's marker arrives as the plain object it was", () => {
  const err = new Error('with fields') as Error & Record<string, unknown>;
  err.url = { __weft$: 'URL', v: 'http://a.example/' };
  err.nested = {
    inner: { __weft$: 'Headers', v: [['a', 'b']] },
    real: new URL('http://b.example/'),
  };
  err.list = [{ __weft$: 'Buffer', v: new Uint8Array([1, 2]) }];
  for (const got of roundTrips(err)) {
    const e = got as Error & Record<string, unknown>;
    assert.ok(e instanceof Error);
    assert.deepEqual(e.url, { __weft$: 'URL', v: 'http://a.example/' });
    const nested = e.nested as { inner: unknown; real: unknown };
    assert.deepEqual(nested.inner, { __weft$: 'Headers', v: [['a', 'b']] });
    assert.ok(nested.real instanceof URL, 'a real URL still arrives as one');
    assert.equal((nested.real as URL).href, 'http://b.example/');
    assert.deepEqual(e.list, [{ __weft$: 'Buffer', v: new Uint8Array([1, 2]) }]);
  }
});

test("a group's item keyed like an encoded error arrives as the plain object it was", () => {
  const item = { __weft$: 'Error', name: 'TypeError', message: 'not an error', stack: '' };
  const group = new AggregateError([item, new RangeError('real')], 'two');
  for (const got of roundTrips(group)) {
    const g = got as AggregateError;
    assert.ok(g instanceof AggregateError);
    assert.deepEqual(g.errors[0], item);
    assert.ok(!(g.errors[0] instanceof Error));
    assert.ok(g.errors[1] instanceof RangeError);
    assert.equal((g.errors[1] as Error).message, 'real');
  }
});

test('a thrown value keyed like a marker arrives as the value it was', async () => {
  const { encodeError, decodeError } = await import('../../src/internal/serialize.js');
  const thrown = { __weft$: 'URL', v: 'http://c.example/' };
  const e = decodeError(structuredClone(encodeError(thrown))) as Error & { thrown?: unknown };
  assert.deepEqual(e.thrown, thrown);
});
