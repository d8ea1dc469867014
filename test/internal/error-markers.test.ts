/**
 * An error's own fields, a group's items and a thrown non-error value that happen to be keyed
 * like the markers of an encoded error (`__weft$`) arrive as they were, as items do: the sender
 * escapes them. Before, `{ __weft$: 'URL', v }` in a field came back as a URL, and a plain
 * `{ __weft$: 'Error', … }` among an AggregateError's errors as an Error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
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

test("an error's field with a kErrorField method has it called once when the error is encoded", async () => {
  const { kErrorField } = await import('../../src/internal/error-registry.js');
  let calls = 0;
  class Response {
    socket = { close: () => {} };
    [kErrorField](): Record<string, unknown> {
      calls++;
      return { status: 404, url: new URL('http://d.example/') };
    }
  }
  const err = new Error('with a response') as Error & Record<string, unknown>;
  err.response = new Response();
  for (const carrier of ['message', 'bytes', 'wire'] as const) {
    calls = 0;
    const encoded = carrier === 'message' ? encode(err, carrier) : toBytes(err, 'test', carrier);
    assert.equal(calls, 1, `${carrier}: the field's data is asked for once`);
    const got = (
      carrier === 'message'
        ? decode(structuredClone(encoded))
        : fromBytes(encoded as Buffer, carrier)
    ) as Record<string, unknown>;
    const response = got.response as { status: number; url: unknown };
    assert.equal(response.status, 404);
    assert.ok(response.url instanceof URL);
  }
});

/**
 * An escape is weft's wrapper, never the caller's data (the caller's object keyed like one is
 * escaped in turn): an error's field and an item read one the same way, and a peer's escape of
 * what `escaped` never wraps (not a plain object, or an object the frame holds elsewhere too)
 * arrives as the value it carries, not as the wrapper. Before, an error's field arrived as the
 * wrapper `{ __weft$: 'escaped', o }` while an item in the same frame arrived as `o`.
 */
test("a peer's escape of a value escapes never wrap arrives as that value, in an error's field as in an item", () => {
  const shared = { x: 1 };
  const frame = {
    __weft$: 'Error',
    name: 'Error',
    message: 'from a peer',
    stack: '',
    props: {
      list: { __weft$: 'escaped', o: [1, { __weft$: 'URL', v: 'http://e.example/' }] },
      number: { __weft$: 'escaped', o: 5 },
      direct: shared,
      again: { __weft$: 'escaped', o: shared },
    },
  };
  const item = [
    { __weft$: 'escaped', o: [1, 2] },
    { __weft$: 'escaped', o: 5 },
  ];
  for (const carrier of ['bytes', 'wire'] as const) {
    const got = fromBytes(v8.serialize([frame, item]), carrier) as [
      Error & Record<string, unknown>,
      unknown[],
    ];
    const [err, items] = got;
    assert.ok(err instanceof Error);
    assert.deepEqual(items, [[1, 2], 5], `${carrier}: items`);
    const list = err.list as unknown[];
    assert.ok(Array.isArray(list), `${carrier}: a field's escaped array arrives as the array`);
    assert.equal(list[0], 1);
    assert.ok(list[1] instanceof URL, `${carrier}: its values are read as a field's are`);
    assert.equal(err.number, 5);
    assert.equal(err.again, err.direct, `${carrier}: one object under two fields stays one`);
  }
});

/**
 * One escape met twice arrives as one value: the value it carries once decoded, not that value
 * as it came (an escape of what the frame holds elsewhere too is read as any other value is, and
 * what it decoded to is what the escape stands for from then on).
 */
test("a peer's escape met twice arrives both times as the decoded value it carries", () => {
  const url = { __weft$: 'URL', v: 'http://f.example/' };
  const ofUrl = { __weft$: 'escaped', o: url };
  const errFrame = { __weft$: 'Error', name: 'Error', message: 'inner', stack: '' };
  const ofErr = { __weft$: 'escaped', o: errFrame };
  const frame = {
    __weft$: 'Error',
    name: 'Error',
    message: 'from a peer',
    stack: '',
    props: { u: url, a: ofUrl, b: ofUrl },
  };
  for (const carrier of ['bytes', 'wire'] as const) {
    const [err, items] = fromBytes(v8.serialize([frame, [errFrame, ofErr, ofErr]]), carrier) as [
      Error & Record<string, unknown>,
      unknown[],
    ];
    assert.ok(err.u instanceof URL, `${carrier}: the field's URL`);
    assert.equal(err.a, err.u, `${carrier}: an escape of it is it`);
    assert.equal(err.b, err.u, `${carrier}: and so is the same escape met again`);
    assert.ok(items[0] instanceof Error, `${carrier}: the item's error`);
    assert.equal(items[1], items[0], `${carrier}: an escape of it is it`);
    assert.equal(items[2], items[0], `${carrier}: and so is the same escape met again`);
  }
});
