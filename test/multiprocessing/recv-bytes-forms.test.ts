/**
 * `Connection.recvBytes` gives a message sent with `send` as its bytes in V8's format. For plain
 * data these are now the bytes the sender wrote (read once, to check that nothing in them needs
 * reviving), not the received object serialized again; what must be revived is revived and
 * serialized as before. Either way `v8.deserialize` of the bytes is what `recv` gives.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deserialize } from 'node:v8';
import { Pipe } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

function messages(): Array<[string, unknown]> {
  return [
    ['a plain object', { a: 1, b: [true, null, 'ÿ'], s: 'héllo €🙂' }],
    ['a nested array', [1, [2, [3, [4]]], -0, 2 ** 53]],
    ['an object past the small-value writer', { big: 'y'.repeat(70_000), n: 1 }],
    ['a string', 'text'],
    ['a string starting with U+00FF', 'ÿ\x0f"'],
    ['an int', 42],
    ['null', null],
    ['a Map', new Map<unknown, unknown>([[1, { x: 2 }]])],
    ['a Set', new Set(['a', 3])],
    ['a Date', new Date(0)],
    ['an object with a typed array', { data: new Uint8Array([9, 10]) }],
    ['an Error', Object.assign(new RangeError('bad'), { code: 'E_X' })],
  ];
}

describe('recvBytes of a message sent with send', () => {
  test('v8.deserialize of its bytes is what recv gives', async () => {
    const [a, b] = Pipe();
    try {
      const all = messages();
      for (const [, v] of all) a.send(v);
      for (const [, v] of all) a.send(v);
      const got: unknown[] = [];
      for (const [what] of all) {
        const bytes = await b.recvBytes();
        assert.ok(Buffer.isBuffer(bytes), what);
        got.push(deserialize(bytes));
      }
      for (let i = 0; i < all.length; i++) {
        const [what] = all[i] as [string, unknown];
        const want = await b.recv();
        if (want instanceof Error) {
          // Its stack names the receiving calls, which differ; V8's format keeps no `code`.
          assert.ok(got[i] instanceof RangeError, what);
          assert.equal((got[i] as Error).message, want.message, what);
        } else assert.deepStrictEqual(got[i], want, what);
      }
    } finally {
      a.close();
      b.close();
    }
  });

  test('a Float64Array sent with send: its bytes; a Buffer from sendBytes: itself', async () => {
    const [a, b] = Pipe();
    try {
      a.send(new Float64Array([0.5]));
      a.sendBytes(new Uint8Array([1, 2, 3, 4, 5]), 1, 3);
      assert.deepEqual(
        [...(await b.recvBytes())],
        [...new Uint8Array(new Float64Array([0.5]).buffer)],
      );
      assert.deepEqual([...(await b.recvBytes())], [2, 3, 4]);
    } finally {
      a.close();
      b.close();
    }
  });

  test('a recv and a recvBytes waiting at once, served from one batch: each gets its own form', async () => {
    for (const bytesFirst of [true, false]) {
      const [a, b] = Pipe();
      try {
        const first = bytesFirst ? b.recvBytes() : b.recv();
        const second = bytesFirst ? b.recv() : b.recvBytes();
        // Both wait at the broker before the two messages reach it, in one batch.
        assert.equal(await b.poll(200), false);
        a.send({ n: 1 });
        a.send({ n: 2 });
        const [x, y] = await Promise.all([first, second]);
        const asObject = (v: unknown): unknown => (Buffer.isBuffer(v) ? deserialize(v) : v);
        assert.equal(Buffer.isBuffer(bytesFirst ? x : y), true, `bytesFirst ${bytesFirst}`);
        assert.equal(Buffer.isBuffer(bytesFirst ? y : x), false, `bytesFirst ${bytesFirst}`);
        assert.deepEqual([asObject(x), asObject(y)], [{ n: 1 }, { n: 2 }]);
      } finally {
        a.close();
        b.close();
      }
    }
  });
});
